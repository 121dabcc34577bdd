"""Payer policy file, Mohs case log, stage arithmetic, and the check/fix flow that uses them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi.cli.main import cli
from mohsedi.policy.caselog import (
    COLUMNS,
    HEAD_SITES,
    SITE_FAMILY,
    TRUNK_SITES,
    Stage,
    Tumor,
    expected_units,
    parse_case_log,
)
from mohsedi.policy.payers import MEDICARE_DEFAULTS, TABLES, PolicyError, parse_policy
from tests.conftest import ROOT, SAMPLES

HEADER = ",".join(COLUMNS)


# ---------------------------------------------------------------- policy


def test_policy_groups_payers_and_defaults() -> None:
    policy = parse_policy((SAMPLES / "policy.toml").read_text(), "policy.toml")
    commercial = policy.for_payer("SYNCOMM")
    assert commercial.distinct_modifier == "59" and commercial.prior_auth == {"17311", "17313"}
    assert commercial.timely_filing_days == 180 and commercial.repair_modifier
    assert policy.for_payer("SMEDC").distinct_modifier == "XS"
    assert policy.for_payer("UNLISTED") == MEDICARE_DEFAULTS
    assert policy.clia_for("1306849450") == "05D0987654" and policy.clia_for("1111111111") is None


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[payers.X]\ndistinct_modifier = "51"\n', "line 2: payer X: distinct_modifier is '51'"),
        ("[payers.X]\n\ntimely_filing_days = -3\n", "line 3: payer X: timely_filing_days"),
        ('[groups.g]\nprior_auth = "17311"\n', "line 2: group g: prior_auth must be a list"),
        ('[payers.X]\ngroup = "nope"\n', "line 2: payer X: group 'nope' is not defined"),
        ("[payers.X]\ncolour = 1\n", "line 2: payer X: colour is not a setting"),
        ('[[practice]]\nclia = "12345"\n', "line 2: practice clia '12345'"),
        ("[payers.X\n", "policy.toml: "),
        ("[other]\n", "line 1: unknown table [other]"),
    ],
)
def test_policy_errors_name_the_line(text: str, fragment: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "policy.toml")
    assert fragment in str(info.value)


# ---------------------------------------------------------------- case log


def test_malformed_rows_are_reported_and_skipped() -> None:
    text = "\n".join(
        [
            HEADER,
            "C1,A,nose,C44.311,1,3,H&E,yes,clear,no",
            "C1,A,nose,C44.311,two,3,H&E,yes,clear,no",
            "C1,A,elbowish,C44.311,2,3,H&E,yes,clear,no",
            "C1,A,nose,C44.311,1,3,H&E,yes,clear,no",
            "C1,A,nose,C44.311,2,3,H&E,maybe,clear,no",
            "C1,A,nose,C44.311,2,4,H&E,yes,clear,no",
        ]
    )
    log = parse_case_log(text, "log.csv")
    [tumor] = log.for_claim("C1")
    assert [s.stage for s in tumor.stages] == [1, 2] and tumor.diagnosis == "C44311"
    assert [p.split(":")[0] for p in log.problems] == [
        "log.csv, line 3",
        "log.csv, line 4",
        "log.csv, line 5",
        "log.csv, line 6",
    ]
    assert "site 'elbowish'" in log.problems[1] and "appears twice" in log.problems[2]


def test_json_case_log_and_missing_columns() -> None:
    rows = [dict(zip(COLUMNS, ["C9", "A", "hand", "C44622", 1, 6, "H&E", "yes", "clear", "no"], strict=True))]
    log = parse_case_log(json.dumps(rows), "log.json")
    assert log.for_claim("C9")[0].family == "head"
    from mohsedi.policy.caselog import CaseLogError

    with pytest.raises(CaseLogError, match="line 1: the header lacks"):
        parse_case_log("claim,tumor\nC1,A\n", "bad.csv")


def test_schemas_match_the_code() -> None:
    case = json.loads((ROOT / "schemas" / "case-log.schema.json").read_text())
    assert case["items"]["required"] == list(COLUMNS)
    assert set(case["items"]["properties"]["site"]["enum"]) == set(SITE_FAMILY)
    policy = json.loads((ROOT / "schemas" / "payer-policy.schema.json").read_text())
    assert set(policy["properties"]) == {"practice", "defaults", "groups", "payers", "denials"} == set(TABLES)


def test_denials_table_adds_payment_adjustments_and_names_mistakes() -> None:
    policy = parse_policy('[denials]\npayment_adjustments = ["b10", " 45 "]\n', "p.toml")
    assert policy.payment_adjustments == frozenset({"B10", "45"})
    assert parse_policy("", "p.toml").payment_adjustments == frozenset()
    with pytest.raises(PolicyError, match=r"p.toml, line 2: \[denials\]: payment_adjustments must be a list"):
        parse_policy('[denials]\npayment_adjustments = "B10"\n', "p.toml")
    with pytest.raises(PolicyError, match=r"line 2: \[denials\]: carcs is not a setting"):
        parse_policy('[denials]\ncarcs = ["B10"]\n', "p.toml")


# ---------------------------------------------------------------- stage and block arithmetic


def brute_force(stages: list[tuple[int, int]], family: str) -> dict[str, int]:
    """Count codes the slow way: walk every stage and every block."""
    first, extra = ("17311", "17312") if family == "head" else ("17313", "17314")
    counts: dict[str, int] = {}
    for n, (_, blocks) in enumerate(stages):
        code = first if n == 0 else extra
        counts[code] = counts.get(code, 0) + 1
        for block in range(1, blocks + 1):
            if block > 5:
                counts["17315"] = counts.get("17315", 0) + 1
    return counts


@settings(max_examples=300, deadline=None)
@given(
    blocks=st.lists(st.integers(1, 14), min_size=1, max_size=9),
    site=st.sampled_from(HEAD_SITES + TRUNK_SITES),
    deep=st.booleans(),
)
def test_stage_and_block_arithmetic_against_brute_force(blocks: list[int], site: str, deep: bool) -> None:
    stages = [Stage(i + 1, b, ("H&E",), True, "clear", deep, i + 2) for i, b in enumerate(blocks)]
    random.Random(len(blocks)).shuffle(stages)  # the log's row order does not matter
    tumor = Tumor("C1", "A", site, "C44311", sorted(stages, key=lambda s: s.stage))
    family = "head" if deep or SITE_FAMILY[site] == "head" else "trunk"
    assert expected_units(tumor) == brute_force([(i, b) for i, b in enumerate(blocks)], family)


def test_the_spec_example() -> None:
    stages = [Stage(i + 1, b, ("H&E",), True, "clear", False, i + 2) for i, b in enumerate([7, 3, 6])]
    assert expected_units(Tumor("C1", "A", "nose", "C44311", stages)) == {"17311": 1, "17312": 2, "17315": 3}


# ---------------------------------------------------------------- the commands with policy and case log


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


COMMON = ["--case-log", str(SAMPLES / "case-log.csv"), "--policy", str(SAMPLES / "policy.toml"), "--format", "json"]
SEEDED = {
    ("DOC001", "MOHS-0501"),
    ("DOC002", "MOHS-0502"),
    ("DOC003", "MOHS-0503"),
    ("DOC004", "MOHS-0504"),
    ("DOC005", "MOHS-0505"),
    ("DOC006", "MOHS-0506"),
    ("MOHS010", "MOHS-0507"),
    ("PAY001", "MOHS-0601"),
    ("PAY002", "MOHS-0602"),
    ("MOHS004", "MOHS-0603"),
    ("MOHS017", "MOHS-0604"),
}


def findings(output: str) -> set[tuple[str, str]]:
    data = json.loads(output[output.index("{") :])
    return {(f["rule"], f["claim"]) for file in data["files"] for f in file["findings"]}


def test_check_with_case_log_and_policy_reports_the_seeded_errors_only() -> None:
    files = [str(SAMPLES / n) for n in ("01-mohs-clean.837", "14-case-log-errors.837", "15-payer-policy-errors.837")]
    code, out = run("check", *files, *COMMON)
    assert code == 1
    got = findings(out)
    assert got == SEEDED
    assert "case-log.csv, line 26" in out  # the malformed row, reported


def test_fix_makes_the_claims_agree_with_the_log(tmp_path: Path) -> None:
    files = [str(SAMPLES / n) for n in ("14-case-log-errors.837", "15-payer-policy-errors.837")]
    code, out = run("fix", *files, *COMMON, "--unsafe-fixes", "-o", str(tmp_path))
    data = json.loads(out[out.index("{") :])
    applied = {(a["rule"], a["claim"]) for f in data["files"] for a in f["applied"]}
    assert {
        ("DOC001", "MOHS-0501"),
        ("DOC002", "MOHS-0502"),
        ("DOC004", "MOHS-0504"),
        ("MOHS010", "MOHS-0507"),
        ("MOHS004", "MOHS-0603"),
        ("MOHS017", "MOHS-0604"),
    } <= applied
    code, out = run("check", *map(str, sorted(tmp_path.glob("*.837"))), *COMMON)
    remaining = findings(out)
    assert not {r for r in remaining if r[0] in ("DOC001", "DOC002", "DOC004", "MOHS010", "MOHS004", "MOHS017")}
    assert {r for r, _ in remaining} <= {"DOC003", "DOC005", "DOC006", "PAY001", "PAY002"}  # manual by design
    assert "0503" in str(remaining) and "59" in (tmp_path / "15-payer-policy-errors.837").read_text()


def test_bad_policy_or_case_log_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "policy.toml"
    bad.write_text('[payers.X]\ndistinct_modifier = "51"\n')
    code, out = run("check", str(SAMPLES / "01-mohs-clean.837"), "--policy", str(bad))
    assert code == 2 and "line 2" in out
    code, out = run("check", str(SAMPLES / "01-mohs-clean.837"), "--case-log", str(tmp_path / "missing.csv"))
    assert code == 2 and "cannot read the case log" in out
