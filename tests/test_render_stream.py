"""The findings report written a piece at a time (docs/contract.md: check/fix --format json).

The JSON is one valid document with the contract's keys whatever the number of files and
findings; a rule's predictions are looked up once per rule, not per finding; a report written
to a file is complete or not there at all."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from mohsedi.cli import render
from mohsedi.errors import X12Error
from mohsedi.rules.engine import Applied
from mohsedi.rules.registry import get_rule
from mohsedi.run.report import FileReport

FINDING_KEYS = {"rule", "severity", "claim", "line", "line_id", "message", "fix", "predicts"}


def _reports(findings: int = 3) -> list[FileReport]:
    mohs = get_rule("MOHS004")
    x12 = get_rule("X12002")
    made = [
        (mohs if n % 2 else x12).finding(f'message {n} with "quotes" and \u00e9', claim=f"C{n}", line=n or None)
        for n in range(findings)
    ]
    first = FileReport("a.837", claims=findings, findings=made, notices=["a note"])
    first.applied = [Applied("X12002", "C0", None, "set CLM02 to 10", "a.837")]
    first.output = "out/a.837"
    second = FileReport("b.837", error=X12Error("not X12", source="b.837"))
    third = FileReport("c.837", claims=1, quarantined=[X12Error("no SE", source="c.837", segment=4)])
    return [first, second, third]


def _json(reports: list[FileReport], *, fixing: bool) -> dict:
    pieces: list[str] = []
    render.write_json(reports, pieces.append, fixing=fixing)
    assert len(pieces) > len(reports)  # written in pieces, not as one string
    return json.loads("".join(pieces))


@pytest.mark.parametrize("fixing", [False, True])
def test_the_json_is_one_document_with_the_contract_keys(fixing: bool) -> None:
    data = _json(_reports(), fixing=fixing)
    assert set(data) >= {"files", "notices", "summary"}
    a, b, c = data["files"]
    assert [f["path"] for f in data["files"]] == ["a.837", "b.837", "c.837"]
    assert a["claims"] == 3 and a["notices"] == ["a note"] and a["errors"] == []
    assert [set(f) >= FINDING_KEYS for f in a["findings"]] == [True] * 3
    assert a["findings"][1] == {
        **a["findings"][1],
        "rule": "MOHS004",
        "severity": get_rule("MOHS004").severity.value,
        "claim": "C1",
        "line": 1,
        "line_id": None,
        "message": 'message 1 with "quotes" and \u00e9',
        "predicts": get_rule("MOHS004").predictions_json(),
    }
    assert a["findings"][0]["line"] is None and a["findings"][0]["rule"] == "X12002"
    assert b["errors"] == ["b.837: not X12"] and b["findings"] == []
    assert c["errors"] and "no SE" in c["errors"][0]
    assert data["summary"]["files"] == 3 and data["summary"]["unreadable"] == 2
    if fixing:
        assert a["output"] == "out/a.837" and b["output"] is None
        assert a["applied"] == [{"rule": "X12002", "claim": "C0", "line": None, "description": "set CLM02 to 10"}]
        assert b["applied"] == []
    else:
        assert "output" not in a and "applied" not in a


def test_no_files_is_still_a_document() -> None:
    assert _json([], fixing=True) == {
        "files": [],
        "notices": [],
        "summary": {
            "files": 0,
            "claims": 0,
            "errors": 0,
            "warnings": 0,
            "info": 0,
            "fixes_applied": 0,
            "unreadable": 0,
        },
    }


def test_a_rule_is_looked_up_once_per_run_not_per_finding(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def counting(code: str):
        asked.append(code)
        return get_rule(code)

    monkeypatch.setattr(render, "get_rule", counting)
    data = _json(_reports(500), fixing=False)
    assert len(data["files"][0]["findings"]) == 500
    assert sorted(asked) == ["MOHS004", "X12002"]


def test_csv_and_table_carry_every_finding() -> None:
    reports = _reports(4)
    pieces: list[str] = []
    render.write_reports(reports, "csv", pieces.append, color=False, fixing=False)
    rows = list(csv.reader(io.StringIO("".join(pieces))))
    assert rows[0][:5] == ["path", "claim", "line", "line_id", "rule"]
    assert [r[1] for r in rows[1:] if r[0] == "a.837"] == ["C0", "C1", "C2", "C3"]
    assert [r[0] for r in rows[1:] if r[0] != "a.837"] == ["b.837", "c.837"]  # the unreadable file and set
    text = render.render_reports(reports, "table", color=False, fixing=True)
    assert text.count("message ") == 4 and "a.837: 4 claims -> out/a.837" in text
    assert text.rstrip().endswith("1 fix(es) applied, 2 unreadable file(s) or transaction set(s)")


def test_a_report_file_is_whole_or_absent(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    with pytest.raises(RuntimeError), render.to_output(str(target)) as write:
        write("{" * (1 << 17))  # past one block: some of it was handed on
        raise RuntimeError("stopped midway")
    assert not target.exists() and list(tmp_path.iterdir()) == []
    with render.to_output(str(target)) as write:
        render.write_json(_reports(), write, fixing=False)
    assert json.loads(target.read_text())["summary"]["files"] == 3
