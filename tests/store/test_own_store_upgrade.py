"""The store nobody named (SQLite under the data directory) follows the code's schema by itself;
a store someone named is changed only by `mohsedi db upgrade`.

A billing team upgrades mohsedi and the next cron `fix` records into the default store: it must
not stop there, with the day's claims unsent, over a schema only mohsedi itself uses. A named
store (--db, $MOHSEDI_DATABASE_URL, the config's database) may be shared with other installations
still on the older version, so it is never migrated behind the user's back."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.store import db
from mohsedi.store.db import current_revision, downgrade, head_revision, make_engine, upgrade

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
SAMPLE = SAMPLES / "01-mohs-clean.837"
TREE = ["remittance", "claim_payment", "service_payment", "adjustment", "remark"]
BEHIND = "0005"  # any revision before head will do: the newest that existed in a released store


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def _own_store() -> str:
    """The default store's URL (under the tests' own data directory), its folder made."""
    own = Path(os.environ["XDG_DATA_HOME"]) / "mohsedi" / "mohsedi.db"
    own.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{own}"


def _store_at(url: str, revision: str) -> None:
    upgrade(url, revision)
    assert _revision(url) == revision


def test_the_default_store_is_upgraded_and_the_fix_goes_on(tmp_path: Path) -> None:
    url = _own_store()
    _store_at(url, BEHIND)

    result = CliRunner().invoke(cli, ["fix", str(SAMPLE), "-o", str(tmp_path / "out"), "--format", "json"])

    assert result.exit_code == 0, result.output
    assert _revision(url) == head_revision()
    assert (tmp_path / "out" / SAMPLE.name).exists()
    assert f"upgraded the store at {url} from {BEHIND} to {head_revision()}" in result.stderr


def test_a_named_store_behind_the_code_is_left_alone_and_nothing_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'named.db'}"
    _store_at(url, BEHIND)

    result = CliRunner().invoke(cli, ["fix", str(SAMPLE), "-o", str(tmp_path / "out"), "--db", url])

    assert result.exit_code == 2
    assert f"the store's schema is at {BEHIND}" in result.stderr
    assert "mohsedi db upgrade" in result.stderr
    assert _revision(url) == BEHIND
    assert not (tmp_path / "out" / SAMPLE.name).exists()


def _rows(url: str) -> list[int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar() for t in TREE]  # noqa: S608
    finally:
        engine.dispose()


def test_the_default_stores_upgrade_keeps_every_stored_payment() -> None:
    """A migration that rebuilds tables (SQLite copies them) must not run with foreign keys on:
    dropping the old table deleted its rows first, cascading into every service payment,
    adjustment and remark."""
    url = _own_store()
    upgrade(url)
    ingested = CliRunner().invoke(cli, ["ingest", str(SAMPLES / "10-mohs-denials.835"), "--format", "json"])
    assert ingested.exit_code == 0, ingested.output
    stored = _rows(url)
    assert all(stored)
    downgrade(url, "0006")  # as the previous release left it
    assert _rows(url) == stored

    result = CliRunner().invoke(cli, ["report", "denials", "--format", "json"])

    assert result.exit_code == 0, result.output
    assert "upgraded the store" in result.stderr
    assert _revision(url) == head_revision()
    assert _rows(url) == stored


def test_quiet_says_nothing_of_the_upgrade_it_made(tmp_path: Path) -> None:
    url = _own_store()
    _store_at(url, BEHIND)

    result = CliRunner().invoke(cli, ["ingest", str(SAMPLES / "10-mohs-denials.835"), "-q"])

    assert result.exit_code == 0, result.output
    assert _revision(url) == head_revision()
    assert result.stderr == "" and result.stdout == ""


def test_a_store_newer_than_the_code_says_to_upgrade_mohsedi(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newer.db'}"
    _store_at(url, head_revision())
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    engine.dispose()

    result = CliRunner().invoke(cli, ["report", "denials", "--db", url])

    assert result.exit_code == 2
    assert "the store's schema (9999) is newer than this mohsedi knows" in result.stderr
    assert "upgrade mohsedi" in result.stderr and "db upgrade" not in result.stderr


def test_the_default_store_is_known_however_its_path_is_spelled(tmp_path: Path) -> None:
    url = _own_store()
    _store_at(url, BEHIND)
    path = Path(url.removeprefix("sqlite:///"))
    spelled = f"sqlite:///{path.parent / '.' / '..' / path.parent.name / path.name}"
    assert spelled != url

    result = CliRunner().invoke(cli, ["report", "denials", "--db", spelled])

    assert result.exit_code == 0, result.output
    assert _revision(url) == head_revision()


def test_a_connection_that_had_its_keys_off_is_never_handed_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration's connection runs with SQLite's foreign keys off; however its transaction
    ends (here: the write lock is held elsewhere and begin gives up), the pool must not hand it
    to the next writer with its keys still off."""
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_S", 0.05)
    path = tmp_path / "locked.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:  # the file exists, in WAL mode, before the lock is taken
        conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        conn.commit()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sa.exc.OperationalError), db.write_transaction(engine, attempts=1, foreign_keys=False):
            pass
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
