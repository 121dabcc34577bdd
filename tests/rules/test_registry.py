"""The catalog: stable well-formed codes, every rule documented and tested, predictions real."""

from __future__ import annotations

from collections import defaultdict

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from mohsedi.codes.lists import carc_status, group_codes_835, rarc_status
from mohsedi.rules.base import Docs, FixSafety, Scope, Severity
from mohsedi.rules.registry import FAMILIES, all_rules, select_rules
from mohsedi.rules.registry import RULES as REGISTERED
from mohsedi.rules.registry import rule as declare_rule
from tests.rules.harness import load_cases

RULES = all_rules()
CASE_KINDS: dict[str, set[str]] = defaultdict(set)
for _case in load_cases():
    CASE_KINDS[_case.rule].add(_case.kind)


def test_the_catalog_holds_the_spec_families() -> None:
    codes = {r.code for r in RULES}
    assert {f"X12{n:03d}" for n in range(1, 6)} <= codes
    assert {f"MOHS{n:03d}" for n in range(1, 19)} <= codes
    assert [r.code for r in RULES] == sorted(codes, key=lambda c: (FAMILIES.index(c[:-3]), c))


def _declare(code: str):
    return declare_rule(
        code,
        "test-only",
        "Test only",
        severity=Severity.ERROR,
        fix=FixSafety.NONE,
        scope=Scope.CLAIM,
        docs=Docs("w", "w", "e", "none: f"),
    )(lambda _this, _ctx: iter(()))


def test_a_code_is_registered_once_and_well_formed() -> None:
    """Uniqueness and form are enforced when a rule is declared: show that they are."""
    before = dict(REGISTERED)
    with pytest.raises(ValueError, match="registered twice"):
        _declare("MOHS004")
    for bad in ("MOHS04", "MOHS0004", "mohs004", "FOO001", "MOHS004A"):
        with pytest.raises(ValueError, match="not of the form"):
            _declare(bad)
    assert before == REGISTERED
    assert REGISTERED["MOHS004"].name != "test-only"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_has_pass_fail_and_fix_cases(rule) -> None:
    kinds = CASE_KINDS[rule.code]
    assert {"pass", "fail"} <= kinds, f"{rule.code} needs pass and fail cases"
    if rule.fix_safety in (FixSafety.SAFE, FixSafety.UNSAFE):
        assert "fix" in kinds, f"{rule.code} is fixable and needs a fix case"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_predicted_codes_are_current(rule) -> None:
    for p in rule.predicts:
        assert p.group in group_codes_835()
        for carc in p.carcs:
            assert carc_status().get(carc) == "current", f"CARC {carc}"
        for rarc in p.rarcs:
            assert rarc_status().get(rarc) == "current", f"RARC {rarc}"


def test_suppressed_codes_name_other_registered_rules() -> None:
    registered = {r.code for r in RULES}
    for r in RULES:
        for code in r.suppresses:
            assert code in registered, f"{r.code} suppresses {code}, which is not a rule"
            assert code != r.code, f"{r.code} suppresses itself"


def test_select_and_ignore_by_prefix() -> None:
    assert {r.code for r in select_rules(["MOHS01"], ["MOHS015"])} == {f"MOHS01{n}" for n in range(0, 9) if n != 5}
    with pytest.raises(KeyError):
        select_rules(["NOPE"])


def test_explain_shows_every_section_and_unverified_sources() -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["rules", "explain", "MOHS013"])
    assert result.exit_code == 0
    for heading in ("What it checks", "Why it matters", "Example", "Fix safety", "References"):
        assert heading in result.output
    assert "UNVERIFIED" in result.output
    verified = runner.invoke(cli, ["rules", "explain", "mohs005"])
    assert "UNVERIFIED" not in verified.output
    assert runner.invoke(cli, ["rules", "explain", "MOHS999"]).exit_code == 2


def test_every_predicted_code_has_a_short_title() -> None:
    from mohsedi.codes.lists import title

    for rule in RULES:
        for p in rule.predicts:
            assert title("group", p.group), p.group
            for carc in p.carcs:
                assert title("carc", carc), f"{rule.code}: CARC {carc}"
            for rarc in p.rarcs:
                assert title("rarc", rarc), f"{rule.code}: RARC {rarc}"


def test_required_codes_never_hide_a_finding() -> None:
    """`requires` only skips work: stripping it gives the same findings on every sample and case."""
    import dataclasses
    import random

    from mohsedi import synth
    from mohsedi.rules.context import RuleOptions
    from mohsedi.rules.engine import check_documents, load_document
    from tests.conftest import SAMPLES
    from tests.rules.harness import wrap

    docs = [load_document(str(p)) for p in sorted(SAMPLES.glob("*.837"))]
    docs += [load_document(f"case-{i}", wrap(c.claims, c.envelope)) for i, c in enumerate(load_cases())]
    rng = random.Random(3)
    docs.append(load_document("random", synth.build_837p([synth.random_mohs_claim(rng, n) for n in range(200)])))
    stripped = [dataclasses.replace(r, requires=()) for r in RULES]

    def keys(rules):
        return sorted(
            (loc.doc, loc.finding.rule, loc.finding.claim, loc.finding.line)
            for loc in check_documents(docs, rules, RuleOptions())
        )

    assert keys(RULES) == keys(stripped)


def test_short_titles_file_is_well_formed() -> None:
    import csv
    from importlib import resources

    text = resources.files("mohsedi.data").joinpath("codes", "titles.csv").read_text()
    rows = list(csv.reader(text.splitlines()))
    assert all(len(r) == 3 for r in rows), [r for r in rows if len(r) != 3]
