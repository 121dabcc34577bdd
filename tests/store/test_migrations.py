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


def test_0003_keys_the_remittances_already_stored(store_url: str) -> None:
    """Rows from before 0003 get a legacy key each (their TRN03 was never kept) and stay complete."""
    upgrade(store_url, "0002")
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO stored_file (id, kind, name, sha256, size, command, stored_at) "
                "VALUES (1, '835', 'old.835', :sha, 10, 'ingest', '2026-11-01 10:00:00')"
            ),
            {"sha": "a" * 64},
        )
        for rid, trace in [(1, "T1"), (2, "T2")]:
            conn.execute(
                sa.text(
                    "INSERT INTO remittance (id, file_id, file_sha256, payer_id, payer_name, trace_number, amount, "
                    "credit_debit, method, payment_date) VALUES (:id, 1, :sha, 'P', 'PAYER', :trace, 10.00, 'C', "
                    "'ACH', '2026-11-01')"
                ),
                {"id": rid, "sha": "a" * 64, "trace": trace},
            )
    upgrade(store_url, "0003")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT payment_key, complete FROM remittance ORDER BY id")).all()
    engine.dispose()
    assert [(k, bool(c)) for k, c in rows] == [("legacy:1", True), ("legacy:2", True)]


def test_0006_leaves_claims_recorded_before_it_incomplete(store_url: str) -> None:
    """What was never stored is not invented: old claims keep NULL facts, and are counted so."""
    from mohsedi.store.facts import incomplete_claims

    upgrade(store_url, "0005")
    engine = make_engine(store_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO stored_file (id, kind, name, sha256, size, command, stored_at) "
                "VALUES (1, '837P', 'old.837', :sha, 10, 'check', '2026-11-01 10:00:00')"
            ),
            {"sha": "b" * 64},
        )
        conn.execute(
            sa.text(
                "INSERT INTO claim (id, file_id, ordinal, patient_control_number, payer_id, billing_npi, member_hash, "
                "patient_key, place_of_service, frequency, diagnoses, checked_at) VALUES (1, 1, 0, 'OLD-1', 'P', "
                "'1306849450', 'm', 'k', '11', '1', 'C44311', '2026-11-01 10:00:00')"
            )
        )
    upgrade(store_url, "0006")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT facts, diagnosis_qualifiers, facility_qualifier FROM claim")).one()
        assert tuple(row) == (None, None, None)
        assert incomplete_claims(conn) == 1
    engine.dispose()
