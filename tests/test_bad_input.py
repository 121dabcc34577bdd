"""Malformed input: one clear X12Error naming file and segment; the good sets still read."""

from __future__ import annotations

import pytest

from mohsedi.claims.reader import ClaimSet, read_claim_text
from mohsedi.errors import X12Error
from mohsedi.x12 import emit, parse_segments


def sets_of(text: str) -> list[ClaimSet]:
    return [u for u in read_claim_text(text, source="in.837") if isinstance(u, ClaimSet)]


def two_sets(sample_text: str) -> str:
    """The sample's transaction set twice in one group."""
    start = sample_text.index("ST*")
    end = sample_text.index("GE*")
    body = sample_text[start:end]
    second = body.replace("ST*837*0001", "ST*837*0002").replace("*0001~", "*0002~")  # ST02 and SE02
    return sample_text[:start] + body + second + sample_text[end:].replace("GE*1*", "GE*2*", 1)


def test_two_sets_are_two_readable_sets(sample_text: str) -> None:
    """The helper the cases below break: without a break both sets read, numbered 0001 and 0002."""
    sets = sets_of(two_sets(sample_text))
    assert [s.error for s in sets] == [None, None]
    assert [s.transaction.control_number for s in sets] == ["0001", "0002"]
    assert [s.transaction.segments[-1].element(2) for s in sets] == ["0001", "0002"]  # SE02 matches ST02


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "no ISA segment"),
        ("\n\n  \r\n", "no ISA segment"),
        ("GS*HC*X~", "expected an ISA"),
        ("ISA*00*short~", "truncated"),
    ],
)
def test_unreadable_starts(text: str, fragment: str) -> None:
    with pytest.raises(X12Error) as info:
        parse_segments(text, source="bad.837")
    assert fragment in str(info.value)
    assert "bad.837" in str(info.value)


def test_isa_that_is_not_fixed_width(sample_text: str) -> None:
    broken = sample_text.replace("*ZZ*MOHSEDISUBMIT  ", "*ZZ*MOHSEDISUBMIT", 1)
    with pytest.raises(X12Error, match="not fixed width"):
        parse_segments(broken, source="bad.837")


def test_missing_se_quarantines_only_that_set(sample_text: str) -> None:
    text = two_sets(sample_text)
    first_se = text.index("~\nSE*") + 2
    end_of_se = text.index("~", first_se) + 1
    broken = text[:first_se] + text[end_of_se:].lstrip("\n")
    sets = sets_of(broken)
    assert sets[0].error is not None and "has no SE" in str(sets[0].error)
    assert "in.837" in str(sets[0].error) and "segment" in str(sets[0].error)
    assert sets[-1].error is None and len(sets[-1].claims) == 4
    units = read_claim_text(broken)
    assert emit(s for u in units for s in (u.transaction.segments if isinstance(u, ClaimSet) else u.segments)) == broken


def test_segment_the_guide_cannot_place_is_reported(sample_text: str) -> None:
    text = two_sets(sample_text)
    bad = text.replace("BHT*0019", "ZZZ*1~BHT*0019", 1)
    sets = sets_of(bad)
    assert sets[0].error is not None and "ZZZ" in str(sets[0].error)
    assert sets[1].error is None


def test_stray_segments_between_sets(sample_text: str) -> None:
    text = sample_text.replace("GE*", "NTE*ADD*JUNK~\nGE*", 1)
    sets = sets_of(text)
    assert any(s.error and "outside a transaction set" in str(s.error) for s in sets)
    assert any(s.error is None and s.claims for s in sets)


def test_other_transaction_types_are_reported(sample_text: str) -> None:
    """An 835 handed to the claim reader is read against its own guide, then refused as not an 837P."""
    from tests.conftest import SAMPLES

    remit = (SAMPLES / "01-mohs-paid.835").read_text()
    sets = sets_of(remit)
    assert len(sets) == 1 and sets[0].claims == []
    assert "is 835 005010X221A1, not an 837P (005010X222A1)" in str(sets[0].error)
    assert "segment 3 (ST)" in str(sets[0].error)


def test_an_837i_label_reads_against_the_837i_guide(sample_text: str) -> None:
    # GS08 and ST03 name the 837I guide: the 837P body does not fit it, and the error names that map.
    text = sample_text.replace("005010X222A1", "005010X223A2")
    assert text.count("005010X223A2") == 2
    sets = sets_of(text)
    assert len(sets) == 1 and sets[0].claims == []
    assert "has no place in the 837Q3.I.5010.X223.A1 guide" in str(sets[0].error)


def test_bad_amount_is_a_claim_problem_not_a_crash(sample_text: str) -> None:
    text = sample_text.replace("SV1*HC:17311*742.8*", "SV1*HC:17311*7X2.8*", 1)
    claim = sets_of(text)[0].claims[0]
    assert claim.lines[0].charge is None
    assert any("SV102" in p for p in claim.problems)
