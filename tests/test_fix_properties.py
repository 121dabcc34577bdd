"""Properties of the fix loop over generated Mohs claims with seeded errors."""

from __future__ import annotations

import io
import json
import logging
import random
from decimal import Decimal
from pathlib import Path

import pyx12.params
import pyx12.x12n_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi import synth
from mohsedi.rules.batch import fix_paths
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import load_document
from mohsedi.rules.registry import all_rules
from mohsedi.x12 import emit, parse_segments

MUTATIONS = (
    "none",
    "no_line_id",
    "lower_modifier",
    "add_51",
    "59_and_xs",
    "wrong_total",
    "wrong_family",
    "first_stage_units",
    "biopsy",
    "second_first_stage",
    "no_clia",
    "repair_59",
    "em_59",
)


def mutate(rng: random.Random, claim: synth.ClaimSpec, kind: str) -> synth.ClaimSpec:
    lines = claim.lines
    if kind == "no_line_id":
        lines[rng.randrange(len(lines))].line_id = None
    elif kind == "lower_modifier":
        lines[0].modifiers = ("xs",)
    elif kind == "add_51":
        for ln in lines:
            if ln.procedure in ("17312", "17314", "17315"):
                ln.modifiers = (*ln.modifiers, "51")
    elif kind == "59_and_xs":
        lines[0].modifiers = ("59", "XS")
    elif kind == "wrong_total":
        claim.total = sum((ln.charge for ln in lines), Decimal("0")) + Decimal("10")
    elif kind == "wrong_family":
        for ln in lines:
            if ln.procedure == "17312":
                ln.procedure = "17314"
    elif kind == "first_stage_units":
        first = lines[0]
        first.units = 2
        first.charge = first.charge * 2
        first.pointers = (1, 1)
    elif kind == "biopsy":
        claim.diagnoses = (*claim.diagnoses, "D485")
        lines.append(synth.LineSpec("11102", Decimal("145"), 1, (), (len(claim.diagnoses),)))
    elif kind == "second_first_stage":
        lines.append(synth.LineSpec("17311", Decimal("742.80"), 1, (), (1,)))
    elif kind == "no_clia":
        claim.clia = None
    elif kind == "repair_59":
        lines.append(synth.LineSpec("13151", Decimal("512"), 1, ("59",), (1,)))
    elif kind == "em_59":
        claim.diagnoses = (*claim.diagnoses, "L570")
        lines.insert(0, synth.LineSpec("99213", Decimal("118"), 1, ("59",), (len(claim.diagnoses),)))
    return claim


def generate(seed: int, count: int, mutations: list[str]) -> str:
    rng = random.Random(seed)
    claims = []
    for n in range(count):
        claim = synth.random_mohs_claim(rng, n)
        claims.append(mutate(rng, claim, mutations[n % len(mutations)]))
    return synth.build_837p(claims, claims_per_transaction=rng.choice([0, 3]))


def pyx12_errors(text: str) -> set[tuple]:
    """pyx12's validation errors as (error code, segment id, element) without positions."""
    logging.getLogger("pyx12").setLevel(logging.CRITICAL)
    out = io.StringIO()
    pyx12.x12n_document.x12n_document(pyx12.params.params(), io.StringIO(text), None, None, None, out)
    found: set[tuple] = set()

    def walk(node):
        if isinstance(node, dict):
            for err in node.get("errors", []):
                found.add((err.get("err_cde") or err.get("code"), node.get("seg_id"), err.get("ele_pos")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(json.loads(out.getvalue()))
    return found


def fix_report(tmp_path: Path, text: str, name: str = "in.837"):
    path = tmp_path / name
    path.write_text(text, newline="")
    [report] = fix_paths([str(path)], all_rules(), RuleOptions(clia_number="05D0987654"), unsafe=True)
    assert report.error is None and report.fixed is not None
    return report


def fix_text(tmp_path: Path, text: str, name: str = "in.837") -> str:
    return fix_report(tmp_path, text, name).fixed


settings.register_profile("fix", max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

mutation_lists = st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=5)


@settings(settings.get_profile("fix"))
@given(seed=st.integers(0, 10_000), count=st.integers(1, 6), mutations=mutation_lists)
def test_fix_is_idempotent_and_round_trips(tmp_path_factory, seed: int, count: int, mutations: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("fix")
    text = generate(seed, count, mutations)
    once = fix_text(tmp, text)
    assert emit(parse_segments(once)) == once
    twice = fix_text(tmp, once, "again.837")
    assert twice == once


@settings(settings.get_profile("fix"))
@given(seed=st.integers(0, 10_000), count=st.integers(1, 5), mutations=mutation_lists)
def test_fixed_output_is_valid_and_adds_no_pyx12_error(
    tmp_path_factory, seed: int, count: int, mutations: list[str]
) -> None:
    tmp = tmp_path_factory.mktemp("valid")
    text = generate(seed, count, mutations)
    fixed = fix_text(tmp, text)
    assert pyx12_errors(fixed) <= pyx12_errors(text)


@settings(settings.get_profile("fix"))
@given(seed=st.integers(0, 10_000), count=st.integers(2, 6), mutations=mutation_lists)
def test_counts_totals_and_untouched_claims(tmp_path_factory, seed: int, count: int, mutations: list[str]) -> None:
    tmp = tmp_path_factory.mktemp("counts")
    text = generate(seed, count, ["none", *mutations])
    report = fix_report(tmp, text)
    touched = {a.claim for a in report.applied}
    before = {c.patient_control_number: c for c in load_document("in", text).claims()}
    doc = load_document("out", report.fixed)
    for _, cs in doc.claim_sets:
        segments = cs.transaction.segments
        assert segments[-1].element(1) == str(len(segments)), "SE01 counts the set"
        for claim in cs.claims:
            assert claim.total_charge == sum((ln.charge for ln in claim.lines), Decimal("0"))
            assert [ln.number for ln in claim.lines] == list(range(1, len(claim.lines) + 1))
            if claim.patient_control_number not in touched:
                old = before[claim.patient_control_number]
                assert [s.text + s.trailer for s in claim.segments] == [s.text + s.trailer for s in old.segments]
    ids = [ln.line_id for c in doc.claims() for ln in c.lines]
    assert None not in ids and len(ids) == len(set(ids))
