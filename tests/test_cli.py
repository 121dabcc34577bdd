"""The command line: contract shapes, exit codes, never touching inputs, atomic outputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from mohsedi.cli.main import cli
from tests.conftest import SAMPLES

SEEDED = {
    "10-mohs-coding-errors.837": {
        ("MOHS005", "MOHS-0101", 1),
        ("MOHS005", "MOHS-0101", 2),
        ("MOHS001", "MOHS-0102", 1),
        ("MOHS002", "MOHS-0103", 2),
        ("MOHS003", "MOHS-0104", 1),
        ("MOHS004", "MOHS-0105", 2),
        ("MOHS006", "MOHS-0106", 1),
        ("MOHS008", "MOHS-0107", 1),
        ("MOHS016", "MOHS-0108", 1),
    },
    "11-same-day-errors.837": {
        ("MOHS011", "MOHS-0201", 2),
        ("MOHS009", "MOHS-0202", 2),
        ("MOHS013", "MOHS-0203", 1),
        ("MOHS012", "MOHS-0204", 2),
        ("MOHS010", "MOHS-0205", 2),
        ("MOHS015", "MOHS-0206", 2),
    },
    "12-modifier-and-x12-errors.837": {
        ("MOHS014", "MOHS-0301", 2),
        ("MOHS018", "MOHS-0302", 2),
        ("MOHS017", "MOHS-0303", None),
        ("X12002", "MOHS-0304", None),
        ("X12004", "MOHS-0304", 1),
        ("X12004", "MOHS-0304", 2),
        ("X12005", "MOHS-0304", 2),  # "xs" counts as XS for MOHS004: one problem, one finding
    },
}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def findings_of(output: str) -> dict[str, set]:
    data = json.loads(output)
    return {Path(f["path"]).name: {(x["rule"], x["claim"], x["line"]) for x in f["findings"]} for f in data["files"]}


def test_check_reports_the_seeded_errors_and_nothing_on_clean_samples() -> None:
    code, out = run("check", *map(str, sorted(SAMPLES.glob("*.837"))), "--format", "json")
    assert code == 1
    found = findings_of(out)
    assert found["01-mohs-clean.837"] == set()
    for name, seeded in SEEDED.items():
        assert found[name] >= seeded, name
        assert found[name] - seeded == set(), name


def test_check_json_matches_the_contract() -> None:
    code, out = run("check", str(SAMPLES / "11-same-day-errors.837"), "--format", "json")
    data = json.loads(out)
    f = data["files"][0]
    assert set(f) >= {"path", "claims", "findings"} and f["claims"] == 6
    finding = next(x for x in f["findings"] if x["rule"] == "MOHS011")
    assert set(finding) >= {"rule", "severity", "claim", "line", "line_id", "message", "fix", "predicts"}
    assert finding["line_id"] == "MOHS-0201-2" and finding["fix"] == "unsafe"
    assert finding["predicts"] == [{"group": "CO", "carc": "236", "rarc": ["M80"]}]


def test_fail_on_and_select(tmp_path: Path) -> None:
    sample = str(SAMPLES / "13-mue-errors.837")
    assert run("check", sample, "--format", "json", "--ignore", "NCCI")[0] == 0  # only info findings left
    assert run("check", sample, "--format", "json", "--ignore", "NCCI", "--fail-on", "info")[0] == 1
    code, out = run("check", str(SAMPLES / "10-mohs-coding-errors.837"), "--format", "json", "--select", "MOHS001")
    assert {r for r, _, _ in findings_of(out)["10-mohs-coding-errors.837"]} == {"MOHS001"}
    assert run("check", sample, "--select", "NOPE")[0] == 2


def test_csv_and_table_formats() -> None:
    code, out = run("check", str(SAMPLES / "12-modifier-and-x12-errors.837"), "--format", "csv")
    lines = out.splitlines()
    assert lines[0].startswith("path,claim,line,line_id,rule,severity,fix,message")
    assert len(lines) == 1 + 7
    code, out = run("check", str(SAMPLES / "12-modifier-and-x12-errors.837"), "--format", "table")
    assert "claim MOHS-0304" in out and "error(s)" in out and "safe fix: set CLM02 to 1485.6" in out


def test_fix_then_check_leaves_only_manual_findings(tmp_path: Path) -> None:
    inputs = sorted(SAMPLES.glob("*.837"))
    before = {p: p.read_bytes() for p in inputs}
    code, out = run("fix", *map(str, inputs), "-o", str(tmp_path), "--unsafe-fixes", "--format", "json")
    data = json.loads(out)
    assert all(f["output"] for f in data["files"])
    assert any(f["applied"] for f in data["files"])
    assert {p: p.read_bytes() for p in inputs} == before, "inputs are never modified"
    code, out = run("check", *map(str, sorted(tmp_path.glob("*.837"))), "--format", "json")
    remaining = [x for f in json.loads(out)["files"] for x in f["findings"]]
    assert remaining and all(x["fix"] == "manual" for x in remaining)
    # The clean file comes out byte-identical.
    assert (tmp_path / "01-mohs-clean.837").read_bytes() == before[SAMPLES / "01-mohs-clean.837"]


def test_fix_refuses_to_overwrite_inputs_without_in_place(tmp_path: Path) -> None:
    copy = tmp_path / "claims.837"
    shutil.copy(SAMPLES / "12-modifier-and-x12-errors.837", copy)
    code, out = run("fix", str(copy), "-o", str(tmp_path))
    assert code == 2 and "--in-place" in out
    assert run("fix", str(copy))[0] == 2
    original = copy.read_bytes()
    code, out = run("fix", str(copy), "--in-place", "--format", "json")
    assert copy.read_bytes() != original
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files are left behind"


def test_fix_diff_and_report_file(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    code, out = run(
        "fix",
        str(SAMPLES / "12-modifier-and-x12-errors.837"),
        "-o",
        str(tmp_path / "out"),
        "--diff",
        "--report",
        str(report),
        "--format",
        "json",
    )
    assert "-SV1*HC:17311:59:XS" in out and "+SV1*HC:17311:XS" in out
    assert json.loads(report.read_text())["files"][0]["applied"]


def test_unreadable_file_is_reported_and_the_rest_goes_on(tmp_path: Path) -> None:
    bad = tmp_path / "bad.837"
    bad.write_text("this is not X12")
    code, out = run("check", str(bad), str(SAMPLES / "11-same-day-errors.837"), "--format", "json")
    assert code == 2
    data = json.loads(out.split("\nmohsedi:")[0])
    assert data["files"][0]["errors"] and "bad.837" in data["files"][0]["errors"][0]
    assert data["files"][1]["findings"]


def test_quiet_prints_nothing_when_clean() -> None:
    code, out = run("check", str(SAMPLES / "01-mohs-clean.837"), "-q")
    assert code == 0 and out == ""


def test_rules_list_formats() -> None:
    code, out = run("rules", "list", "--format", "json")
    rules = json.loads(out)
    assert rules[0]["code"] == "X12001" and len(rules) >= 23
    code, out = run("rules", "list", "--format", "csv", "--select", "MOHS00")
    assert out.splitlines()[0].startswith("code,name,severity,fix")
    assert len(out.splitlines()) == 1 + 9
