"""Opening the store: SQLite by default, PostgreSQL in production; migrations by alembic."""

from __future__ import annotations

import contextlib
import operator
import queue
import random
import sys
import threading
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
from mohsedi.notices import tell
from mohsedi.settings import current as current_settings
from mohsedi.store.paths import StoreError, default_url, existing_store  # noqa: F401

T = TypeVar("T")


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


def _without_foreign_keys(conn: sa.Connection) -> None:
    """SQLite's key enforcement off, set on the driver's connection: inside a transaction (which
    SQLAlchemy would begin for a statement of its own) the pragma does nothing. The connection
    must then be invalidated, never handed back to the pool."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute("PRAGMA foreign_keys=OFF")


def _close(conn: sa.Connection, *, discard: bool) -> None:
    if discard:  # a new connection gets the engine's pragmas again (keys on)
        conn.invalidate()
    conn.close()


@contextlib.contextmanager
def write_transaction(
    engine: Engine, *, attempts: int | None = None, foreign_keys: bool = True
) -> Iterator[sa.Connection]:
    """A transaction that holds the write lock from its first statement, committed when the
    block ends without error. On SQLite, a lock still held by another process after the busy
    timeout is tried again, a bounded number of times; elsewhere this is engine.begin().

    ``foreign_keys`` False (SQLite, for a migration): keys are not enforced while it runs, as
    `alembic upgrade` runs; a migration that copies a table drops the old one, and with keys on
    SQLite first deletes its rows, cascading into every table pointing to it. The keys are
    checked once before the commit instead."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    attempts = attempts or WRITE_ATTEMPTS
    for attempt in range(1, attempts + 1):
        conn = engine.connect().execution_options(**{_WRITE_OPTION: True})
        if not foreign_keys:
            _without_foreign_keys(conn)
        try:
            trans = conn.begin()
        except sa.exc.OperationalError as exc:
            _close(conn, discard=not foreign_keys)
            if not _is_lock_contention(exc) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.05, 0.5) * attempt)  # jitter: waiting writers do not wake together
            continue
        try:
            with trans:
                yield conn
                if not foreign_keys and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise StoreError("the migration left rows pointing nowhere; nothing was changed")
        finally:
            _close(conn, discard=not foreign_keys)
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
    # The usual batch has nothing to replace: one look at all its text together says so.
    text = "".join([v for row in rows for v in row.values() if isinstance(v, str)])
    if "\x00" not in text and (text.isascii() or not _has_surrogate(text)):
        return rows
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


