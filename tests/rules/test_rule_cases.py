"""Every rule's pass, fail and fix cases from tests/rules/cases/*.toml."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mohsedi.codes.ncci import SHIPPED_RELEASE, AddOnEdit, MueEdit, shipped_edits
from mohsedi.policy.caselog import parse_case_log
from mohsedi.policy.payers import parse_policy
from mohsedi.rules.base import FixSafety
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from tests.engine import check_files, fix_files, fixed_text
from tests.rules.harness import Case, load_cases

CASES = load_cases()


def options_for(case: Case) -> RuleOptions:
    """Case options; `addons = [[addon, primary], ...]` adds add-on edits to the shipped data,
    `mue = [[code, units, mai], ...]` replaces MUE rows; `case_log` and `policy` are the files' text."""
    opts = dict(case.options)
    if "today" in opts:
        opts["today"] = date.fromisoformat(opts["today"])
    if "case_log" in opts:
        opts["case_log"] = parse_case_log(opts["case_log"], "case-log.csv")
    if "policy" in opts:
        opts["policy"] = parse_policy(opts["policy"], "policy.toml")
    if "original_claim_numbers" in opts:  # {CLM01 = CLP07}: what a store would know of the originals
        known = opts.pop("original_claim_numbers")
        opts["original_claim_number"] = lambda claim: known.get(claim.patient_control_number)
    extra_addons = opts.pop("addons", None)
    extra_mue = opts.pop("mue", None)
    if extra_addons or extra_mue:
        data = shipped_edits().copy()
        for addon, primary in extra_addons or []:
            data.addons[addon] = [*data.addons.get(addon, []), AddOnEdit(addon, primary, "1", SHIPPED_RELEASE)]
        for code, units, mai in extra_mue or []:
            data.mue[code] = [MueEdit(code, int(units), str(mai), "test", SHIPPED_RELEASE)]
        opts["edits"] = data
    return RuleOptions(**opts)


def write(tmp_path: Path, case: Case) -> str:
    path = tmp_path / "case.837"
    path.write_text(case.text())
    return str(path)


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in ("pass", "fail")], ids=lambda c: c.id)
def test_check_case(case: Case, tmp_path: Path) -> None:
    path = write(tmp_path, case)
    [report] = check_files([path], all_rules(), options_for(case))
    assert report.error is None and not report.quarantined
    mine = [f for f in report.findings if f.rule == case.rule]

    def expected(e: dict) -> tuple:
        # TOML has no null: "" stands for a claim- or envelope-level finding.
        return (e.get("claim", "C1") or None, e.get("line") or None)

    got = [(f.claim, f.line) for f in mine]
    if case.kind == "pass":
        assert got == [], [f.message for f in mine]
    else:
        assert sorted(got, key=str) == sorted((expected(e) for e in case.expect), key=str), [f.message for f in mine]
        for e, f in zip(
            sorted(case.expect, key=lambda e: str(expected(e))),
            sorted(mine, key=lambda f: str((f.claim, f.line))),
            strict=False,
        ):
            if "fix" in e:
                assert f.fix_safety == FixSafety(e["fix"])
            if "contains" in e:
                assert e["contains"] in f.message
    for code in case.absent:
        assert not [f for f in report.findings if f.rule == code], f"{code} should stay silent"


@pytest.mark.parametrize("case", [c for c in CASES if c.kind == "fix"], ids=lambda c: c.id)
def test_fix_case(case: Case, tmp_path: Path) -> None:
    path = write(tmp_path, case)
    options = options_for(case)
    [report] = fix_files([path], all_rules(), options, unsafe=case.unsafe)
    assert report.error is None and not report.quarantined
    assert any(a.rule == case.rule for a in report.applied), report.applied
    # The whole fixed file, envelope included, is the expected one, byte for byte.
    fixed = fixed_text(report)
    assert fixed == case.fixed_text()
    # Checked again from what was written, the file is clean of the rule ...
    fixed_path = tmp_path / "fixed.837"
    fixed_path.write_text(fixed)
    [recheck] = check_files([str(fixed_path)], all_rules(), options)
    assert not [f.message for f in recheck.findings if f.rule == case.rule], "the fix left the finding"
    # ... and a second fix changes nothing.
    [again] = fix_files([str(fixed_path)], all_rules(), options, unsafe=case.unsafe)
    assert again.applied == [] and fixed_text(again) == fixed


@pytest.mark.parametrize("case", [c for c in CASES if c.kind in ("pass", "fail")], ids=lambda c: c.id)
def test_case_without_a_fix_comes_out_byte_identical(case: Case, tmp_path: Path) -> None:
    """A pass or fail case names no fix, so fixing (unsafe fixes too) must not touch a byte.

    A case that other rules' fixes would change (its point is a finding, not a clean claim)
    says so with `changes = true`, and only the case's own rule is held to leaving it alone."""
    path = write(tmp_path, case)
    [report] = fix_files([path], all_rules(), options_for(case), unsafe=True)
    if report.error is not None or report.quarantined:
        return  # an unreadable case is never written (test_check_case says what it reports)
    own = [a for a in report.applied if a.rule == case.rule]
    if case.kind == "fail":
        fixable = {e.get("fix") for e in case.expect} & {"safe", "unsafe"}
        if fixable or own:
            assert own, "the expected fix was not applied"
            return  # its fix is a fix case's to show
    assert own == []
    if case.changes:
        assert report.applied, "`changes = true`, yet no fix applies: drop the flag"
    elif report.output is None:  # no file written (a file cut short): nothing was changed either
        assert report.applied == [] and any("no fixed file was written" in n for n in report.notices)
    else:
        assert report.applied == [] and fixed_text(report) == case.text(), [a.description for a in report.applied]
