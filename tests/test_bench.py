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
