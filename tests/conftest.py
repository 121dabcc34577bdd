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
    candidates = [Path(configured)] if configured else []
    candidates += [ROOT.parent / "shared" / "corpus", ROOT.parent.parent / "shared" / "corpus"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


def corpus_files(kind: str) -> list[Path]:
    base = corpus_dir()
    return sorted((base / kind).glob("*.edi")) if base else []


def sample_files(suffix: str) -> list[Path]:
    return sorted(SAMPLES.glob(f"*{suffix}"))


def x12_files() -> list[Path]:
    """Every 837P and 835 file the tests can read: samples always, the corpus when present."""
    return sample_files(".837") + sample_files(".835") + corpus_files("837p") + corpus_files("835")


def file_id(path: Path) -> str:
    return path.name.split("__")[-1]


@pytest.fixture
def postgres_url() -> str:
    url = os.environ.get("MOHSEDI_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("no PostgreSQL configured (MOHSEDI_TEST_POSTGRES_URL); .ci/run always sets one")
    return url


@pytest.fixture
def sample_text() -> str:
    return (SAMPLES / "01-mohs-clean.837").read_bytes().decode()
