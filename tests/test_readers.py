"""837P and 835 objects read from the samples carry the values the samples were built with."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from mohsedi.claims.reader import ClaimSet, read_claim_file
from mohsedi.remits.reader import RemitSet, read_remit_file
from tests.conftest import SAMPLES, corpus_files, file_id


def claims_of(path: Path):
    sets = [u for u in read_claim_file(str(path)) if isinstance(u, ClaimSet)]
    assert all(s.error is None for s in sets), [s.error for s in sets]
    return [c for s in sets for c in s.claims]


def test_clean_sample_claim_values() -> None:
    claims = claims_of(SAMPLES / "01-mohs-clean.837")
    assert [c.patient_control_number for c in claims] == [
        "MOHS-0001",
        "MOHS-0002",
        "MOHS-0003",
        "MOHS-0004",
    ]
    first = claims[0]
    assert first.total_charge == Decimal("2057.12")
    assert first.place_of_service == "11"
    assert first.frequency == "1"
    assert [d.code for d in first.diagnoses] == ["C44311"]
    assert first.diagnoses[0].principal and first.diagnoses[0].formatted == "C44.311"
    assert first.clia_number == "05D0987654"
    assert first.payer_id == "SMEDC"
    assert first.billing_npi == "1306849450"
    assert first.rendering_npi == "1588667638"
    line = first.lines[1]
    assert (line.number, line.qualifier, line.procedure) == (2, "HC", "17312")
    assert line.units == Decimal("2") and line.charge == Decimal("802.32")
    assert line.unit_basis == "UN"
    assert line.diagnosis_pointers == [1] and line.diagnoses == ["C44311"]
    assert line.date_from == date(2026, 10, 6)
    assert line.line_id == "MOHS-0001-2"
    assert sum(ln.charge for ln in first.lines) == first.total_charge


def test_modifiers_and_pointers() -> None:
    claims = claims_of(SAMPLES / "01-mohs-clean.837")
    third = claims[2]
    assert [ln.modifiers for ln in third.lines] == [[], [], ["XS"], [], []]
    assert third.lines[2].diagnoses == ["C44519"]
    fourth = claims[3]
    assert fourth.lines[0].modifiers == ["25"] and fourth.lines[0].diagnoses == ["L570"]


def test_claims_without_line_ids_and_with_wrong_totals_are_read_as_they_are() -> None:
    claims = claims_of(SAMPLES / "12-modifier-and-x12-errors.837")
    bad = claims[-1]
    assert bad.total_charge == Decimal("1400.00")
    assert [ln.line_id for ln in bad.lines] == [None, None]
    assert bad.lines[1].modifiers == ["XS"]  # read as payers match it; the text keeps "xs" (X12005's finding)
    assert ":xs" in bad.lines[1].sv1.text
    assert claims[2].clia_number is None


def test_patients_are_told_apart_without_names() -> None:
    claims = claims_of(SAMPLES / "10-mohs-coding-errors.837")
    keys = {c.patient_key for c in claims}
    assert len(keys) == len(claims)
    for claim in claims:
        assert "SAMPLE" not in repr(claim.patient_key)


def test_remittance_values() -> None:
    sets = [u for u in read_remit_file(str(SAMPLES / "10-mohs-denials.835")) if isinstance(u, RemitSet)]
    remit = sets[0].remittance
    assert remit is not None
    assert remit.trace_number == "EFT2611060002"
    assert remit.payer_id == "SMEDC" and remit.payee_npi == "1306849450"
    assert remit.payment_date == date(2026, 11, 6)
    by_pcn = {c.patient_control_number: c for c in remit.claims if not c.is_reversal}
    biopsy = by_pcn["MOHS-0201"].services[1]
    assert biopsy.procedure == "11102" and biopsy.paid == Decimal("0")
    assert biopsy.line_id == "MOHS-0201-2"
    assert [(a.group, a.carc, a.amount) for a in biopsy.adjustments] == [("CO", "236", Decimal("145"))]
    assert biopsy.remarks == ["M80"]
    assert by_pcn["MOHS-0303"].remarks == ["MA120"]
    reversals = [c for c in remit.claims if c.is_reversal]
    assert len(reversals) == 1 and reversals[0].paid < 0
    total_paid = sum(c.paid for c in remit.claims)
    assert total_paid == remit.amount


@pytest.mark.parametrize("path", corpus_files("837p"), ids=file_id)
def test_corpus_837p_reads_into_claims(path: Path) -> None:
    claims = claims_of(path)
    assert claims
    for claim in claims:
        assert claim.patient_control_number
        assert claim.lines and all(ln.procedure for ln in claim.lines)


@pytest.mark.parametrize("path", corpus_files("835"), ids=file_id)
def test_corpus_835_reads_into_remittances(path: Path) -> None:
    sets = [u for u in read_remit_file(str(path)) if isinstance(u, RemitSet)]
    assert sets and all(s.error is None for s in sets)
    for s in sets:
        assert s.remittance is not None and s.remittance.claims
