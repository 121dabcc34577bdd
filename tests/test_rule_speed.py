"""The shortcuts that make check and fix fast give the answers of the long way.

The engine keeps what the rules found per claim and per day across the checks of one run
(``CheckMemo``), judges only the elements a fix rewrote (``problems_gained``), counts repeat
limits only for claims whose structure changed (``_repeat_gained``), puts a dry run's placements
back from saved nodes, and the NCCI data keeps its answers. Each is compared here with the
computation it replaces.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi.claims.reader import ClaimSet
from mohsedi.codes.ncci import SHIPPED_RELEASE, MueEdit, shipped_edits
from mohsedi.guide.limits import problems_gained, segment_problems
from mohsedi.rules import engine
from mohsedi.rules.base import FixSafety, InsertAfter, SetElements
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import (
    CheckMemo,
    _apply_owned,
    _rebuild,
    _repeat_gained,
    _repeat_problems,
    _restructured,
    check_as_fix_would,
    check_documents,
    fix_documents,
    load_document,
    normalizing_rules,
)
from mohsedi.rules.registry import all_rules
from mohsedi.x12.segments import emit
from tests.conftest import SAMPLES, corpus_files

HEAVY = Path(__file__).resolve().parent / "fixtures" / "heavy" / "heavy.837"
CLIA = "05D0987654"


def _inputs() -> list[Path]:
    return [HEAVY, *sorted(SAMPLES.glob("*.837"))]


def _placed_segments() -> list:
    doc = load_document(str(HEAVY))
    return [s for _, cs in doc.claim_sets for s in cs.transaction.segments if s.node >= 0]


SEGMENTS = _placed_segments()


# ---------------------------------------------------------------- the gate's element limits

VALUES = st.one_of(
    st.sampled_from(["", " ", "HC:17311:xs", "HC:17311", "XS", "1485.6", "1.", "-3", "AB", "11:B:1", "Y", "N"]),
    st.text(alphabet="0123456789.-ABCxyz :", max_size=40),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(index=st.integers(0, len(SEGMENTS) - 1), element=st.integers(1, 12), value=VALUES)
def test_problems_gained_is_the_difference_of_the_problems(index: int, element: int, value: str) -> None:
    old = SEGMENTS[index]
    elements = list(old.elements)
    while len(elements) <= element:
        elements.append("")
    elements[element] = value
    [new], _ = _apply_owned([old], [(SetElements(old, tuple(elements)), 0)])
    want = Counter(segment_problems(new)) - Counter(segment_problems(old))
    assert problems_gained(new, old) == want
    assert problems_gained(new, None) == Counter(segment_problems(new))


# ---------------------------------------------------------------- repeat limits


def _edited(doc, u: int, edits, made: dict | None = None):
    unit = doc.units[u]
    segments, owned = _apply_owned(unit.transaction.segments, [(e, 0) for e in edits])
    if made is not None:
        made.update(owned)
    return unit, _rebuild(doc, u, segments)


def _both(before: ClaimSet, after: ClaimSet) -> None:
    full = _repeat_problems(after) - _repeat_problems(before)
    assert list(_repeat_gained(before, after).items()) == list(full.items())


def test_repeat_gained_counts_as_every_claim_does() -> None:
    doc = load_document(str(HEAVY))
    (u, cs), *_ = doc.claim_sets
    first, second, third = cs.claims[:3]
    # Rewrites only (CLM02, SV101): nothing changes shape.
    rewrites = [
        SetElements(first.clm, (*first.clm.elements[:2], "1.00", *first.clm.elements[3:])),
        SetElements(second.lines[0].sv1, ("SV1", "HC:17311:xs", *second.lines[0].sv1.elements[2:])),
    ]
    made: dict = {}
    before, after = _edited(doc, u, rewrites, made)
    assert after is not None
    _both(before, after)
    # No segment added, removed or moved, no CLM01 changed: the gate leaves repeats alone.
    assert not _restructured(before, after, made)
    assert not (_repeat_problems(after) - _repeat_problems(before))
    # A second REF*X4 on one claim, a second DTP*472 on another's line: repeats the guide does not allow.
    ref = next(s for s in first.segments if s.id == "REF" and s.element(1) == "X4")
    dtp = next(s for s in third.lines[0].segments if s.id == "DTP")
    repeats = [
        InsertAfter(ref, (("REF", "X4", "05D0987655"),)),
        InsertAfter(dtp, (("DTP", "472", "D8", "20261006"),)),
    ]
    made = {}
    before, after = _edited(doc, u, [*rewrites, *repeats], made)
    assert after is not None
    assert _restructured(before, after, made)
    gained = _repeat_gained(before, after)
    assert gained, "the inserted repeats break the guide's limits"
    _both(before, after)


def test_repeat_gained_counts_every_claim_when_a_clm01_is_shared() -> None:
    doc = load_document(str(HEAVY))
    (u, cs), *_ = doc.claim_sets
    first = cs.claims[0]
    second = next(c for c in cs.claims[1:] if c.clia_number)
    # The second claim takes the first's CLM01 and gains a repeat: the shortcut must not apply.
    renamed = SetElements(second.clm, ("CLM", first.patient_control_number, *second.clm.elements[2:]))
    ref = next(s for s in second.segments if s.id == "REF" and s.element(1) == "X4")
    extra = InsertAfter(ref, (("REF", "X4", "05D0987655"),))
    made: dict = {}
    before, after = _edited(doc, u, [renamed, extra], made)
    assert _restructured(before, after, made)
    assert after is not None
    _both(before, after)


# ---------------------------------------------------------------- the memo


def _no_memo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check starts afresh, as before the memo."""
    bind = CheckMemo.bind

    def fresh(self: CheckMemo, rules, options) -> None:
        self._for = ()
        bind(self, rules, options)

    monkeypatch.setattr(CheckMemo, "bind", fresh)


