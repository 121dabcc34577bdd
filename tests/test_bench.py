"""The benchmark's own promises: a finding-heavy file has findings on every claim, and a
saved run says where it was made."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from click.testing import CliRunner

from mohsedi.cli.main import cli

RUN = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_run", RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_finding_heavy_file_has_findings_on_every_claim(tmp_path: Path) -> None:
    path = tmp_path / "heavy.837"
    segments = _bench().generate(path, 2_000, "837", heavy=True)
    assert 1_500 <= segments <= 2_500  # about the size asked for
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    (file_report,) = report["files"]
    claims_with_findings = {f["claim"] for f in file_report["findings"] if f["claim"]}
    assert report["summary"]["claims"] > 50
    assert len(claims_with_findings) == report["summary"]["claims"]


def test_ordinary_file_is_not_finding_heavy(tmp_path: Path) -> None:
    """The contrast that makes the heavy file mean something."""
    path = tmp_path / "plain.837"
    _bench().generate(path, 2_000, "837")
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json", "--fail-on", "never"])
    report = json.loads(result.output)
    claims_with_findings = {f["claim"] for f in report["files"][0]["findings"] if f["claim"]}
    assert len(claims_with_findings) < report["summary"]["claims"] / 2


def test_saved_run_is_stamped_with_commit_python_and_cpu() -> None:
    lines = _bench().stamp()
    keys = [line.split(":", 1)[0] for line in lines]
    assert keys[:5] == ["run at", "commit", "python", "machine", "peers"]
    commit = lines[1].split(":", 1)[1].split()[0]
    assert len(commit) == 40 or commit == "?"  # "?" outside a git checkout
    assert "CPython" in lines[2] or "PyPy" in lines[2]
    assert "cores" in lines[3]


def _phase(path: Path, name: str, **env: str) -> dict:
    import os
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, str(RUN), "--phase", name, "--file", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    )
    return json.loads(proc.stdout)


def test_setup_only_stops_where_the_clock_would_start(tmp_path: Path) -> None:
    """What an instruction count subtracts: the same process, its imports done, no work."""
    path = tmp_path / "plain.837"
    _bench().generate(path, 500, "837")
    assert _phase(path, "ours-837")["items"] > 0
    assert _phase(path, "ours-837", MOHSEDI_BENCH_SETUP_ONLY="1")["items"] == 0


def test_instruction_count_is_of_the_work(tmp_path: Path) -> None:
    import shutil

    import pytest

    if shutil.which("valgrind") is None:
        pytest.skip("valgrind is not installed: instruction counts (bench --instructions) cannot be made")
    bench = _bench()
    path = tmp_path / "plain.837"
    bench.generate(path, 500, "837")
    floor, ours = bench.count_instructions("floor-837", path), bench.count_instructions("ours-837", path)
    assert floor is not None and ours is not None
    # The interpreter's start and the imports are subtracted: a split of a small file is little.
    assert 0 < floor < ours
    assert floor < 5_000_000