def in_chunks(conn: sa.Connection, items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` in the slices one ``in_list`` each takes: 500 on SQLite (its parameter limit),
    up to 50,000 on PostgreSQL, where the list is one array parameter (each slice is a round
    trip to the server)."""
    return chunks(items, 50_000 if conn.dialect.name == "postgresql" else 500)


def in_list(conn: sa.Connection, column: sa.ColumnElement, values: Sequence) -> sa.ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``, one parameter: an IN list
    of hundreds of parameters was rendered, cast and split by the driver at every execution.
    Distinct integers without a gap (a file's keys, drawn together) are the range they span:
    two parameters, an index range scan, and no array for the driver to build value by value."""
    if (
        len(values) > 2
        and all(type(v) is int for v in values)
        and max(values) - min(values) + 1 == len(values) == len(set(values))
    ):
        return column.between(min(values), max(values))
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
    if _copies(conn):
        _copy(conn, table, rows)
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
    driver = conn.connection.driver_connection
    assert driver is not None
    _send_copy(driver, conn.dialect, *copy_data(table, rows))


# COPY's text format: a backslash, tab, line feed or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_data(table: sa.Table, rows: list[dict]) -> tuple[str, bytes]:
    """The COPY statement and its data (text format) for ``rows``, made ``storable``. Made here,
    not row by row in the driver, so that a thread sending it has no Python work to contend
    for: every value's text is its str() (numbers, Decimal, dates and booleans all read back as
    written), NULL is \\N, and a value is escaped only when the text shows one needs it."""
    rows = storable(rows)
    columns = list(rows[0])
    names = ", ".join(f'"{c}"' for c in columns)
    sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    get = operator.itemgetter(*columns)
    values = [get(row) for row in rows] if len(columns) > 1 else [(get(row),) for row in rows]
    # NULL first written as NUL, which no storable value holds: then the text has only the
    # rows' own tabs and line breaks, and no backslash, exactly when no value needs escaping
    # (the usual case), which C-level counts tell without looking at each value again.
    body = "\n".join(
        ["\t".join(["\x00" if v is None else v if v.__class__ is str else str(v) for v in vals]) for vals in values]
    )
    if (
        "\\" in body
        or "\r" in body
        or body.count("\t") != len(values) * (len(columns) - 1)
        or body.count("\n") != len(values) - 1
    ):
        body = "\n".join(
            [
                "\t".join(
                    [
                        "\x00" if v is None else v.translate(_COPY_ESCAPES) if isinstance(v, str) else str(v)
                        for v in vals
                    ]
                )
                for vals in values
            ]
        )
    return sql, (body.replace("\x00", "\\N") + "\n").encode()


def _send_copy(driver, dialect, sql: str, data: bytes) -> None:
    error = dialect.loaded_dbapi.Error
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            copy.write(data)
    except error as exc:
        # As SQLAlchemy raises the driver's errors (a unique key taken by another process is an
        # IntegrityError, which ingest answers by reading the file again).
        raise sa.exc.DBAPIError.instance(sql, None, exc, error) from exc


# How soon a thread waiting for the GIL gets it while RowWriter's thread runs (see there).
SWITCH_INTERVAL_S = 0.0005


def _parents_first(table: sa.Table) -> int:
    """A table's place in an order where every table comes after those its foreign keys point to."""
    return table.metadata.sorted_tables.index(table)


class RowWriter:
    """The rows of one write transaction, sent while the caller reads on.

    Ingest is two kinds of work: Python reading the file and building rows, and the database
    storing them. On SQLite both run in this process, one after the other. On PostgreSQL the
    server stores on the other core: here a thread sends each table's rows by COPY (a wait on
    the server lets go of the GIL) while the caller parses and builds the next ones, so the
    server's work (key checks, index upkeep) overlaps Python's instead of following it.

    What the caller needs before rows can be built goes elsewhere, never behind queued COPYs:
    ``draw`` takes primary keys (PostgreSQL: the table's sequence through a second, autocommit
    connection, as safe as in the transaction since a sequence never hands out a value twice
    and is not rolled back; SQLite: counted on from max(id) read under the write lock the
    transaction holds), and ``lookup`` is a connection for reading committed rows (the second
    connection on PostgreSQL, the transaction's own on SQLite). Rows go into the transaction's
    connection only, in the order given: a failed file still stores nothing. A database error
    in the thread is raised to the caller at its next ``insert`` or at ``flush``, as the
    SQLAlchemy error an INSERT would raise (a key taken by another process: IntegrityError).
    """

    # Rows gathered before they are sent (one COPY per table): fewer statements and round
    # trips than one per transaction set, while the reading goes on beside the sending.
    BATCH_ROWS = 10_000
    # COPYs waiting for the thread: a few batches' worth, so memory stays bounded.
    QUEUE_DEPTH = 16

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.threaded = _copies(conn)
        self._next: dict[str, int] = {}
        self._drawn: dict[str, list[list[int]]] = {}  # table -> the blocks of ids drawn, [low, high]
        self._pending: dict[str, tuple[sa.Table, list[dict]]] = {}  # by table, sent parents first
        self._pending_rows = 0
        self._sequences: dict[str, str] = {}
        self._error: BaseException | None = None
        self._lookup: sa.Connection | None = None
        self._queue: queue.Queue[tuple[str, bytes] | None] = queue.Queue(self.QUEUE_DEPTH)
        self._thread: threading.Thread | None = None
        self._switch_interval: float | None = None
        if self.threaded:
            self._lookup = conn.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            driver = conn.connection.driver_connection
            # The thread takes the GIL back after each wait on the server; by default it waits up
            # to 5 ms for the reading thread to let go, a few times per COPY: most of its time.
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._switch_interval, SWITCH_INTERVAL_S))
            self._thread = threading.Thread(target=self._run, args=(driver, conn.dialect), daemon=True)
            self._thread.start()

    @property
    def lookup(self) -> sa.Connection:
        return self._lookup if self._lookup is not None else self.conn

    def draw(self, wanted: dict[sa.Table, int]) -> dict[sa.Table, list[int]]:
        """New primary keys for several tables at once, in increasing order per table: on
        PostgreSQL one round trip to the server for all of them."""
        some = {t: n for t, n in wanted.items() if n > 0}
        drawn = self._sqlite_ids(some) if self.conn.dialect.name == "sqlite" else self._sequence_ids(some)
        for table, ids in drawn.items():
            blocks = self._drawn.setdefault(table.name, [])
            for i in ids:  # consecutive ids extend the last block (drawn alone, all of them do)
                if blocks and blocks[-1][1] + 1 == i:
                    blocks[-1][1] = i
                else:
                    blocks.append([i, i])
        return {t: drawn.get(t, []) for t in wanted}

    def _sqlite_ids(self, wanted: dict[sa.Table, int]) -> dict[sa.Table, list[int]]:
        """Counted on from max(id): the transaction holds the write lock, nobody else inserts."""
        out = {}
        for table, n in wanted.items():
            start = self._next.get(table.name)
            if start is None:
                start = (self.conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1
            self._next[table.name] = start + n
            out[table] = list(range(start, start + n))
        return out

    def _sequence_ids(self, wanted: dict[sa.Table, int]) -> dict[sa.Table, list[int]]:
        """From each table's sequence. One row back per table, not n: drawn alone the values are
        consecutive, and n distinct values between a lowest and a highest n - 1 apart are
        exactly that range. Only when another writer drew meanwhile does the list come back."""
        if not wanted:
            return {}
        unknown = [t.name for t in wanted if t.name not in self._sequences]
        if unknown:
            for name, sequence in self.lookup.exec_driver_sql(
                "SELECT t, pg_get_serial_sequence(quote_ident(t), 'id') FROM unnest(%(tables)s::text[]) AS t",
                {"tables": unknown},
            ):
                self._sequences[name] = sequence
        tables = list(wanted)
        parts: list[str] = []
        params: dict[str, object] = {}
        for k, table in enumerate(tables):
            parts.append(
                f"SELECT {k} AS k, min(v), max(v), CASE WHEN max(v) - min(v) + 1 = count(*) THEN NULL "
                f"ELSE array_agg(v ORDER BY v) END "
                f"FROM (SELECT nextval(%(seq{k})s) AS v FROM generate_series(1, %(n{k})s)) AS drawn"
            )
            params[f"seq{k}"], params[f"n{k}"] = self._sequences[table.name], wanted[table]
        out = {}
        for k, low, high, values in self.lookup.exec_driver_sql(" UNION ALL ".join(parts), params):
            out[tables[k]] = list(range(low, high + 1)) if values is None else list(values)
        return out

    def insert(self, table: sa.Table, rows: list[dict]) -> None:
        """Store ``rows`` (ids included; every row of a table with the same keys) in the
        transaction: at once on SQLite; on PostgreSQL gathered, then sent by the thread a
        batch at a time, one COPY per table, parents before children (a batch can start in the
        middle of a remittance, so the order tables first came in it is not that order)."""
        self._raise()
        if not rows:
            return
        if self._thread is None:
            bulk_insert(self.conn, table, rows)
            return
        self._pending.setdefault(table.name, (table, []))[1].extend(rows)
        self._pending_rows += len(rows)
        if self._pending_rows >= self.BATCH_ROWS:
            self._send_pending()

    def _send_pending(self) -> None:
        assert self._thread is not None
        for table, rows in sorted(self._pending.values(), key=lambda pending: _parents_first(pending[0])):
            job = copy_data(table, rows)
            while True:  # not a blocking put: a thread that died must not leave the caller waiting
                try:
                    self._queue.put(job, timeout=0.5)
                    break
                except queue.Full:
                    self._raise()
                    if not self._thread.is_alive():
                        raise RuntimeError("the store's writer stopped") from None
        self._pending.clear()
        self._pending_rows = 0

    # Above this many blocks of ids for a table (other writers drew in between), a reference is
    # checked by looking each row's target up instead of by counts over the blocks.
    MAX_BLOCKS = 64

    def verify(self, references: Sequence[tuple[sa.Column, sa.Table]]) -> list[str]:
        """Check, once and set-based, after ``flush``, that the rows written here with ids drawn
        here point, for each (column, table it points to), to rows written here too (every id
        drawn must have been used for a row): in one query of counts over the ids drawn, with
        no look-up per row. Returns what is wrong (empty: nothing)."""
        checks: list[tuple[str, sa.ScalarSelect, int]] = []
        for parent in {p.name: p for _, p in references}.values():
            blocks = self._drawn.get(parent.name, [])
            if blocks and len(blocks) <= self.MAX_BLOCKS:
                there = sa.select(sa.func.count()).select_from(parent).where(_in_blocks(parent.c.id, blocks))
                drawn = sum(high - low + 1 for low, high in blocks)
                checks.append(
                    (f"{{}} of the {drawn} {parent.name} ids drawn have no row", there.scalar_subquery(), drawn)
                )
        for column, parent in references:
            table = column.table
            assert isinstance(table, sa.Table)
            blocks, targets = self._drawn.get(table.name, []), self._drawn.get(parent.name, [])
            if not blocks:
                continue
            if len(blocks) <= self.MAX_BLOCKS and len(targets) <= self.MAX_BLOCKS:
                elsewhere = ~_in_blocks(column, targets) if targets else sa.true()
            else:  # many blocks: whether each target exists at all
                blocks = [[blocks[0][0], blocks[-1][1]]]  # rows of other writers among them are checked too
                elsewhere = ~sa.exists().where(parent.c.id == column)
            wrong = (
                sa.select(sa.func.count())
                .select_from(table)
                .where(_in_blocks(table.c.id, blocks), column.is_not(None), elsewhere)
            )
            checks.append(
                (
                    f"{{}} {table.name} row(s) whose {column.name} is no {parent.name} of this file",
                    wrong.scalar_subquery(),
                    0,
                )
            )
        if not checks:
            return []
        counts = self.conn.execute(sa.select(*(q for _, q, _ in checks))).one()
        return [
            message.format(abs(count - expected))
            for (message, _, expected), count in zip(checks, counts, strict=True)
            if count != expected
        ]

    def flush(self) -> None:
        """Wait until every row given is in the transaction; raise what the thread met."""
        if self._thread is not None:
            self._send_pending()
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._restore_switch_interval()
        self._raise()

    def _restore_switch_interval(self) -> None:
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None

    def close(self) -> None:
        """Stop the thread (the rows not sent yet are dropped: the transaction is failing) and
        give back the second connection. The thread is joined before the transaction's
        connection is rolled back or used again."""
        if self._thread is not None:
            self._error = self._error or _AbandonedError()
            with contextlib.suppress(queue.Empty):
                while True:
                    self._queue.get_nowait()
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self._restore_switch_interval()
        if self._lookup is not None:
            self._lookup.close()
            self._lookup = None

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _raise(self) -> None:
        if self._error is not None and not isinstance(self._error, _AbandonedError):
            raise self._error

    def _run(self, driver, dialect) -> None:
        while (job := self._queue.get()) is not None:
            if self._error is not None:
                continue  # after an error nothing more is sent; the caller is told
            try:
                _send_copy(driver, dialect, *job)
            except BaseException as exc:  # handed to the caller's thread
                self._error = exc


def _in_blocks(column: sa.ColumnElement, blocks: Sequence[Sequence[int]]) -> sa.ColumnElement[bool]:
    return sa.or_(*(column.between(low, high) for low, high in blocks))


class _AbandonedError(Exception):
    """The caller gave up on the transaction: rows still queued are not sent."""


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
        elif current != head_revision():
            if not _known_revision(url, current):
                raise StoreError(
                    f"the store's schema ({current}) is newer than this mohsedi knows ({head_revision()}): "
                    "upgrade mohsedi"
                )
            if _same_sqlite_file(url, current_settings().own_store_url):
                _upgrade_own_store(engine, url)
            else:
                raise StoreError(
                    f"the store's schema is at {current}, the code needs {head_revision()}: run `mohsedi db upgrade`"
                )
    except sa.exc.OperationalError as exc:
        raise StoreError(f"cannot open the store at {url}: {describe_db_error(exc)}") from None
    return engine


def _same_sqlite_file(url: str, other: str) -> bool:
    """Whether two SQLite URLs name one file, however each spells its path."""
    prefix = "sqlite:///"
    if not (url.startswith(prefix) and other.startswith(prefix)):
        return False
    return Path(url.removeprefix(prefix)).resolve() == Path(other.removeprefix(prefix)).resolve()


def _known_revision(url: str, revision: str) -> bool:
    """Whether this code's migrations hold ``revision`` (not: a newer mohsedi wrote the store)."""
    try:
        return ScriptDirectory.from_config(alembic_config(url)).get_revision(revision) is not None
    except Exception:  # noqa: BLE001 - alembic raises several kinds for a revision it does not have
        return False


def _upgrade_own_store(engine: Engine, url: str) -> None:
    """Bring the store nobody named (SQLite under the data directory) to the code's schema, as
    an application keeps its own files. A store someone named may be shared with installations
    still on the older version: it is changed only by `mohsedi db upgrade`."""
    # Two runs started together: one migrates, one waits. Keys off while the tables are copied.
    with write_transaction(engine, foreign_keys=False) as conn:
        before = MigrationContext.configure(conn).get_current_revision()
        if before != head_revision():
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            tell(f"upgraded the store at {url} from {before} to {head_revision()}")


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
