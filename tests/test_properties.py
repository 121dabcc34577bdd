"""Property tests: any delimiters, any element contents, any layout round-trips; objects survive re-emission."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi import synth
from mohsedi.claims.reader import ClaimSet, read_claim_text
from mohsedi.x12 import Delimiters, emit, parse_segments
from mohsedi.x12.delimiters import sniff_delimiters
from tests.strategies import claims_per_transaction, mohs_claim

DELIMITER_CHARS = list("*|^:>~!+`{}[]<\\@#$%&=;?/_\"'") + ["\x1c", "\x1d", "\x1e", "\x1f", "\x07"]


@st.composite
def delimiters(draw) -> Delimiters:
    chars = draw(st.lists(st.sampled_from(DELIMITER_CHARS), min_size=4, max_size=4, unique=True))
    terminator = draw(st.sampled_from([chars[3], "\n", "\r"]))
    if terminator in chars[:3]:
        terminator = chars[3]
    return Delimiters(element=chars[0], component=chars[1], repetition=chars[2], segment=terminator)


def layout_for(d: Delimiters):
    if d.segment in "\r\n":
        return st.just("")
    return st.sampled_from(["", "\n", "\r\n", "\r", "\n\n", "\r\n\r\n"])


def isa_for(d: Delimiters, control: int) -> str:
    envelope = synth.Envelope837(delimiters=d, interchange_control=control)
    return synth._isa(envelope.sender, envelope.receiver, envelope.created, control, d)


@pytest.mark.slow
@given(data=st.data())
@settings(max_examples=150, deadline=None)
def test_random_delimiters_and_contents_round_trip(data) -> None:
    d = data.draw(delimiters())
    line_break = data.draw(layout_for(d))
    forbidden = {d.element, d.component, d.repetition, d.segment, "\r", "\n"}
    value = st.text(
        alphabet=st.characters(blacklist_characters=list(forbidden), blacklist_categories=("Cs",)),
        max_size=12,
    )
    seg_id = st.sampled_from(["NM1", "REF", "N3", "SV1", "HI", "CLM", "DTP", "AMT", "XX"])
    body = data.draw(st.lists(st.tuples(seg_id, st.lists(value, max_size=8)), max_size=25))
    isa = isa_for(d, 7)
    lines = [isa] + [d.element.join([sid, *elements]) for sid, elements in body]
    raw = "".join(text + d.segment + line_break for text in lines)
    lead = data.draw(st.sampled_from(["", "\ufeff", "\n", "\ufeff\r\n"]))
    raw = lead + raw
    segments = parse_segments(raw)
    assert emit(segments) == raw
    assert sniff_delimiters(isa + d.segment) == d
    assert [s.text for s in segments] == lines
    for seg, (sid, elements) in zip(segments[1:], body, strict=False):
        assert seg.id == sid
        assert list(seg.elements[1:]) == elements


def claims_projection(text: str) -> list[dict]:
    out = []
    for unit in read_claim_text(text):
        if isinstance(unit, ClaimSet):
            assert unit.error is None, unit.error
            for claim in unit.claims:
                row = {
                    "pcn": claim.patient_control_number,
                    "total": claim.total_charge,
                    "pos": claim.place_of_service,
                    "dx": [asdict(dx) for dx in claim.diagnoses],
                    "clia": claim.clia_number,
                    "payer": claim.payer_id,
                    "key": claim.patient_key,
                    "lines": [
                        (
                            ln.number,
                            ln.procedure,
                            ln.modifiers,
                            ln.charge,
                            ln.units,
                            ln.diagnoses,
                            ln.date_from,
                            ln.line_id,
                        )
                        for ln in claim.lines
                    ],
                }
                out.append(row)
    return out


@given(data=st.data(), count=st.integers(1, 12))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_reemitted_files_read_to_equal_objects(data, count: int) -> None:
    d = data.draw(delimiters())
    line_break = data.draw(layout_for(d))
    claims = [data.draw(mohs_claim(n)) for n in range(count)]
    reference = claims_projection(synth.build_837p(claims))
    env = synth.Envelope837(delimiters=d, line_break=line_break)
    text = synth.build_837p(claims, env, claims_per_transaction=data.draw(claims_per_transaction(0, 1, 5)))
    segments = parse_segments(text)
    again = emit(segments)
    assert again == text
    # Delimiters and layout change nothing a claim says, the patient key included.
    assert claims_projection(again) == reference
