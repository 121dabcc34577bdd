"""Properties of the fix loop over generated Mohs claims with seeded errors."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi import synth
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import load_document
from mohsedi.rules.registry import all_rules
from mohsedi.x12 import emit, parse_segments
from tests.engine import fix_files, fixed_text
from tests.strategies import claim_lists, claims_per_transaction

pytestmark = pytest.mark.slow  # every example fixes whole files, one test also validates with pyx12


@st.composite
def files(draw, min_claims: int = 1, max_claims: int = 6, first: str | None = None) -> str:
    """An 837P of generated claims, each with a drawn seeded error, one or several sets."""
    claims = draw(claim_lists(min_claims, max_claims, first))
    return synth.build_837p(claims, claims_per_transaction=draw(claims_per_transaction(0, 3)))


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
    [report] = fix_files([str(path)], all_rules(), RuleOptions(clia_number="05D0987654"), unsafe=True)
    assert report.error is None and fixed_text(report) is not None
    return report


def fix_text(tmp_path: Path, text: str, name: str = "in.837") -> str:
    fixed = fixed_text(fix_report(tmp_path, text, name))
    assert fixed is not None
    return fixed


# Whole files are drawn and each is fixed (and some validated by pyx12): slow by design.
settings.register_profile("fix", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(settings.get_profile("fix"))
@given(text=files(1, 6))
def test_fix_is_idempotent_and_round_trips(tmp_path_factory, text: str) -> None:
    tmp = tmp_path_factory.mktemp("fix")
    once = fix_text(tmp, text)
    assert emit(parse_segments(once)) == once
    twice = fix_text(tmp, once, "again.837")
    assert twice == once


@settings(settings.get_profile("fix"))
@given(text=files(1, 5))
def test_fixed_output_is_valid_and_adds_no_pyx12_error(tmp_path_factory, text: str) -> None:
    tmp = tmp_path_factory.mktemp("valid")
    fixed = fix_text(tmp, text)
    assert pyx12_errors(fixed) <= pyx12_errors(text)


@settings(settings.get_profile("fix"))
@given(text=files(2, 6, first="none"))
def test_counts_totals_and_untouched_claims(tmp_path_factory, text: str) -> None:
    tmp = tmp_path_factory.mktemp("counts")
    report = fix_report(tmp, text)
    touched = {a.claim for a in report.applied}
    before = {c.patient_control_number: c for c in load_document("in", text).claims()}
    doc = load_document("out", fixed_text(report))
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
