"""Opening the store: SQLite by default, PostgreSQL in production; migrations by alembic."""

from __future__ import annotations

import contextlib
import logging
import operator
import random
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

# Where the store is, and its error, live in store.paths (no SQLAlchemy); kept importable from here.
from mohsedi.settings import current as current_settings
from mohsedi.store.paths import StoreError, default_url, existing_store  # noqa: F401

T = TypeVar("T")
log = logging.getLogger("mohsedi.store")


def migrations_dir() -> Path:
    import mohsedi.migrations

    return Path(mohsedi.migrations.__file__).parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


# SQLite under concurrent jobs (cron ingest while someone checks): how long one attempt waits
# for another writer, and how many attempts a write transaction makes before the file it was
# for is reported as not stored. 4 x 15 s outlasts any single file's write on this project's
# benchmarks by far; a lock held longer than that is a stuck process, worth telling.
SQLITE_BUSY_TIMEOUT_S = 15.0
WRITE_ATTEMPTS = 4
_WRITE_OPTION = "mohsedi_write"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        if url.startswith("sqlite"):
            engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
        else:
            engine = sa.create_engine(url)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database URL {url!r}: {exc}") from None
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            # The driver's own BEGIN is deferred and comes late (before the first write), so a
            # transaction that read first could not get the write lock without failing at once;
            # here SQLAlchemy's begin says BEGIN itself (see _sqlite_begin).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            _wal(cursor)
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            # Writers take the lock up front (IMMEDIATE): a writer waits its turn at BEGIN, where
            # the busy timeout applies, instead of dying mid-transaction on a lock upgrade.
            immediate = conn.get_execution_options().get(_WRITE_OPTION)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _wal(cursor) -> None:
    """Put the database in WAL mode (readers and one writer at once; the mode stays with the
    file). Switching answers "locked" at once, without the busy timeout, while another process
    opens or migrates a new store: wait a little and try again, within the busy timeout."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() in ("wal", "memory"):
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError; SQLAlchemy wraps it later
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.01, 0.1))


def _is_lock_contention(exc: sa.exc.OperationalError) -> bool:
    text = str(exc.orig).lower() if exc.orig is not None else ""
    return "locked" in text or "busy" in text


@contextlib.contextmanager
def write_transaction(engine: Engine, *, attempts: int | None = None) -> Iterator[sa.Connection]:
    """A transaction that holds the write lock from its first statement, committed when the
    block ends without error. On SQLite, a lock still held by another process after the busy
    timeout is tried again, a bounded number of times; elsewhere this is engine.begin()."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    attempts = attempts or WRITE_ATTEMPTS
    for attempt in range(1, attempts + 1):
        conn = engine.connect().execution_options(**{_WRITE_OPTION: True})
        try:
            trans = conn.begin()
        except sa.exc.OperationalError as exc:
            conn.close()
            if not _is_lock_contention(exc) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.05, 0.5) * attempt)  # jitter: waiting writers do not wake together
            continue
        try:
            with trans:
                yield conn
        finally:
            conn.close()
        return


def describe_db_error(exc: sa.exc.SQLAlchemyError) -> str:
    """One line for the user: the database's own message, never the SQL nor its parameters
    (they hold account numbers)."""
    orig = getattr(exc, "orig", None)
    # Without a driver error there was no statement (a URL, a missing driver): its text is safe.
    text = str(orig) if orig is not None else (str(exc) or type(exc).__name__)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first[:300]


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
    """Text as every database takes it: bytes a file could not decode (kept as surrogates so the
    X12 round-trips) and NUL (PostgreSQL refuses it in text) are stored as U+FFFD, alike in
    SQLite and PostgreSQL. Only non-ASCII text pays for the surrogate check."""
    out = rows
    for n, row in enumerate(rows):
        bad = [k for k, v in row.items() if isinstance(v, str) and _unstorable(v)]
        if bad:
            if out is rows:
                out = list(rows)
            out[n] = {**row, **{k: _replace_surrogates(row[k]) for k in bad}}
    return out


