"""Every migration runs up and down, on SQLite and PostgreSQL, and the models match the schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from mohsedi.store.db import alembic_config, current_revision, downgrade, head_revision, make_engine, upgrade
from mohsedi.store.models import Base


def test_history_is_linear() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    heads = script.get_heads()
    assert len(heads) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(not isinstance(r.down_revision, tuple) for r in revisions)


def test_up_down_up_and_models_match(store_url: str) -> None:
    script = ScriptDirectory.from_config(alembic_config(store_url))
    steps = [r.revision for r in reversed(list(script.walk_revisions()))]
    for rev in steps:
        upgrade(store_url, rev)
    engine = make_engine(store_url)
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == [], diff
    for rev in reversed([None, *steps[:-1]]):
        downgrade(store_url, rev or "base")
    with engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade(store_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