def _edit(e) -> tuple:
    if isinstance(e, InsertAfter):
        return ("insert", e.anchor.number, e.anchor.text, e.elements)
    if isinstance(e, SetElements):
        return ("set", e.segment.number, e.segment.text, e.elements)
    return ("delete", e.segment.number, e.segment.text)


def _plain(loc) -> tuple:
    """A located finding as values: its edits by the segments' numbers and text, not identity."""
    f = loc.finding
    fix = (f.fix.description, f.fix.justification, [_edit(e) for e in f.fix.edits]) if f.fix else None
    return (
        f.rule,
        f.severity,
        f.message,
        f.fix_safety,
        f.claim,
        f.line,
        f.line_id,
        fix,
        f.source,
        f.segment,
        loc.doc,
        loc.unit,
    )


def _fix_outcome(paths: list[Path], options: RuleOptions, unsafe: bool) -> tuple:
    docs = [load_document(str(p)) for p in paths]
    outcome = fix_documents(docs, all_rules(), options, unsafe=unsafe, normalizing=normalizing_rules())
    return (
        [(a.rule, a.claim, a.line, a.description, a.source) for a in outcome.applied],
        [(f.rule, f.claim, f.line, why) for f, why in outcome.dropped],
        [_plain(loc) for loc in outcome.remaining],
        [_plain(loc) for loc in outcome.initial],
        outcome.passes,
        [doc.emit() for doc in docs],
    )


def _labels(paths: list[Path], options: RuleOptions) -> list:
    docs = [load_document(str(p)) for p in paths]
    return [_plain(loc) for loc in check_as_fix_would(docs, all_rules(), options)]


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fix_with_the_memo_is_fix_without_it(monkeypatch: pytest.MonkeyPatch, unsafe: bool) -> None:
    paths = _inputs()
    options = RuleOptions(clia_number=CLIA, today=date(2026, 11, 22))
    with_memo = (_fix_outcome(paths, options, unsafe), _labels(paths, options))
    _no_memo(monkeypatch)
    without = (_fix_outcome(paths, options, unsafe), _labels(paths, options))
    assert with_memo[0][0], "fixes were applied"
    assert with_memo == without


@pytest.mark.corpus
def test_fix_with_the_memo_is_fix_without_it_on_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    paths = corpus_files("837p")
    if not paths:
        pytest.skip("corpus: ../shared/corpus (the stupidedi 837P files), or MOHSEDI_CORPUS, is not there")
    options = RuleOptions(today=date(2026, 11, 22))
    with_memo = [_fix_outcome([p], options, True) for p in paths]
    _no_memo(monkeypatch)
    assert with_memo == [_fix_outcome([p], options, True) for p in paths]


def test_a_memo_is_dropped_for_other_rules_or_options() -> None:
    doc = load_document(str(SAMPLES / "12-modifier-and-x12-errors.837"))
    memo = CheckMemo()
    rules = all_rules()
    plain = check_documents([doc], rules, RuleOptions(), memo=memo)
    with_clia = check_documents([doc], rules, RuleOptions(clia_number=CLIA), memo=memo)
    mohs017 = {loc.finding.fix_safety for loc in with_clia if loc.finding.rule == "MOHS017"}
    assert mohs017 == {FixSafety.SAFE}
    assert {loc.finding.fix_safety for loc in plain if loc.finding.rule == "MOHS017"} == {FixSafety.MANUAL}
    only_x12 = [r for r in rules if r.code.startswith("X12")]
    assert {loc.finding.rule[:3] for loc in check_documents([doc], only_x12, RuleOptions(), memo=memo)} == {"X12"}


def test_check_as_fix_would_leaves_every_segment_where_it_was_read() -> None:
    doc = load_document(str(HEAVY))
    units = list(doc.units)
    placed = [(s, s.node) for _, cs in doc.claim_sets for s in cs.transaction.segments]
    text = doc.emit()
    check_as_fix_would([doc], all_rules(), RuleOptions(clia_number=CLIA))
    assert doc.units == units
    assert [(s, s.node) for _, cs in doc.claim_sets for s in cs.transaction.segments] == placed
    assert doc.emit() == text


def test_claim_keys_tell_a_rewritten_claim_from_the_one_read() -> None:
    doc = load_document(str(HEAVY))
    (u, cs), *_ = doc.claim_sets
    claim = cs.claims[0]
    before, after = _edited(
        doc, u, [SetElements(claim.clm, (*claim.clm.elements[:2], "1.00", *claim.clm.elements[3:]))]
    )
    assert after is not None
    keys_before = [engine.claim_key(c) for c in before.claims]
    keys_after = [engine.claim_key(c) for c in after.claims]
    assert keys_before[0] != keys_after[0]
    assert keys_before[1:] == keys_after[1:]  # the other claims are the same segments, placed alike
    assert emit(after.transaction.segments) != emit(before.transaction.segments)


# ---------------------------------------------------------------- NCCI answers


def test_ncci_answers_follow_edits_added_later() -> None:
    data = shipped_edits().copy()
    day = date(2026, 10, 6)
    first = data.mue_for("17311", day)
    assert first is not None
    again = data.mue_for("17311", day)
    assert again is first
    data.add([MueEdit("99999", 2, "3", "test", SHIPPED_RELEASE)])
    assert data.mue_for("99999", day) is not None
    assert data.primaries_for("17312", day) == data.primaries_for("17312", day)
    listed = data.primaries_for("17312", day)
    if listed:
        listed.clear()  # a caller's copy: the data's answer is not changed by it
        assert data.primaries_for("17312", day)
