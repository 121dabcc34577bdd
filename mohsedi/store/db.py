"""Opening the store: SQLite by default, PostgreSQL in production; migrations by alembic."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

# Where the store is, and its error, live in store.paths (no SQLAlchemy); kept importable from here.
from mohsedi.store.paths import StoreError, default_url, existing_store  # noqa: F401


def migrations_dir() -> Path:
    import mohsedi.migrations

    return Path(mohsedi.migrations.__file__).parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def _sqlite_value(value: object) -> object:
    """What SQLAlchemy's SQLite types would bind: text dates, 0/1 booleans, decimal text."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def storable(rows: list[dict]) -> list[dict]:
    """Text as a database takes it: bytes a file could not decode (kept as surrogates so the X12
    round-trips) are stored as U+FFFD. Only non-ASCII text pays for the check."""
    out = rows
    for n, row in enumerate(rows):
        bad = [k for k, v in row.items() if isinstance(v, str) and not v.isascii() and _has_surrogate(v)]
        if bad:
            if out is rows:
                out = list(rows)
            out[n] = {**row, **{k: _replace_surrogates(row[k]) for k in bad}}
    return out


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _replace_surrogates(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def text_for_store(text: str) -> str:
    """One value as `storable` writes it: for queries that look up what was stored."""
    return _replace_surrogates(text) if not text.isascii() and _has_surrogate(text) else text


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows. On SQLite through the driver's executemany: SQLAlchemy's per-row
    parameter processing was most of the ingest time there."""
    if not rows:
        return
    rows = storable(rows)
    if conn.dialect.name != "sqlite":
        conn.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    sql = f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" * len(columns))})'
    conn.exec_driver_sql(sql, [tuple(_sqlite_value(row[c]) for c in columns) for row in rows])


def insert_returning_ids(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> list[int]:
    """Bulk insert keeping the order of ``rows`` in the returned primary keys.

    On SQLite, ordered RETURNING makes SQLAlchemy insert row by row, so several rows get
    keys counted on from max(id) in one executemany. That is safe because SQLite has a
    single writer and callers insert one row first in the same transaction (their file
    row, through RETURNING), which takes the write lock before any max(id) is read.
    """
    if not rows:
        return []
    rows = storable(rows)
    if conn.dialect.name == "sqlite" and len(rows) > 1 and conn.in_transaction():
        start = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        ids = list(range(start + 1, start + 1 + len(rows)))
        bulk_insert(conn, table, [{"id": i, **row} for row, i in zip(rows, ids, strict=True)])
        return ids
    result = conn.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def open_store(url: str) -> Engine:
    """An engine on an up-to-date schema; an empty database is migrated on first use."""
    engine = make_engine(url)
    try:
        current = current_revision(engine)
        if current is None:
            with engine.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
            if set(tables) - {"alembic_version"}:  # an empty version table: migrated down to base
                raise StoreError(f"{url} has tables but no mohsedi schema version; is it another application's?")
            upgrade(url)
        elif current != head_revision():
            raise StoreError(
                f"the store's schema is at {current}, the code needs {head_revision()}: run `mohsedi db upgrade`"
            )
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot open the store at {url}: {exc.orig}") from None
    return engine
