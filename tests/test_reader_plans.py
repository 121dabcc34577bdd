"""The 837P reader reads each stretch of a set (an HL's or a claim's segments) from a plan made once
per distinct run of segment roles, and the readers share frozen values (diagnoses, adjustments)
between the claims and services that repeat them. Plans and shared values must never carry one
claim's values into another's."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import mohsedi.claims.reader as claims_reader
from mohsedi import synth
from mohsedi.claims.reader import ClaimSet, read_claim, read_claim_set, read_claim_text
from mohsedi.remits.reader import RemitSet, read_remit_text
from mohsedi.x12.envelope import TransactionSet
from tests.conftest import corpus_params


def _claims(text: str) -> list:
    sets = [u for u in read_claim_text(text) if isinstance(u, ClaimSet)]
    assert all(s.error is None for s in sets), [s.error for s in sets]
    return [c for s in sets for c in s.claims]


def _twins() -> str:
    """Two claims of the same shape (same segments, same roles) with different values."""
    first = synth.ClaimSpec(
        "TWIN-1",
        ("C4401",),
        [synth.LineSpec("17311", Decimal("700.00")), synth.LineSpec("17312", Decimal("300.00"), 2)],
        service_date=date(2026, 10, 5),
        member_id="1AA0000001",
    )
    second = synth.ClaimSpec(
        "TWIN-2",
        ("C4431",),
        [synth.LineSpec("17313", Decimal("650.00")), synth.LineSpec("17314", Decimal("210.00"), 3)],
        service_date=date(2026, 10, 6),
        member_id="1AA0000002",
    )
    return synth.build_837p([first, second])


def test_claims_of_one_shape_keep_their_own_values() -> None:
    one, two = _claims(_twins())
    assert (one.patient_control_number, two.patient_control_number) == ("TWIN-1", "TWIN-2")
    assert [ln.procedure for ln in one.lines] == ["17311", "17312"]
    assert [ln.procedure for ln in two.lines] == ["17313", "17314"]
    assert [ln.units for ln in two.lines] == [Decimal("1"), Decimal("3")]
    assert [ln.line_id for ln in one.lines] == ["TWIN-1-1", "TWIN-1-2"]
    assert [ln.line_id for ln in two.lines] == ["TWIN-2-1", "TWIN-2-2"]
    assert one.lines[0].date_from == date(2026, 10, 5) and two.lines[0].date_from == date(2026, 10, 6)
    assert [ln.diagnoses for ln in one.lines] == [["C4401"], ["C4401"]]
    assert [ln.diagnoses for ln in two.lines] == [["C4431"], ["C4431"]]
    assert (one.subscriber.member_id, two.subscriber.member_id) == ("1AA0000001", "1AA0000002")
    assert one.total_charge == Decimal("1000.00") and two.total_charge == Decimal("860.00")
    # Each line's segments are its own, LX first, and the claim's are CLM up to the next HL.
    assert [s.id for s in two.lines[1].segments] == ["LX", "SV1", "DTP", "REF"]
    assert two.segments[0] is two.clm and two.segments[-1] is two.lines[-1].segments[-1]


def test_reading_without_remembered_plans_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    text = _twins()
    remembered = _claims(text)
    monkeypatch.setattr(claims_reader, "_PLANS", {})
    monkeypatch.setattr(claims_reader, "PLAN_LIMIT", 0)  # hostile input: no plan is kept
    fresh = _claims(text)
    assert claims_reader._PLANS == {}
    assert [_values(c) for c in fresh] == [_values(c) for c in remembered]


def _values(claim) -> tuple:
    """A claim's read values, without the loop objects' identities."""
    fields = [f.name for f in dataclasses.fields(claim) if f.name not in ("lines", "segments", "clm")]
    lines = [
        tuple(getattr(ln, f.name) for f in dataclasses.fields(ln) if f.name not in ("lx", "sv1", "segments"))
        for ln in claim.lines
    ]
    return (
        tuple(repr(getattr(claim, name)) for name in fields),
        lines,
        [s.text for s in claim.segments],
        [[s.text for s in ln.segments] for ln in claim.lines],
    )


def _read_claim_again(claim, ts: TransactionSet):
    """The claim through read_claim, given what read_claim_set found for it."""
    header = [s for s in claim.segments[: claim.segments.index(claim.lines[0].lx)] if s.id in ("HI", "REF", "NM1")]
    header = [
        s
        for s in header
        if claims_reader.role_table()[s.node]
        in (claims_reader.HI, claims_reader.CLAIM_REF, claims_reader.CLAIM_RENDERING)
    ]
    found = []
    for line in claim.lines:
        first = {}
        for seg in line.segments[1:]:
            first.setdefault(claims_reader.role_table()[seg.node], seg)
        found.append(
            [
                claim.segments.index(line.lx),
                first.get(claims_reader.SV1),
                first.get(claims_reader.DTP_472),
                first.get(claims_reader.REF_6R),
                first.get(claims_reader.LINE_RENDERING),
            ]
        )
    return read_claim(claim.segments, header, found, claim.billing_provider, claim.subscriber, claim.patient)


@pytest.mark.parametrize("path", corpus_params("837p"))
def test_read_claim_reads_what_the_set_reader_reads(path: Path) -> None:
    for unit in claims_reader.read_claim_file(str(path)):
        if not isinstance(unit, ClaimSet) or unit.error is not None:
            continue
        for claim in unit.claims:
            if claim.lines:
                assert _values(_read_claim_again(claim, unit.transaction)) == _values(claim)


def test_a_set_read_again_gives_equal_claims() -> None:
    sets = [u for u in read_claim_text(_twins()) if isinstance(u, ClaimSet)]
    again = read_claim_set(sets[0].transaction)
    assert [_values(c) for c in again.claims] == [_values(c) for c in sets[0].claims]


def test_shared_diagnoses_are_frozen_and_equal() -> None:
    spec = [
        synth.ClaimSpec(f"SAME-{n}", ("C4401", "L570"), [synth.LineSpec("17311", Decimal("700.00"), pointers=(2, 1))])
        for n in range(2)
    ]
    one, two = _claims(synth.build_837p(spec))
    assert one.diagnoses == two.diagnoses
    assert [d.code for d in one.diagnoses] == ["C4401", "L570"]
    assert one.lines[0].diagnoses == ["L570", "C4401"]  # in pointer order
    with pytest.raises(dataclasses.FrozenInstanceError):
        one.diagnoses[0].code = "C4402"  # type: ignore[misc]


def test_a_pointer_past_the_diagnoses_is_left_out() -> None:
    spec = synth.ClaimSpec("PTR-1", ("C4401",), [synth.LineSpec("17311", Decimal("700.00"), pointers=(1, 3))])
    (claim,) = _claims(synth.build_837p([spec]))
    assert claim.lines[0].diagnosis_pointers == [1, 3]
    assert claim.lines[0].diagnoses == ["C4401"]


def test_shared_adjustments_are_frozen_and_keep_their_level() -> None:
    service = synth.ServicePaymentSpec(
        "17311", Decimal("700.00"), Decimal("560.00"), adjustments=[("CO", "45", Decimal("140.00"))]
    )
    payments = [
        synth.ClaimPaymentSpec(
            f"PAY-{n}",
            "1",
            Decimal("700.00"),
            Decimal("560.00"),
            services=[dataclasses.replace(service)],
            adjustments=[("CO", "45", Decimal("140.00"))],
        )
        for n in range(2)
    ]
    sets = [u for u in read_remit_text(synth.build_835(payments)) if isinstance(u, RemitSet)]
    claims = [c for s in sets for c in s.remittance.claims]
    assert len(claims) == 2
    for claim in claims:
        assert [(a.group, a.carc, a.amount, a.level) for a in claim.adjustments] == [
            ("CO", "45", Decimal("140.00"), "claim")
        ]
        assert [(a.group, a.carc, a.amount, a.level) for a in claim.services[0].adjustments] == [
            ("CO", "45", Decimal("140.00"), "line")
        ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        claims[0].services[0].adjustments[0].amount = Decimal("0")  # type: ignore[misc]


def _unmemoized_nodes(ts: TransactionSet) -> list[int]:
    """Every segment's node by the guide walk itself, with no memo: what place_units must give."""
    from mohsedi.guide.walker import NOT_FOUND, walk, walker_for

    walker = walker_for(ts.isa, ts.gs)
    assert walker is not None
    state, out = walker.gs_node, []
    for seg in ts.segments:
        positions = walker.guide.key_positions.get(seg.id, ())
        found = walk(state, seg.id, dict(zip(positions, walker.qualifiers(seg), strict=True)))
        if found != NOT_FOUND:
            state = found
        out.append(state)
    return out


@pytest.mark.parametrize("anchor", ["HL*", "NM1*82", "LX*1"])
@pytest.mark.parametrize("short", ["NM1", "NM1*", "REF", "HL*9", "HL*9*1", "SV1", "DTP*472", "HI", "PAT"])
def test_segments_short_of_their_qualifier_are_placed_as_the_guide_walk_places_them(short: str, anchor: str) -> None:
    """A segment cut before its qualifier (NM101, HL03, SV101-1) reads as an empty qualifier:
    the memo (warmed up by the first claim at the same places) misses and the walk decides."""
    text = _twins()
    at = text.index(anchor, text.index("TWIN-1"))
    text = text[:at] + short + "~\n" + text[at:]
    from mohsedi.guide import read_units

    sets = [u for u in read_units([text]) if isinstance(u, TransactionSet)]
    assert sets
    for ts in sets:
        assert [s.node for s in ts.segments] == _unmemoized_nodes(ts)
