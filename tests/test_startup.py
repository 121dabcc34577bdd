"""Issue 16, item 3: the command line imports only what a command uses.

Each case runs in a fresh interpreter (this test process has imported everything already)
and lists the heavy modules that ended up in sys.modules.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

HEAVY = ("numpy", "matplotlib", "sqlalchemy", "alembic")

PROBE = """
import json, sys
from mohsedi.cli.main import cli
try:
    cli.main(sys.argv[1:], prog_name="mohsedi")
except SystemExit:
    pass
sys.stdout.flush()
print("\\n" + json.dumps(sorted({m.split(".")[0] for m in sys.modules})), file=sys.stderr)
"""


def loaded_after(args: list[str], home: Path) -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOHSEDI_", "XDG_"))}
    env.update(HOME=str(home), MOHSEDI_TODAY="2026-11-22")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], env=env, cwd=home, capture_output=True, text=True, timeout=120
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


@pytest.mark.parametrize("args", [["--help"], ["check", "--help"], ["--version"], ["report", "--help"]])
def test_help_loads_no_heavy_module_and_no_rules(args: list[str], tmp_path: Path) -> None:
    loaded = loaded_after(args, tmp_path)
    assert "click" in loaded  # the probe did run the command line
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
    assert "lxml" not in loaded and "pyx12" not in loaded


def test_one_claim_check_without_a_store_loads_no_heavy_module(tmp_path: Path) -> None:
    loaded = loaded_after(["check", str(SAMPLES / "13-mue-errors.837"), "--format", "json"], tmp_path)
    assert "lxml" in loaded  # it did read the claim (the guide is compiled with lxml)
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
    assert not (tmp_path / ".local" / "share" / "mohsedi").exists()  # check alone creates no store


def test_a_check_of_several_sets_loads_no_heavy_module(tmp_path: Path) -> None:
    """Sets that may share a day are found without numpy in a batch of this size (its import
    alone cost more than the search)."""
    loaded = loaded_after(["check", str(SAMPLES / "16-two-sets.837"), "--format", "json"], tmp_path)
    assert "lxml" in loaded
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


def test_a_store_is_loaded_when_one_is_used(tmp_path: Path) -> None:
    """The probe can fail: the same run with a store does load SQLAlchemy."""
    loaded = loaded_after(["record", str(SAMPLES / "13-mue-errors.837")], tmp_path)
    assert "sqlalchemy" in loaded


def test_check_beside_a_store_of_claims_only_still_loads_no_store(tmp_path: Path) -> None:
    """After the first `fix` the default store exists; with no NCCI release imported into it,
    a check has nothing to read there."""
    assert "sqlalchemy" in loaded_after(["record", str(SAMPLES / "01-mohs-clean.837")], tmp_path)
    assert (tmp_path / ".local" / "share" / "mohsedi" / "mohsedi.db").is_file()
    loaded = loaded_after(["check", str(SAMPLES / "13-mue-errors.837"), "--format", "json"], tmp_path)
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)
