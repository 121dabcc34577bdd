"""The tokenizer's whole-buffer fast path must find the same segments as the spec says: a
doubled terminator, a blank line or odd layout after a terminator is layout kept in the trailer
of the segment before it, never a segment of its own (mohsedi.x12.segments, iter_segments); and
iter_units groups them alike however they are handed to it."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi.x12 import Envelope, emit, iter_segments, iter_units, parse_segments

ISA = "ISA*00*          *00*          *ZZ*SUBMITTER      *ZZ*RECEIVER       *261008*1200*^*00501*000000001*0*T*:"
BODY = [
    "GS*HC*SUBMITTER*RECEIVER*20261008*1200*1*X*005010X222A1",
    "ST*837*0001*005010X222A1",
    "BHT*0019*00*B0001*20261008*1200*CH",
    "NM1*41*2*SYNTHETIC PRACTICE*****46*SUBMITTER",
    "SE*4*0001",
    "GE*1*1",
    "IEA*1*000000001",
]
LAYOUTS = ["~\n", "~", "~\r\n", "~\n\n", "~~\n", "~ \n", "~\n~\n", "~\t", "~~"]


def test_doubled_terminator_at_the_end_of_a_line_is_layout_not_a_segment() -> None:
    # "~\n~\n": the fast path split the buffer up to the last "~\n" and kept the empty piece
    # between the two as a segment with no text, numbered like a real one.
    text = ISA + "~\n" + BODY[0] + "~\n" + BODY[1] + "~\n~\n"
    segments = parse_segments(text)
    assert [s.text for s in segments] == [ISA, BODY[0], BODY[1]]
    assert segments[-1].trailer == "~\n~\n"
    assert emit(segments) == text


def test_doubled_terminator_before_the_next_chunk_is_layout() -> None:
    text = ISA + "~\n" + BODY[0] + "~\n~\n" + BODY[1] + "~\n"
    cut = text.index(BODY[1])
    segments = list(iter_segments([text[:cut], text[cut:]]))
    assert [s.text for s in segments] == [ISA, BODY[0], BODY[1]]
    assert segments[1].trailer == "~\n~\n"


@settings(max_examples=150, deadline=None)
@given(
    layouts=st.lists(st.sampled_from(LAYOUTS), min_size=len(BODY) + 1, max_size=len(BODY) + 1),
    chunk=st.integers(min_value=1, max_value=400),
    seed=st.integers(min_value=0, max_value=10),
)
def test_any_layout_gives_the_segments_with_exact_positions(layouts: list[str], chunk: int, seed: int) -> None:
    rng = random.Random(seed)
    body = BODY[: rng.randrange(1, len(BODY) + 1)]
    texts = [ISA, *body]
    text = "".join(t + layout for t, layout in zip(texts, layouts, strict=False))
    segments = list(iter_segments([text[i : i + chunk] for i in range(0, len(text), chunk)]))
    assert [s.text for s in segments] == texts
    assert [s.number for s in segments] == list(range(1, len(texts) + 1))
    assert all(text[s.offset : s.offset + len(s.text)] == s.text for s in segments)
    assert emit(segments) == text


def _units_described(units: list) -> list[tuple]:
    out: list[tuple] = []
    for unit in units:
        if isinstance(unit, Envelope):
            out.append(("envelope", unit.segment.number))
        else:
            out.append(("set", [s.number for s in unit.segments], str(unit.error) if unit.error else None))
    return out


@settings(max_examples=200, deadline=None)
@given(ids=st.lists(st.sampled_from(["GS", "ST", "SE", "GE", "IEA", "ISA", "NM1", "HL", "CLM", "LX"]), max_size=60))
def test_units_are_the_same_from_a_stream_a_list_or_any_iterable(ids: list[str]) -> None:
    """iter_units takes the tokenizer's segments run by run, a list whole, anything else in
    batches: every unit (stray segments, sets without SE, envelopes) comes out the same, each
    segment in exactly one unit, in order."""
    text = "~\n".join([ISA, *(f"{sid}*1*2" if sid != "ISA" else ISA for sid in ids)]) + "~\n"
    from_stream = _units_described(list(iter_units(iter_segments([text]))))
    from_list = _units_described(list(iter_units(list(iter_segments([text])))))
    from_generator = _units_described(list(iter_units(s for s in iter_segments([text]))))
    assert from_stream == from_list == from_generator
    numbers = [n for u in from_stream for n in ([u[1]] if u[0] == "envelope" else u[1])]
    assert numbers == list(range(1, len(ids) + 2))
