"""The installation secret, handled like an ssh key, and its fingerprint kept in the store."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from mohsedi.cli.config import environment_settings
from mohsedi.cli.main import cli
from mohsedi.settings import configure
from mohsedi.store import models as m
from mohsedi.store.db import open_store
from mohsedi.store.privacy import SecretError, fingerprint, installation_secret
from tests.conftest import SAMPLES

CLAIMS = str(SAMPLES / "01-mohs-clean.837")


@pytest.fixture
def secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "secret"
    monkeypatch.delenv("MOHSEDI_SECRET", raising=False)
    monkeypatch.setenv("MOHSEDI_SECRET_FILE", str(path))
    configure(environment_settings())  # as the CLI does at each run (conftest undoes it)
    return path


def _read_after(barrier, queue) -> None:  # type: ignore[no-untyped-def]
    barrier.wait()
    try:
        queue.put(installation_secret())
    except Exception as exc:  # the test reports it
        queue.put(repr(exc))


def test_processes_starting_together_get_one_secret(secret_file: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for _ in range(5):
        if secret_file.exists():
            secret_file.unlink()
        barrier, queue = ctx.Barrier(6), ctx.Queue()
        procs = [ctx.Process(target=_read_after, args=(barrier, queue)) for _ in range(6)]
        for p in procs:
            p.start()
        got = [queue.get(timeout=60) for _ in procs]
        for p in procs:
            p.join(timeout=30)
        assert len(set(got)) == 1 and isinstance(got[0], bytes) and len(got[0]) == 64, got
        assert secret_file.read_text().encode() == got[0]
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        assert [p.name for p in secret_file.parent.iterdir()] == ["secret"]  # no temporary left


def test_an_empty_secret_is_refused(secret_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret_file.parent.mkdir(parents=True)
    secret_file.write_text("\n")
    secret_file.chmod(0o600)
    with pytest.raises(SecretError, match="empty"):
        installation_secret()
    monkeypatch.setenv("MOHSEDI_SECRET", "")
    configure(environment_settings())
    with pytest.raises(SecretError, match=r"\$MOHSEDI_SECRET is set but empty"):
        installation_secret()


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644])
def test_a_secret_others_can_read_is_refused(secret_file: Path, mode: int) -> None:
    installation_secret()
    secret_file.chmod(mode)
    with pytest.raises(SecretError, match=f"mode {mode:04o}.*chmod 600"):
        installation_secret()


def stored_fingerprint(url: str) -> str | None:
    engine = open_store(url)
    with engine.connect() as conn:
        value = conn.execute(sa.select(m.StoreMeta.value).where(m.StoreMeta.key == "secret_fingerprint")).scalar()
    engine.dispose()
    return value


def check_db(url: str, path: str = CLAIMS):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["check", path, "--db", url, "--fail-on", "never", "--format", "json"])


def test_the_store_keeps_the_fingerprint_and_refuses_another_secret(
    store_url: str, secret_file: Path, tmp_path: Path
) -> None:
    assert check_db(store_url).exit_code == 0
    assert stored_fingerprint(store_url) == fingerprint(installation_secret())
    assert check_db(store_url).exit_code == 0  # the same secret again: fine
    secret_file.write_text("f" * 64)  # a changed secret
    other = tmp_path / "other.837"
    other.write_bytes((SAMPLES / "01-mohs-clean.837").read_bytes() + b"\n")
    result = check_db(store_url, str(other))
    assert result.exit_code == 2, result.output
    assert "not the one this store's member and patient hashes were made with" in result.stderr
    assert "Traceback" not in result.output
    engine = open_store(store_url)
    with engine.connect() as conn:
        files = conn.execute(sa.select(sa.func.count()).select_from(m.StoredFile)).scalar()
    engine.dispose()
    assert files == 1  # nothing stored under the other secret


def test_a_lost_secret_is_not_silently_made_anew(store_url: str, secret_file: Path, tmp_path: Path) -> None:
    assert check_db(store_url).exit_code == 0
    secret_file.unlink()
    other = tmp_path / "other.837"
    other.write_bytes((SAMPLES / "01-mohs-clean.837").read_bytes() + b"\n")
    result = check_db(store_url, str(other))
    assert result.exit_code == 2, result.output
    assert "is missing" in result.stderr
    assert not secret_file.exists()


def test_the_secret_directory_is_private(secret_file: Path) -> None:
    installation_secret()
    assert stat.S_IMODE(os.stat(secret_file.parent).st_mode) & 0o077 == 0
