"""Guide validation (--tr3) against pyx12's own verdict, 999s, and partial acceptance in fix."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.guide.ack import acknowledge, plain_999
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.x12 import parse_segments
from tests.conftest import SAMPLES, corpus_params, file_id
from tests.engine import check_files

FILES = [pytest.param(p, id=file_id(p)) for p in sorted(SAMPLES.glob("*.837"))] + corpus_params("837p")


def pyx12_valid(path: Path) -> bool:
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    return bool(pyx12.x12n_document.x12n_document(pyx12.params.params(), str(path), None, None))


@pytest.mark.parametrize("path", FILES)
def test_tr3_agrees_with_pyx12(path: Path) -> None:
    [report] = check_files([str(path)], all_rules(), RuleOptions(tr3=True))
    guide = [f for f in report.findings if f.rule.startswith("TR3") or f.rule == "X12001"]
    assert (not guide) == pyx12_valid(path), [f.message for f in guide]


def test_tr3_findings_name_segment_loop_and_code(tmp_path: Path) -> None:
    text = (SAMPLES / "01-mohs-clean.837").read_text().replace("DMG*D8*19480312", "DMG*D8*1948031X", 1)
    path = tmp_path / "bad.837"
    path.write_text(text)
    [report] = check_files([str(path)], all_rules(), RuleOptions(tr3=True))
    [finding] = [f for f in report.findings if f.rule == "TR3002"]
    assert "DMG02" in finding.message and "/2010BA/DMG" in finding.message and "error 8" in finding.message
    assert finding.segment is not None and finding.claim is None  # the subscriber loop, before any claim
    assert not [f for f in check_files([str(path)], all_rules(), RuleOptions())[0].findings if f.rule == "TR3002"]


def test_ack_writes_pyx12s_999(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["ack", str(SAMPLES / "10-mohs-coding-errors.837"), "-o", str(tmp_path)])
    assert result.exit_code == 0 and "(pyx12)" in result.output
    ack = (tmp_path / "10-mohs-coding-errors.837.999").read_text()
    ids = [s.id for s in parse_segments(ack)]
    assert ids[:4] == ["ISA", "GS", "ST", "AK1"] and "AK9" in ids and ids[-1] == "IEA"
    assert "IK5*A" in ack


def test_ack_falls_back_when_pyx12_cannot_write_one() -> None:
    # An 835 with ST03 makes pyx12 fail inside its 999 writer (a KeyError it logs and swallows).
    text = (SAMPLES / "01-mohs-paid.835").read_text().replace("ST*835*0001~", "ST*835*0001*005010X221A1~", 1)
    ack, writer = acknowledge(text)
    assert writer == "mohsedi"
    ids = [s.id for s in parse_segments(ack)]
    assert ids == ["ISA", "GS", "ST", "AK1", "AK2", "IK5", "AK9", "SE", "GE", "IEA"]
    assert "AK9*A*1*1*1" in ack


def test_plain_999_rejects_unreadable_sets() -> None:
    text = (SAMPLES / "01-mohs-clean.837").read_text()
    broken = text.replace("\nSE*", "\nXX*", 1)  # the set never ends
    ack = plain_999(broken)
    assert "IK5*R*5" in ack and "AK9*R*1*1*0" in ack


def two_sets_one_broken() -> str:
    text = (SAMPLES / "11-same-day-errors.837").read_text()
    start, end = text.index("ST*"), text.index("GE*")
    body = text[start:end]
    broken = body.replace("ST*837*0001", "ST*837*0002").replace("HL*1**20*1", "ZZZ*1~HL*1**20*1", 1)
    return text[:start] + body + broken.replace("*0001~\n", "*0002~\n") + text[end:].replace("GE*1*", "GE*2*", 1)


def test_fixed_file_never_carries_a_set_that_failed(tmp_path: Path) -> None:
    path = tmp_path / "mixed.837"
    path.write_text(two_sets_one_broken())
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["fix", str(path), "-o", str(out), "--unsafe-fixes", "--format", "json"])
    assert result.exit_code == 2  # part of the input could not be read
    data = json.loads(result.output[result.output.index("{") :])
    entry = data["files"][0]
    assert entry["errors"] and "ZZZ" in entry["errors"][0]
    assert any("left out of the fixed file" in n for n in entry["notices"])
    fixed = (out / "mixed.837").read_text()
    assert fixed.count("ST*837*") == 1 and "ZZZ" not in fixed and "GE*1*" in fixed
    assert pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(fixed), None, None)


# Independent of pyx12's verdict on whole files: each case breaks one element or segment of the
# clean sample, and the expected finding (rule, X12 999 error code, element, loop, claim, line)
# is written from the 005010X222A1 guide and the 999's IK304/IK403 code lists, not from a run.
BREAKS = [
    # IK403 7 invalid code value: DMG03 gender is F, M or U.
    ("DMG*D8*19480312*F~", "DMG*D8*19480312*Q~", ("TR3002", "7", "DMG03", "/2010BA/DMG", None, None)),
    # IK403 7: NM108 of the billing provider is XX (NPI) only.
    (
        "NM1*85*2*SYNTHETIC DERMATOLOGY AND MOHS PA*****XX*",
        "NM1*85*2*SYNTHETIC DERMATOLOGY AND MOHS PA*****ZZ*",
        ("TR3002", "7", "NM108", "/2010AA/NM1", None, None),
    ),
    # IK403 5 data element too long: N402 state code is ID 2/2.
    (
        "N4*SPRINGFIELD*IL*627010000~",
        "N4*SPRINGFIELD*ILL*627010000~",
        ("TR3002", "5", "N402", "/2010AA/N4", None, None),
    ),
    # IK403 6 invalid character: SV104 units is R (numeric).
    (
        "SV1*HC:17311*742.8*UN*1***1~",
        "SV1*HC:17311*742.8*UN*1A***1~",
        ("TR3002", "6", "SV104", "/2400/SV1", "MOHS-0001", 1),
    ),
    # IK403 8 invalid date: DTP03 of the first service line (the path names the qualifier, 472).
    ("DTP*472*D8*20261006~", "DTP*472*D8*20261341~", ("TR3002", "8", "DTP03", "/2400/DTP[472]", "MOHS-0001", 1)),
    # IK304 5 segment exceeds maximum use: 2300 REF*X4 (CLIA) is used once.
    (
        "REF*X4*05D0987654~",
        "REF*X4*05D0987654~\nREF*X4*05D0987654~",
        ("TR3001", "5", "REF", "/2300/REF[X4]", "MOHS-0001", None),
    ),
]


@pytest.mark.parametrize(("old", "new", "expected"), BREAKS, ids=[b[2][2] + "-" + b[2][1] for b in BREAKS])
def test_one_broken_element_gives_its_tr3_finding(tmp_path: Path, old: str, new: str, expected: tuple) -> None:
    rule, code, element, loop, claim, line = expected
    text = (SAMPLES / "01-mohs-clean.837").read_text()
    assert old in text
    path = tmp_path / "broken.837"
    path.write_text(text.replace(old, new, 1))
    [report] = check_files([str(path)], all_rules(), RuleOptions(tr3=True))
    guide = [f for f in report.findings if f.rule.startswith("TR3")]
    assert len(guide) == 1, [f.message for f in guide]
    [finding] = guide
    assert finding.rule == rule
    assert f"error {code}:" in finding.message
    assert f"[{element} at " in finding.message and f"{loop}]" in finding.message, finding.message
    assert (finding.claim, finding.line) == (claim, line)
    # The clean sample itself has no TR3 finding: the break alone is what is reported.
    [clean] = check_files([str(SAMPLES / "01-mohs-clean.837")], all_rules(), RuleOptions(tr3=True))
    assert not [f for f in clean.findings if f.rule.startswith("TR3")]
