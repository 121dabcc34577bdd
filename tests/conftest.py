"""Shared fixtures: where the corpus and samples are, and the PostgreSQL server if one is configured."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def corpus_dir() -> Path | None:
    """../shared/corpus beside the clone (or MOHSEDI_CORPUS); None when it is not there."""
    configured = os.environ.get("MOHSEDI_CORPUS")
    # Set, it is the only place looked at (so MOHSEDI_CORPUS=/nowhere runs the suite as a clone would).
    candidates = (
        [Path(configured)]
        if configured
        else [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]
    )
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def corpus_files(kind: str) -> list[Path]:
    base = corpus_dir()
    return sorted((base / kind).glob("*.edi")) if base else []


CORPUS_MISSING = "corpus: ../shared/corpus (the stupidedi 837P and 835 files), or MOHSEDI_CORPUS, is not there"


def corpus_params(kind: str) -> list:
    """The corpus files of ``kind`` as parameters marked `corpus`; with no corpus, one parameter
    skipped with a reason that names it (not pytest's "got empty parameter set")."""
    files = corpus_files(kind)
    if not files:
        marks = [pytest.mark.corpus, pytest.mark.skip(reason=CORPUS_MISSING)]
        return [pytest.param(None, id=f"corpus-{kind}-missing", marks=marks)]
    return [pytest.param(p, id=file_id(p), marks=pytest.mark.corpus) for p in files]


def x12_params() -> list:
    """x12_files() as parameters: the samples, then the corpus marked `corpus` (or its skip)."""
    samples = sample_files(".837") + sample_files(".835")
    return [pytest.param(p, id=file_id(p)) for p in samples] + corpus_params("837p") + corpus_params("835")


def sample_files(suffix: str) -> list[Path]:
    return sorted(SAMPLES.glob(f"*{suffix}"))


def x12_files() -> list[Path]:
    """Every 837P and 835 file the tests can read: samples always, the corpus when present."""
    return sample_files(".837") + sample_files(".835") + corpus_files("837p") + corpus_files("835")


def file_id(path: Path) -> str:
    return path.name.split("__")[-1]


@pytest.fixture
def postgres_url() -> str:
    """The configured PostgreSQL; a test using it is marked `postgres` itself (marks select at collection)."""
    url = os.environ.get("MOHSEDI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL configured (MOHSEDI_TEST_POSTGRES_URL); .ci/run always sets one")
    return url


@pytest.fixture
def sample_text() -> str:
    return (SAMPLES / "01-mohs-clean.837").read_bytes().decode()


@pytest.fixture(autouse=True)
def _isolated_home(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never create a secret file in the home directory nor read a default store there."""
    monkeypatch.setenv("MOHSEDI_SECRET", "test-installation-secret")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    monkeypatch.setenv("MOHSEDI_TODAY", "2026-11-22")  # the samples' timely filing holds on this day
    monkeypatch.delenv("MOHSEDI_DATABASE_URL", raising=False)
    # The CLI hands these to the layers below at each run; tests calling the library directly
    # get the same, and whatever a run installed is undone after the test.
    import mohsedi.settings
    from mohsedi.cli.config import environment_settings

    monkeypatch.setattr(mohsedi.settings, "_current", environment_settings())


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, empty database: a SQLite file, or a new database on the configured PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = os.environ.get("MOHSEDI_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("no PostgreSQL configured (MOHSEDI_TEST_POSTGRES_URL); .ci/run always sets one")
    import uuid

    import sqlalchemy as sa

    name = f"mohsedi_t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    yield url
    sa.create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
