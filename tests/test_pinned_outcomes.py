"""The outcomes of check and fix on a finding-heavy batch, pinned: findings, their labels, the
fixes applied and the fixed bytes.

Speed work on the rules and the engine must change none of these. The expectation
(tests/fixtures/heavy/expected.json) was computed before that work, from the committed input
tests/fixtures/heavy/heavy.837 (made by make_heavy.py there: every claim has a finding, some
patients' days reach across transaction sets) and the samples. When a rule is changed on
purpose, regenerate it with ``MOHSEDI_PIN_WRITE=1 pytest tests/test_pinned_outcomes.py`` and say
why in the commit.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from tests.conftest import SAMPLES

HERE = Path(__file__).resolve().parent / "fixtures" / "heavy"
HEAVY = HERE / "heavy.837"
EXPECTED = HERE / "expected.json"
CLIA = "05D0987654"

FINDING_KEYS = ("rule", "severity", "claim", "line", "line_id", "message", "fix", "fix_description", "segment")


def _inputs() -> list[Path]:
    return [HEAVY, *sorted(SAMPLES.glob("*.837"))]


SCENARIOS: dict[str, list[str]] = {
    "check": ["check"],
    "check-clia": ["check", "--clia", CLIA],
    "check-policy": ["check", "--policy", str(SAMPLES / "policy.toml"), "--case-log", str(SAMPLES / "case-log.csv")],
    "fix-clia": ["fix", "--clia", CLIA],
    "fix-unsafe": [
        "fix",
        "--unsafe-fixes",
        "--policy",
        str(SAMPLES / "policy.toml"),
        "--case-log",
        str(SAMPLES / "case-log.csv"),
    ],
}


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:24]


def _outcome(name: str, tmp_path: Path) -> dict:
    """Per input file: findings counted by rule and label, and digests of the findings, the fixes
    applied and the fixed bytes."""
    args = list(SCENARIOS[name])
    out_dir = tmp_path / name
    if args[0] == "fix":
        out_dir.mkdir()
        args += ["-o", str(out_dir)]
    args += ["--format", "json", "--fail-on", "never", *map(str, _inputs())]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    files: dict[str, dict] = {}
    for f in report["files"]:
        path = Path(f["path"])
        findings = sorted(
            (json.dumps([x.get(k) for k in FINDING_KEYS]) for x in f["findings"]),
        )
        entry: dict = {
            "counts": dict(sorted(Counter(f"{x['rule']}:{x['fix']}" for x in f["findings"]).items())),
            "findings": _digest(findings),
        }
        if args[0] == "fix":
            applied = sorted(
                json.dumps([a.get(k) for k in ("rule", "claim", "line", "description")]) for a in f["applied"]
            )
            entry["applied"] = len(applied)
            entry["applied_digest"] = _digest(applied)
            entry["fixed"] = hashlib.sha256((out_dir / path.name).read_bytes()).hexdigest()[:24]
        files[path.name] = entry
    return files


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_outcomes_are_pinned(name: str, tmp_path: Path) -> None:
    actual = _outcome(name, tmp_path)
    expected_all = json.loads(EXPECTED.read_text()) if EXPECTED.exists() else {}
    if os.environ.get("MOHSEDI_PIN_WRITE"):
        expected_all[name] = actual
        EXPECTED.write_text(json.dumps(expected_all, indent=1, sort_keys=True) + "\n")
        pytest.skip("expected outcomes written")
    expected = expected_all[name]
    assert sorted(actual) == sorted(expected)
    for file_name, want in expected.items():
        got = actual[file_name]
        # The counts first: a difference there says which rule and label moved.
        assert got["counts"] == want["counts"], file_name
        assert got == want, file_name


def test_heavy_input_is_finding_heavy_and_reaches_across_sets(tmp_path: Path) -> None:
    """What makes the pin mean something: findings on every claim, several sets, and a day rule
    that fires on a claim whose day has lines in another set."""
    text = HEAVY.read_text()
    assert text.count("\nST*837*") == 4
    result = CliRunner().invoke(cli, ["check", str(HEAVY), "--format", "json", "--fail-on", "never"])
    report = json.loads(result.stdout)
    (file_report,) = report["files"]
    with_findings = {x["claim"] for x in file_report["findings"] if x["claim"]}
    assert len(with_findings) == file_report["claims"] == 160
    assert any(x["rule"] == "NCCI003" and x["claim"].endswith("B") for x in file_report["findings"])