def _has_surrogate(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def _unstorable(text: str) -> bool:
    return "\x00" in text or (not text.isascii() and _has_surrogate(text))


def _replace_surrogates(text: str) -> str:
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace").replace("\x00", "\ufffd")


def text_for_store(text: str) -> str:
    """One value as `storable` writes it: for queries that look up what was stored."""
    return _replace_surrogates(text) if _unstorable(text) else text


def chunks(items: Sequence[T], size: int = 500) -> Iterator[Sequence[T]]:
    """``items`` in slices of ``size``: an IN list stays under every database's parameter limit."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def in_list(conn: sa.Connection, column: sa.ColumnElement, values: Sequence) -> sa.ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``, one parameter: an IN list
    of hundreds of parameters was rendered, cast and split by the driver at every execution."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return column == sa.any_(sa.bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(values)


def bulk_insert(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """Insert many rows. On SQLite through the driver's executemany: SQLAlchemy's per-row
    parameter processing was most of the ingest time there. On PostgreSQL (psycopg 3) through
    COPY: a multi-row INSERT of thousands of rows spent most of its time in the driver
    splitting the statement's text."""
    if not rows:
        return
    rows = storable(rows)
    if _copies(conn):
        _copy(conn, table, rows)
        return
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

    On PostgreSQL (psycopg 3), several rows take their keys from the table's own sequence, a
    block of nextval()s drawn in one statement (safe beside other writers: a sequence never
    hands out a value twice), and go in by COPY.
    """
    if not rows:
        return []
    rows = storable(rows)
    if conn.dialect.name == "sqlite" and len(rows) > 1 and conn.in_transaction():
        start = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        ids = list(range(start + 1, start + 1 + len(rows)))
        bulk_insert(conn, table, [{"id": i, **row} for row, i in zip(rows, ids, strict=True)])
        return ids
    if len(rows) > 1 and _copies(conn):
        ids = [
            row[0]
            for row in conn.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) FROM generate_series(1, %(n)s)",
                {"table": f'"{table.name}"', "n": len(rows)},
            )
        ]
        _copy(conn, table, [{"id": i, **row} for row, i in zip(rows, ids, strict=True)])
        return ids
    result = conn.execute(sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), rows)
    return [row[0] for row in result]


def _copies(conn: sa.Connection) -> bool:
    """Whether rows go in by COPY: PostgreSQL through psycopg 3, whose cursors copy."""
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


def _copy(conn: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """COPY the rows into ``table``, inside the connection's transaction (the same driver
    connection: a file cut short still stores nothing)."""
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    values = operator.itemgetter(*columns)
    driver = conn.connection.driver_connection
    assert driver is not None
    error = conn.dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write(values(row) if len(columns) > 1 else (values(row),))
    except error as exc:
        # As SQLAlchemy raises the driver's errors (a unique key taken by another process is an
        # IntegrityError, which ingest answers by reading the file again).
        raise sa.exc.DBAPIError.instance(sql, None, exc, error) from exc


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
            _migrate_new_store(engine, url)
        elif current != head_revision() and not (
            url == current_settings().own_store_url and _upgrade_own_store(engine, url, current)
        ):
            raise StoreError(
                f"the store's schema is at {current}, the code needs {head_revision()}: run `mohsedi db upgrade`"
            )
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot open the store at {url}: {describe_db_error(exc)}") from None
    return engine


def _upgrade_own_store(engine: Engine, url: str, found: str) -> bool:
    """Bring the store nobody named (SQLite under the data directory) to the code's schema, as
    an application keeps its own files; False when its schema is not one this code knows (a
    newer mohsedi wrote it). A store someone named may be shared with installations still on
    the older version: it is changed only by `mohsedi db upgrade`."""
    script = ScriptDirectory.from_config(alembic_config(url))
    try:
        known = script.get_revision(found) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for a revision it does not have
        known = False
    if not known:
        return False
    with write_transaction(engine) as conn:  # two runs started together: one migrates, one waits
        before = MigrationContext.configure(conn).get_current_revision()
        if before != head_revision():
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            log.warning("upgraded the store at %s from %s to %s", url, before, head_revision())
    return True


# Any constant key will do: it only has to be the same for every mohsedi process.
_PG_MIGRATION_LOCK = 0x6D6F6873


def _migrate_new_store(engine: Engine, url: str) -> None:
    """Create the schema in an empty database, once, when several processes open it at the
    same moment (cron jobs started together): the first takes the write lock and migrates,
    the others wait and then find the schema there."""
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        if MigrationContext.configure(conn).get_current_revision() is not None:
            return
        if set(sa.inspect(conn).get_table_names()) - {"alembic_version"}:  # empty version table: migrated down
            raise StoreError(f"{url} has tables but no mohsedi schema version; is it another application's?")
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
