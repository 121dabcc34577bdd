"""The PostgreSQL that .ci/run starts is reachable through SQLAlchemy and psycopg."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.postgres


def test_postgres_answers(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("select 1")).scalar() == 1
        version = conn.execute(sa.text("show server_version")).scalar()
    engine.dispose()
    assert version
