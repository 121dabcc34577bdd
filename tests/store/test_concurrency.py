"""Several processes writing one SQLite store at once (cron ingest while other jobs run)."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from mohsedi.pipeline import run_ingest
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from tests.conftest import SAMPLES

TABLES = [m.StoredFile, m.Remittance, m.ClaimPayment, m.ServicePayment, m.Adjustment, m.Remark]
ROUNDS = 20


def variants(tmp_path: Path, count: int = 4) -> list[Path]:
    """``count`` different 835 files: the samples with their own trace and interchange numbers."""
    out = []
    for n in range(count):
        source = SAMPLES / ("01-mohs-paid.835" if n % 2 == 0 else "10-mohs-denials.835")
        text = source.read_text()
        text = text.replace("TRN*1*EFT26", f"TRN*1*V{n}EFT26").replace("*00501*0000001", f"*00501*{n}000001")
        path = tmp_path / f"remit-{n}.835"
        path.write_text(text)
        out.append(path)
    return out


def counts(url: str) -> dict[str, int]:
    engine = open_store(url)
    with engine.connect() as conn:
        result = {t.__tablename__: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() for t in TABLES}
    engine.dispose()
    return result


def _ingest_after(barrier, url: str, path: str, queue) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    try:
        [report] = run_ingest([path], url)
    except Exception as exc:  # told to the test, which fails on it at once
        queue.put((path, f"{type(exc).__name__}: {exc}", None))
        return
    queue.put((path, report.error.describe() if report.error else None, report.already_stored))


def race(url: str, paths: list[str]) -> list[tuple[str, str | None, bool]]:
    """Each path ingested by its own process, all let go at the same moment."""
    ctx = multiprocessing.get_context("fork")
    barrier, queue = ctx.Barrier(len(paths)), ctx.Queue()
    procs = [ctx.Process(target=_ingest_after, args=(barrier, url, p, queue)) for p in paths]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    return results


@pytest.mark.slow
def test_four_processes_four_files_twenty_rounds(tmp_path: Path) -> None:
    files = [str(p) for p in variants(tmp_path)]
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    for f in files:  # one at a time: what the store must hold after any race
        [report] = run_ingest([f], reference)
        assert report.error is None and report.remittances == 1
    expected = counts(reference)
    assert expected["stored_file"] == 4 and expected["remittance"] == 4
    for n in range(ROUNDS):
        url = f"sqlite:///{tmp_path / f'round-{n}.db'}"  # a new store: the first use migrates, racing too
        results = race(url, files)
        assert sorted(r[0] for r in results) == sorted(files)
        assert [r[1:] for r in results] == [(None, False)] * 4, f"round {n}: {results}"
        assert counts(url) == expected, f"round {n}"


@pytest.mark.slow  # four interpreters starting on two cores
def test_the_same_file_by_four_processes_is_stored_once_and_all_exit_0(tmp_path: Path) -> None:
    [path] = variants(tmp_path, 1)
    url = f"sqlite:///{tmp_path / 'same.db'}"
    [single] = run_ingest([str(path)], f"sqlite:///{tmp_path / 'single.db'}")
    env = {**os.environ, "MOHSEDI_DATABASE_URL": url}
    command = [sys.executable, "-m", "mohsedi", "ingest", str(path), "--format", "json"]
    procs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    outcomes = [(p.wait(timeout=120), p.stdout.read().decode(), p.stderr.read().decode()) for p in procs]
    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes
    assert all("Traceback" not in err and "locked" not in err and "refused" not in err for _, _, err in outcomes)
    statuses = sorted(json.loads(out)["files"][0]["status"] for _, out, _ in outcomes)
    assert statuses == ["already_stored", "already_stored", "already_stored", "stored"], outcomes
    got = counts(url)
    assert got["stored_file"] == 1 and got["remittance"] == 1
    assert got["claim_payment"] == single.claim_payments and got["adjustment"] > 0


def test_a_store_locked_past_every_retry_fails_that_file_only_in_one_line(tmp_path: Path) -> None:
    import sqlite3

    from mohsedi.store import db

    files = [str(p) for p in variants(tmp_path, 2)]
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    open_store(url).dispose()
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holding the write lock for good
    old = db.SQLITE_BUSY_TIMEOUT_S, db.WRITE_ATTEMPTS
    db.SQLITE_BUSY_TIMEOUT_S, db.WRITE_ATTEMPTS = 0.05, 2
    try:
        reports = run_ingest(files, url)
    finally:
        db.SQLITE_BUSY_TIMEOUT_S, db.WRITE_ATTEMPTS = old
        holder.execute("ROLLBACK")
        holder.close()
    assert len(reports) == 2  # the first failure did not stop the batch
    for r in reports:
        assert r.error is not None
        text = r.error.describe()
        assert "\n" not in text and "INSERT" not in text and "SELECT" not in text
        assert "database is locked" in text and r.path in text
    assert run_ingest(files, url)[1].remittances == 1  # the lock gone, the files go in


def test_the_same_file_raced_on_either_database_is_stored_once(store_url: str, tmp_path: Path) -> None:
    """PostgreSQL lets both writers in; the loser meets the unique file row and reports
    already_stored. The first use of the empty database (the migration) is raced as well."""
    [path] = variants(tmp_path, 1)
    results = race(store_url, [str(path)] * 4)
    assert sorted(r[1:] for r in results) == [(None, False), (None, True), (None, True), (None, True)], results
    got = counts(store_url)
    assert got["stored_file"] == 1 and got["remittance"] == 1
