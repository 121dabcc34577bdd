"""Issue 16, item 4: outputs a user can read (modes, links, width, colour, statistics,
baselines, directories, standard input, progress)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.inputs import Progress, expand, transaction_kind
from mohsedi.cli.main import cli
from mohsedi.cli.render import denials_table, fit, report_table
from mohsedi.files import atomic_write
from tests.conftest import SAMPLES

ERRORS = SAMPLES / "10-mohs-coding-errors.837"  # seeded findings, see samples/README.md


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def umask():
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_new_files_get_the_mode_the_umask_gives(tmp_path: Path, umask, mask: int, expected: int) -> None:
    umask(mask)
    atomic_write(tmp_path / "report.html", b"<html></html>")
    assert mode(tmp_path / "report.html") == expected
    code, _, _ = run(
        "fix", str(ERRORS), "-o", str(tmp_path / "outbox"), "--format", "json", "--report", str(tmp_path / "fixes.json")
    )
    assert code in (0, 1)
    assert mode(tmp_path / "outbox" / ERRORS.name) == expected  # streamed to its target
    assert mode(tmp_path / "fixes.json") == expected


def test_in_place_keeps_mode_and_writes_through_a_symlink(tmp_path: Path, umask) -> None:
    umask(0o077)  # would give 0600 to a new file
    real = tmp_path / "real" / "claims.837"
    real.parent.mkdir()
    shutil.copy(ERRORS, real)
    real.chmod(0o664)
    link = tmp_path / "claims.837"
    link.symlink_to(real)
    code, _, _ = run("fix", str(link), "--in-place", "--format", "json")
    assert code in (0, 1)
    assert link.is_symlink() and link.resolve() == real.resolve()  # the link is still a link
    assert real.read_bytes() != ERRORS.read_bytes()  # its target was fixed
    assert mode(real) == 0o664
    assert sorted(p.name for p in real.parent.iterdir()) == ["claims.837"]  # no temporary left behind


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="giving a file away needs root")
def test_in_place_keeps_the_owner(tmp_path: Path) -> None:
    copy = tmp_path / "claims.837"
    shutil.copy(ERRORS, copy)
    os.chown(copy, 4321, 4322)
    run("fix", str(copy), "--in-place", "--format", "json")
    assert (copy.stat().st_uid, copy.stat().st_gid) == (4321, 4322)
    assert copy.read_bytes() != ERRORS.read_bytes()


def test_table_lines_fit_the_width_and_wrap_long_messages(tmp_path: Path) -> None:
    from mohsedi.pipeline import run_check
    from mohsedi.rules.context import RuleOptions
    from mohsedi.rules.registry import all_rules

    reports = run_check([str(ERRORS)], all_rules(), RuleOptions())
    wide = report_table(reports, color=False, fixing=False)
    assert max(len(line) for line in wide.splitlines()) > 100  # the messages are long
    narrow = report_table(reports, color=False, fixing=False, width=80)
    body = [line for line in narrow.splitlines() if line.startswith("    ")]
    assert body and all(len(line) <= 80 for line in body)
    # every word of every message is still there, in order
    assert " ".join(wide.split()) == " ".join(narrow.split())
    assert fit("ab ", "x" * 10, 80) == ["ab " + "x" * 10]


def test_report_columns_grow_instead_of_colliding() -> None:
    data = {
        "period": {"since": None, "until": None},
        "totals": {"billed": "1", "paid": "0", "denied": "1", "denial_rate": "100%", "denials": 1, "claims": 1},
        "by_rule": [{"rule": "MOHS001", "count": 1, "amount": "1.00"}],
        "by_payer": [{"payer": "A-VERY-LONG-PAYER-ID-1234", "count": 1, "amount": "1.00"}],
        "by_procedure": [],
        "by_carc": [],
        "by_rarc": [],
        "unexplained": [],
        "fired_sent_anyway": [],
        "fixed_still_denied": [],
        "denials": [],
    }
    text = denials_table(data)
    row = next(line for line in text.splitlines() if "A-VERY-LONG" in line)
    assert row.split() == ["A-VERY-LONG-PAYER-ID-1234", "1", "1.00"]  # the long id did not run into the count
    cut = denials_table({**data, "by_rule": [{"rule": "R" * 100, "count": 1, "amount": "1.00"}]}, width=60)
    assert all(len(line) <= 60 for line in cut.splitlines()[2:])
    assert "\u2026" in cut


def test_no_color_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    from mohsedi.cli import common

    monkeypatch.setattr(common, "on_terminal", lambda chosen, output: True)
    assert common.use_color("table", None)
    monkeypatch.setenv("NO_COLOR", "1")
    assert not common.use_color("table", None)


def test_statistics_count_findings_per_rule() -> None:
    code, out, _ = run("check", str(ERRORS), "--statistics", "--format", "json")
    assert code == 1
    rows = {r["rule"]: r["count"] for r in json.loads(out)}
    _, full, _ = run("check", str(ERRORS), "--format", "json")
    findings = json.loads(full)["files"][0]["findings"]
    assert rows == {rule: sum(1 for f in findings if f["rule"] == rule) for rule in {f["rule"] for f in findings}}
    assert rows["MOHS005"] == 2  # lines 1 and 2 of MOHS-0101
    _, table, _ = run("check", str(ERRORS), "--statistics", "--format", "table")
    assert table.splitlines()[0].split()[:2] == ["2", "MOHS005"]


def test_baseline_silences_a_claim_and_rule_not_the_rule(tmp_path: Path) -> None:
    base = tmp_path / "accepted.json"
    code, out, _ = run("check", str(ERRORS), "--select", "MOHS005,MOHS004", "--write-baseline", str(base))
    assert code == 0 and "wrote" in out
    data = json.loads(base.read_text())
    accepted = {(a["claim"], a["rule"]) for a in data["accepted"]}
    assert {("MOHS-0101", "MOHS005"), ("MOHS-0105", "MOHS004")} <= accepted
    assert next(a["findings"] for a in data["accepted"] if a["claim"] == "MOHS-0101") == 2  # its lines 1 and 2
    # keep only MOHS-0101's acceptance: MOHS004 on MOHS-0105 comes back
    data["accepted"] = [a for a in data["accepted"] if a["claim"] == "MOHS-0101"]
    base.write_text(json.dumps(data))
    code, out, _ = run("check", str(ERRORS), "--baseline", str(base), "--format", "json")
    found = {(f["claim"], f["rule"]) for f in json.loads(out)["files"][0]["findings"]}
    assert ("MOHS-0101", "MOHS005") not in found
    assert ("MOHS-0105", "MOHS004") in found and code == 1
    # the same rule on another claim is still reported
    other = tmp_path / "other.837"
    other.write_bytes(ERRORS.read_bytes().replace(b"MOHS-0101", b"MOHS-0999"))
    _, out, _ = run("check", str(other), "--baseline", str(base), "--select", "MOHS005", "--format", "json")
    found = {(f["claim"], f["rule"]) for f in json.loads(out)["files"][0]["findings"]}
    assert ("MOHS-0999", "MOHS005") in found and not any(claim == "MOHS-0101" for claim, _ in found)
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    code, _, err = run("check", str(ERRORS), "--baseline", str(bad))
    assert code == 2 and "not a baseline" in err


def test_a_directory_means_its_837p_files(tmp_path: Path) -> None:
    for name in ("10-mohs-coding-errors.837", "13-mue-errors.837", "01-mohs-paid.835", "README.md"):
        shutil.copy(SAMPLES / name, tmp_path / name.replace(".837", ".x12"))
    assert transaction_kind(tmp_path / "01-mohs-paid.835") == "835"
    assert transaction_kind(tmp_path / "README.md") is None
    assert [Path(p).name for p in expand([str(tmp_path)], "837")] == [
        "10-mohs-coding-errors.x12",
        "13-mue-errors.x12",
    ]
    code, out, _ = run("check", str(tmp_path), "--format", "json")
    assert [Path(f["path"]).name for f in json.loads(out)["files"]] == [
        "10-mohs-coding-errors.x12",
        "13-mue-errors.x12",
    ]
    assert [Path(p).name for p in expand([str(tmp_path)], "835")] == ["01-mohs-paid.835"]


def test_dash_reads_standard_input() -> None:
    code, out, _ = run("check", "-", "--format", "json", input=ERRORS.read_bytes())
    from_stdin = json.loads(out)["files"][0]
    _, out, _ = run("check", str(ERRORS), "--format", "json")
    from_file = json.loads(out)["files"][0]
    assert from_stdin["path"] == "-" and code == 1
    assert from_stdin["findings"] == from_file["findings"]
    for command in (["fix", "-", "-o", "outbox"], ["record", "-"], ["ingest", "-"]):
        code, _, err = run(*command)
        assert code == 2 and "standard input" in err, command


def test_progress_follows_bytes_within_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A streamed check reports bytes as it reads, so one large file moves the bar."""
    from mohsedi.pipeline import run_check
    from mohsedi.rules.context import RuleOptions
    from mohsedi.rules.registry import all_rules
    from mohsedi.run import stream
    from mohsedi.run.ranges import read_range

    # the sample read as a large file is: in many pieces
    monkeypatch.setattr(stream, "read_range", lambda path, byte_range: read_range(path, byte_range, 1024))
    seen: list[int] = []
    done: list[str] = []
    run_check([str(ERRORS)], all_rules(), RuleOptions(), progress=done.append, bytes_read=seen.append)
    assert len(seen) > 3 and sum(seen) == ERRORS.stat().st_size
    assert done == [str(ERRORS)]
    progress = Progress([str(ERRORS)])  # not a terminal: no bar, and the calls are harmless
    progress.bytes_read(10)
    progress.file_done(str(ERRORS))
    progress.close()


@pytest.mark.parametrize("fmt", ["csv", "table", "json"])
def test_a_report_file_keeps_a_claim_number_that_is_not_utf8(tmp_path: Path, fmt: str) -> None:
    """A CLM01 with a byte that is not UTF-8 is read losslessly; a report written to a file
    carries it (the byte as read for CSV and table, escaped in JSON) instead of crashing."""
    bad = tmp_path / "bad.837"
    bad.write_bytes(ERRORS.read_bytes().replace(b"CLM*MOHS-0101*", b"CLM*MOHS\x80-0101*"))
    out = tmp_path / f"report.{fmt}"
    result = CliRunner().invoke(cli, ["check", str(bad), "--format", fmt, "-o", str(out), "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    written = out.read_bytes()
    if fmt == "json":
        assert any(f["claim"] == "MOHS\udc80-0101" for f in json.loads(written)["files"][0]["findings"])
    else:
        assert b"MOHS\x80-0101" in written
