"""The shortcuts that make check and fix fast give the answers of the long way.

The engine keeps what the rules found per claim and per day across the checks of one run
(``CheckMemo``), judges only the elements a fix rewrote (``problems_gained``), counts repeat
limits only for claims whose structure changed (``_repeat_gained``), puts a dry run's placements
back from saved nodes, and the NCCI data keeps its answers. Each is compared here with the
computation it replaces.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi.claims.reader import ClaimSet, read_claim_set
from mohsedi.codes.ncci import SHIPPED_RELEASE, MueEdit, shipped_edits
from mohsedi.guide.limits import problems_gained, segment_problems
from mohsedi.guide.walker import replace_set
from mohsedi.policy.caselog import load_case_log
from mohsedi.rules import engine
from mohsedi.rules.base import Docs, Fix, FixSafety, InsertAfter, Rule, Scope, SetElements, Severity
from mohsedi.rules.context import ClaimContext, EnvelopeContext, RuleOptions
from mohsedi.rules.edits import with_element, with_procedure
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
from mohsedi.rules.registry import all_rules, get_rule, rule
from mohsedi.x12.segments import Segment, emit
from tests.conftest import SAMPLES, corpus_files
from tests.rules.harness import wrap

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


def _no_in_place_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine, "_rewritten_in_place", lambda cs, segments, memo=None: None)


@pytest.mark.corpus
@pytest.mark.parametrize("turn_off", [_no_memo, _no_in_place_shortcut], ids=["memo", "in-place"])
def test_fix_with_a_shortcut_is_fix_without_it_on_the_corpus(monkeypatch: pytest.MonkeyPatch, turn_off) -> None:
    paths = corpus_files("837p")
    if not paths:
        pytest.skip("corpus: ../shared/corpus (the stupidedi 837P files), or MOHSEDI_CORPUS, is not there")
    options = RuleOptions(today=date(2026, 11, 22))
    with_it = [_fix_outcome([p], options, True) for p in paths]
    turn_off(monkeypatch)
    assert with_it == [_fix_outcome([p], options, True) for p in paths]


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


def test_a_dry_run_that_places_sets_again_leaves_every_segment_where_it_was_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Placements are taken only before a set is placed again (an inserted REF*6R takes the long
    way; a claim held back runs the loop again from the set as read): after the dry run, and
    between the runs of fix, every segment is where it was read."""
    placed = []
    place = engine._place

    def counted(*args, **kwargs):
        placed.append(1)
        return place(*args, **kwargs)

    monkeypatch.setattr(engine, "_place", counted)
    claims = [{"lines": ["17311 noref", "17312"]}, {"total": "1", "lines": ["17311"]}, {"lines": ["17311 @1"]}]
    text = wrap(claims)
    doc = load_document("case.837", text)
    read = [(s, s.node) for _, cs in doc.claim_sets for s in cs.transaction.segments]
    labels = check_as_fix_would([doc], all_rules(), RuleOptions(today=date(2026, 11, 22)))
    assert placed, "the dry run placed a set again"
    assert any(loc.finding.rule == "X12004" and loc.finding.fix_safety == FixSafety.SAFE for loc in labels)
    assert [(s, s.node) for _, cs in doc.claim_sets for s in cs.transaction.segments] == read
    assert doc.emit() == text
    assert not engine._OPEN, "every snapshot is closed"


def test_a_claim_finding_made_in_the_file_is_the_finding_made_then_given_the_file() -> None:
    """The engine makes each finding with its file (``MAKING``) instead of copying it with the
    file afterwards: every claim's findings are what its rules give, asked directly, then said
    to be in the file; a rule asked outside a check still makes findings with no file."""
    options = RuleOptions(clia_number=CLIA, case_log=load_case_log(SAMPLES / "case-log.csv"))
    rules = all_rules()
    claim_rules = [r for r in rules if r.scope == Scope.CLAIM]
    checked = 0
    for path in _inputs():
        doc = load_document(str(path))
        memo = CheckMemo()
        found = check_documents([doc], rules, options, memo=memo)
        assert all(loc.finding.source == doc.source for loc in found)
        for entry in memo._claims.values():
            claim = entry.claim
            codes = {ln.procedure for ln in claim.lines}
            chosen = [r for r in claim_rules if r.can_fire(codes)]
            if claim.frequency == "8":  # a void is checked by the X12 rules only
                chosen = [r for r in chosen if r.code.startswith("X12")]
            direct = [f for r in chosen for f in r.check(r, ClaimContext(claim, options))]
            assert all(f.source is None for f in direct)
            assert entry.findings == [engine.with_source(f, doc.source) for f in direct]
            checked += len(direct)
    assert checked > 100


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


# ---------------------------------------------------------------- rewrites in place


def _the_long_way(cs: ClaimSet, segments: list) -> ClaimSet | None:
    """Placing the whole set again and reading every claim, as ``_rebuild`` does without the shortcut."""
    rebuilt = replace_set(cs.transaction, segments)
    read = read_claim_set(rebuilt) if rebuilt.ok else None
    replace_set(cs.transaction, cs.transaction.segments)  # the set as read keeps its placements
    return read if read is not None and read.error is None else None


REWRITES = st.lists(
    st.tuples(
        st.integers(0, 10**6), st.integers(1, 9), VALUES | st.sampled_from(["X4", "472", "6R", "82", "MS00000001"])
    ),
    min_size=1,
    max_size=4,
)


def _rewritten(old: list, rewrites: list[tuple[int, int, str]], *, same: bool = False) -> list:
    """The segments with each (segment index, element, value) written (the value they had: ``same``)."""
    edits = {}
    for index, element, value in rewrites:
        seg = old[index % len(old)]
        elements = list(edits[id(seg)].elements if id(seg) in edits else seg.elements)
        elements += [""] * (element + 1 - len(elements))
        elements[element] = seg.element(element) if same else value
        edits[id(seg)] = SetElements(seg, tuple(elements))
    return _apply_owned(old, [(e, 0) for e in edits.values()])[0]


def _applied_by_scanning(segments: list, edits: list) -> tuple[list, list]:
    """Edits applied as ``_apply_owned`` did before it found segments by their numbers: every
    segment looked at, in order. The segments out, and (owner, replaced, text) of each made."""
    replace, deleted, inserts = {}, set(), defaultdict(list)
    for edit, owner in edits:
        if isinstance(edit, SetElements):
            replace.setdefault(id(edit.segment), (edit, owner))
        elif isinstance(edit, InsertAfter):
            inserts[id(edit.anchor)].extend((elements, owner) for elements in edit.elements)
        else:
            deleted.add(id(edit.segment))
    out, made = [], []
    for seg in segments:
        if id(seg) in deleted:
            continue
        current = seg
        if id(seg) in replace:
            edit, owner = replace[id(seg)]
            [current], _ = _apply_owned([seg], [(edit, owner)])
            made.append((owner, seg, current.text))
        out.append(current)
        for elements, owner in inserts.get(id(seg), ()):
            new = seg.new_sibling("")
            new.set_elements(list(elements))
            out.append(new)
            made.append((owner, None, new.text))
    return out, made


EDITS = st.lists(
    st.tuples(st.sampled_from(["set", "insert", "delete", "elsewhere"]), st.integers(0, 10**6), st.integers(0, 3)),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(edits=EDITS, shifted=st.booleans())
def test_edits_applied_where_the_numbers_put_them_are_edits_applied_by_scanning(edits: list, shifted: bool) -> None:
    """``_apply_owned`` finds the edited segments by their numbers (a set's segments are numbered
    one by one as read): the same segments out, and the same record of what each edit made, as
    looking at every segment; also where the numbers no longer say where a segment is (after an
    insertion: ``shifted``), and for an edit of a segment of another set."""
    doc = load_document(str(HEAVY))
    (_, cs), (_, other), *_ = doc.claim_sets
    segments = list(cs.transaction.segments)
    if shifted:
        segments, _ = _apply_owned(segments, [(InsertAfter(segments[3], (("REF", "X4", "05D0987655"),)), 0)])
    owned = []
    for owner, (kind, index, element) in enumerate(edits):
        seg = segments[index % len(segments)]
        if kind == "set":
            owned.append((SetElements(seg, (*seg.elements[:element], "X", *seg.elements[element + 1 :])), owner))
        elif kind == "insert":
            owned.append((InsertAfter(seg, (("NTE", "ADD", str(owner)),)), owner))
        elif kind == "delete":
            owned.append((engine.Delete(seg), owner))
        else:
            far = other.transaction.segments[index % len(other.transaction.segments)]
            owned.append((SetElements(far, (far.id, "X")), owner))
    out, made = _apply_owned(segments, owned)
    want, want_made = _applied_by_scanning(segments, owned)
    assert [s.text for s in out] == [s.text for s in want]
    assert [s for s in out if any(s is t for t in segments)] == [s for s in want if any(s is t for t in segments)]
    assert [(owner, old, new.text) for owner, old, new in made.values()] == want_made


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rewrites=REWRITES)
def test_a_rewrite_in_place_reads_as_placing_the_set_again(rewrites: list[tuple[int, int, str]]) -> None:
    doc = load_document(str(HEAVY))
    (u, cs), *_ = doc.claim_sets
    old = cs.transaction.segments
    segments = _rewritten(old, rewrites)
    fast = engine._rewritten_in_place(cs, segments)
    nodes = [s.node for s in segments]
    slow = _the_long_way(cs, segments)
    if fast is None:
        return  # the shortcut declined: _rebuild goes the long way
    assert slow is not None, "the shortcut kept a set the long way cannot read"
    assert [s.node for s in slow.transaction.segments] == nodes
    assert fast.transaction.segments == slow.transaction.segments
    assert fast.claims == slow.claims
    assert [engine.claim_key(c) for c in fast.claims] == [engine.claim_key(c) for c in slow.claims]


def test_the_shortcut_takes_fixes_that_rewrite_claims_and_declines_others() -> None:
    doc = load_document(str(HEAVY))
    (u, cs), *_ = doc.claim_sets
    first, second = cs.claims[:2]
    total = SetElements(first.clm, (*first.clm.elements[:2], "1.00", *first.clm.elements[3:]))
    modifier = SetElements(second.lines[0].sv1, ("SV1", "HC:17311:XS", *second.lines[0].sv1.elements[2:]))
    segments, _ = _apply_owned(cs.transaction.segments, [(total, 0), (modifier, 0)])
    fast = engine._rewritten_in_place(cs, segments)
    assert fast is not None
    assert fast.claims[2:] == cs.claims[2:] and all(a is b for a, b in zip(fast.claims[2:], cs.claims[2:], strict=True))
    assert fast.claims[0].total_charge == Decimal("1.00")
    assert fast.claims[1].lines[0].modifiers == ["XS"]
    assert fast.claims[:2] == _the_long_way(cs, segments).claims[:2]
    # Another qualifier (REF*X4 made REF*G1), a segment above the claims, an added segment: the long way.
    ref = next(s for s in first.segments if s.id == "REF" and s.element(1) == "X4")
    hl = first.subscriber.segments[0]
    for edits in (
        [(SetElements(ref, ("REF", "G1", "AUTH1")), 0)],
        [(SetElements(hl, (*hl.elements[:4], "1")), 0)],
        [(InsertAfter(ref, (("REF", "G1", "AUTH1"),)), 0)],
    ):
        assert engine._rewritten_in_place(cs, _apply_owned(cs.transaction.segments, edits)[0]) is None


@pytest.mark.corpus
def test_a_rewrite_in_place_reads_as_placing_the_set_again_on_the_corpus() -> None:
    """Each claim of every corpus set given another CLM02: the corpus has dependents (2000C),
    the heavy batch and the samples do not."""
    paths = corpus_files("837p")
    if not paths:
        pytest.skip("corpus: ../shared/corpus (the stupidedi 837P files), or MOHSEDI_CORPUS, is not there")
    taken = 0
    dependents = 0
    for path in paths:
        for _, cs in load_document(str(path)).claim_sets:
            for claim in cs.claims:
                clm = claim.clm
                edit = SetElements(clm, (*clm.elements[:2], "1.00", *clm.elements[3:]))
                segments, _ = _apply_owned(cs.transaction.segments, [(edit, 0)])
                fast = engine._rewritten_in_place(cs, segments)
                if fast is None:
                    continue
                taken += 1
                dependents += claim.patient is not None
                slow = _the_long_way(cs, segments)
                assert slow is not None and fast.claims == slow.claims, path.name
    assert taken and dependents, (taken, dependents)


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fix_with_the_in_place_shortcut_is_fix_without_it(monkeypatch: pytest.MonkeyPatch, unsafe: bool) -> None:
    paths = _inputs()
    options = RuleOptions(clia_number=CLIA, today=date(2026, 11, 22))
    taken = []
    shortcut = engine._rewritten_in_place

    def counted(cs, segments, memo=None):
        found = shortcut(cs, segments, memo)
        taken.append(found is not None)
        return found

    monkeypatch.setattr(engine, "_rewritten_in_place", counted)
    with_it = (_fix_outcome(paths, options, unsafe), _labels(paths, options))
    assert any(taken), "the shortcut was used"
    _no_in_place_shortcut(monkeypatch)
    assert with_it == (_fix_outcome(paths, options, unsafe), _labels(paths, options))


# ---------------------------------------------------------------- rules that need an option


def test_a_rule_that_needs_the_case_log_finds_nothing_without_it() -> None:
    """What lets the engine skip the DOC rules when no case log is given: asked anyway, about
    every claim of the samples and the heavy batch, they find nothing; given the log, they do."""
    needing = [r for r in all_rules() if "case_log" in r.needs]
    assert {r.code for r in needing} == {"DOC001", "DOC002", "DOC003", "DOC004", "DOC005", "DOC006"}
    assert all(r.needs == ("case_log",) for r in needing)
    assert {r.needs for r in all_rules() if r.needs} == {("case_log",), ("tr3",)}
    with_log = RuleOptions(case_log=load_case_log(SAMPLES / "case-log.csv"))
    found_with_log = 0
    for path in _inputs():
        for _, cs in load_document(str(path)).claim_sets:
            for claim in cs.claims:
                for r in needing:
                    assert list(r.check(r, ClaimContext(claim, RuleOptions()))) == [], (r.code, claim)
                    found_with_log += len(list(r.check(r, ClaimContext(claim, with_log))))
    assert found_with_log > 0


def test_a_rule_that_needs_tr3_finds_nothing_without_it() -> None:
    """What lets the engine skip the TR3 rules when --tr3 is off (a switch that is off is not
    given): asked anyway about every file of the samples and the heavy batch, they find nothing."""
    needing = [r for r in all_rules() if r.needs == ("tr3",)]
    assert {r.code for r in needing} == {"TR3001", "TR3002", "TR3003", "TR3004"}
    for path in _inputs():
        doc = load_document(str(path))
        for r in needing:
            assert list(r.check(r, EnvelopeContext(tuple(doc.units), RuleOptions()))) == [], (r.code, path)
    assert engine.running(needing, RuleOptions()) == {}
    assert sum(map(len, engine.running(needing, RuleOptions(tr3=True)).values())) == len(needing)


def test_the_engine_skips_a_rule_whose_need_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []
    rules = []
    for r in all_rules():
        original = r.check

        def counted(this, ctx, original=original):
            asked.append(this.code)
            return original(this, ctx)

        rules.append(dataclasses.replace(r, check=counted))
    doc = load_document(str(SAMPLES / "14-case-log-errors.837"))
    without = check_documents([doc], rules, RuleOptions())
    assert asked and not any(code.startswith("DOC") for code in asked)
    asked.clear()
    with_log = check_documents([doc], rules, RuleOptions(case_log=load_case_log(SAMPLES / "case-log.csv")))
    assert {"DOC001", "DOC003"} <= set(asked)
    assert {loc.finding.rule for loc in with_log} - {loc.finding.rule for loc in without} >= {"DOC001"}
    # An unknown option named as a need is refused when the rule is declared.
    with pytest.raises(ValueError, match="not rule options"):
        declare = rule(
            "DOC901",
            "x",
            "x",
            severity=Severity.INFO,
            fix=FixSafety.MANUAL,
            scope=Scope.CLAIM,
            docs=rules[0].docs,
            needs=("log",),
        )
        declare(lambda this, ctx: ())


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


# ---------------------------------------------------------------- what a rule reads


def _documents_with_every_claim() -> list:
    """The heavy batch, the samples, every rule case, generated claims and the corpus."""
    import random

    from mohsedi import synth
    from tests.rules.harness import load_cases

    docs = [load_document(str(p)) for p in _inputs()]
    docs += [load_document(f"case-{i}", wrap(c.claims, c.envelope)) for i, c in enumerate(load_cases())]
    rng = random.Random(19)
    docs.append(load_document("random", synth.build_837p([synth.random_mohs_claim(rng, n) for n in range(300)])))
    docs += [load_document(str(p)) for p in corpus_files("837p")]
    return [d for d in docs if d.error is None]


def _with_clm02(doc, value: str):
    """The document with CLM02 of every claim set to ``value`` (each set placed and read again)."""
    out = engine.Document(doc.source, list(doc.units))
    for u, cs in doc.claim_sets:
        if cs.error is not None or not cs.claims:
            continue
        edits = [SetElements(c.clm, (*c.clm.elements[:2], value, *c.clm.elements[3:])) for c in cs.claims]
        rebuilt = _rebuild(out, u, engine.apply_edits(cs.transaction.segments, edits))
        assert rebuilt is not None
        out.units[u] = rebuilt
    return out


def _values(loc) -> tuple:
    """A finding as values, its edits by segment number and elements (an anchor that is the
    rewritten CLM is the engine's to catch: it runs such a rule again)."""
    f = loc.finding
    edits = []
    for e in f.fix.edits if f.fix else ():
        target = e.anchor if isinstance(e, InsertAfter) else e.segment
        edits.append((type(e).__name__, target.number, getattr(e, "elements", None)))
    return (*_plain(loc)[:7], f.fix.description if f.fix else None, edits, f.segment, loc.doc, loc.unit)


@pytest.mark.parametrize("value", ["1", "0", "99999.99", "12.5", "", "1.2.3", "-5"])
def test_a_rule_that_does_not_read_clm02_finds_the_same_whatever_it_holds(value: str) -> None:
    """What lets the engine keep a rule's findings on a claim whose CLM02 a fix rewrote, and
    check judge a CLM02 fix alone: every claim, day and envelope rule that declares it does not
    read CLM02 finds the same, on every claim of the samples, the rule cases, generated claims
    and the corpus, with CLM02 set to something else."""
    blind = [r for r in all_rules() if r.reads is not None and "CLM02" not in r.reads]
    assert len(blind) > 30 and "X12002" not in {r.code for r in blind}
    assert {"X12001", "X12004", "X12007", "X12008"} <= {r.code for r in blind if r.scope == Scope.ENVELOPE}
    docs = _documents_with_every_claim()
    options = RuleOptions(clia_number=CLIA, today=date(2026, 11, 22), case_log=load_case_log(SAMPLES / "case-log.csv"))
    before = [_values(loc) for loc in check_documents(docs, blind, options)]
    after = [_values(loc) for loc in check_documents([_with_clm02(d, value) for d in docs], blind, options)]
    assert before and before == after


def test_x12002_reads_clm02() -> None:
    """The declaration is not empty where it must not be: X12002 finds a CLM02 set wrong."""
    docs = [load_document(str(p)) for p in _inputs()]
    x12002 = [r for r in all_rules() if r.code == "X12002"]
    assert x12002[0].reads == frozenset({"CLM02"})
    found = check_documents([_with_clm02(d, "1") for d in docs], x12002, RuleOptions())
    assert len(found) > len(check_documents(docs, x12002, RuleOptions()))


def _reading_everything() -> list:
    return [dataclasses.replace(r, reads=None) for r in all_rules()]


@pytest.mark.parametrize("unsafe", [False, True], ids=["safe", "unsafe"])
def test_fix_keeping_what_unread_elements_left_alone_is_fix_running_every_rule_again(
    monkeypatch: pytest.MonkeyPatch, unsafe: bool
) -> None:
    """A claim a fix rewrote only in CLM02 is checked again by X12002 alone (the other rules, and
    its days, keep what they found): the same fixes, findings, labels and bytes as running every
    rule again on it."""
    paths = _inputs()
    options = RuleOptions(clia_number=CLIA, today=date(2026, 11, 22))
    kept = []
    partial = engine._check_changed

    def counted(chosen, cctx, before, keeps, replaced):
        kept.extend(r.code for r in chosen if r.code in keeps)
        return partial(chosen, cctx, before, keeps, replaced)

    monkeypatch.setattr(engine, "_check_changed", counted)

    def outcome(rules) -> tuple:
        docs = [load_document(str(p)) for p in paths]
        fixed = fix_documents(docs, rules, options, unsafe=unsafe, normalizing=normalizing_rules())
        labels = check_as_fix_would([load_document(str(p)) for p in paths], rules, options)
        return (
            [(a.rule, a.claim, a.line, a.description, a.source) for a in fixed.applied],
            [(f.rule, f.claim, f.line, why) for f, why in fixed.dropped],
            [_plain(loc) for loc in fixed.remaining],
            fixed.passes,
            [doc.emit() for doc in docs],
            [_plain(loc) for loc in labels],
        )

    declared = outcome(all_rules())
    assert kept, "claims were checked again only in part"
    kept.clear()
    assert declared == outcome(_reading_everything())
    assert not kept
    assert declared[0]


# ---------------------------------------------------------------- states of the fix loop


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rewrites=REWRITES, same=st.booleans(), shift=st.booleans())
def test_a_fix_loop_state_has_the_same_text_as_another_exactly_when_they_emit_alike(
    rewrites: list[tuple[int, int, str]], same: bool, shift: bool
) -> None:
    """The fix loop tells a state it was in by comparing only the segments two states do not
    share: the answer of comparing their whole texts, whatever was rewritten (to the value it
    had, or another), and when a line break moves from one segment's trailer to the next's lead."""
    doc = load_document(str(HEAVY))
    (_, cs), *_ = doc.claim_sets
    old = cs.transaction.segments
    segments = _rewritten(old, rewrites, same=same)
    if shift:  # the same text cut elsewhere: a line break at the end of one segment or the start of the next
        i = rewrites[0][0] % (len(segments) - 1)
        first, second = segments[i], segments[i + 1]
        broken = Segment(first.text, first.trailer + "\n", first.delimiters, first.lead)
        led = Segment(second.text, second.trailer, second.delimiters, "\n" + second.lead)
        left = [*segments[:i], broken, second, *segments[i + 2 :]]
        right = [*segments[:i], first, led, *segments[i + 2 :]]
        assert emit(left) == emit(right)
        assert engine._State(left).same_text(engine._State(right))
        assert not engine._State(left).same_text(engine._State(segments))
    a, b = engine._State(list(old)), engine._State(segments)
    assert a.same_text(b) == (emit(old) == emit(segments)) == b.same_text(a)


# ---------------------------------------------------------------- fixes judged without applying them


def _label_options() -> list[RuleOptions]:
    log = load_case_log(SAMPLES / "case-log.csv")
    return [
        RuleOptions(today=date(2026, 11, 22)),
        RuleOptions(clia_number=CLIA, today=date(2026, 11, 22), case_log=log),
    ]


def test_fixes_judged_alone_label_findings_as_the_whole_dry_run_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """``check_as_fix_would`` leaves out of its dry run the fixes it can judge on their own claim,
    and checks the dry run of the others went as the whole one would: the same labels (fixes
    offered, withheld with their reasons) as the whole dry run, file by file and as one batch,
    over the heavy batch, the samples, every rule case, generated claims and the corpus; each
    way through (every fix judged alone, the rest's dry run accepted, and refused) is taken."""
    docs = _documents_with_every_claim()
    ways: Counter[str] = Counter()
    judge, accept = engine._decided_alone, engine._as_if_applied

    def judged(*args):
        alone = judge(*args)
        ways["alone" if alone else "none alone"] += 1
        return alone

    def accepted(*args):
        ok = accept(*args)
        ways["accepted" if ok else "refused"] += 1
        return ok

    def labels(options: RuleOptions) -> list:
        out = [[_plain(loc) for loc in check_as_fix_would([d], all_rules(), options)] for d in docs]
        out.append([_plain(loc) for loc in check_as_fix_would(docs, all_rules(), options)])
        return out

    for options in _label_options():
        monkeypatch.setattr(engine, "_decided_alone", judged)
        monkeypatch.setattr(engine, "_as_if_applied", accepted)
        shortcut = labels(options)
        monkeypatch.setattr(engine, "_decided_alone", lambda *args: {})
        assert shortcut == labels(options)
    assert ways["alone"] and ways["accepted"], ways
    assert ways["alone"] > ways["accepted"] + ways["refused"], "sets whose every fix was judged alone"


JUDGE_ALONE, ACCEPT_DRY_RUN = engine._decided_alone, engine._as_if_applied


def _test_rule(code: str, scope: Scope, check, **declared) -> Rule:
    docs = Docs(what="test", why="test", example="test", fix="safe: test")
    return Rule(code, code.lower(), code, Severity.ERROR, FixSafety.SAFE, scope, (), (), docs, check, **declared)


def _add_xs_to(pcn: str) -> Rule:
    def add_xs(this: Rule, ctx: ClaimContext):
        line = ctx.claim.lines[0]
        if ctx.claim.patient_control_number == pcn and "XS" not in line.modifiers:
            yield this.on(ctx.claim, line, "wants XS", fix=Fix("add XS", (with_procedure(line, modifiers=["XS"]),)))

    return _test_rule("X12905", Scope.CLAIM, add_xs)


def _both_ways(monkeypatch: pytest.MonkeyPatch, text: str, rules: list) -> tuple[list, Counter[str]]:
    """The labels with fixes judged alone and without, which must agree; and which ways were taken."""
    ways: Counter[str] = Counter()
    judge, accept = JUDGE_ALONE, ACCEPT_DRY_RUN

    def judged(*args):
        alone = judge(*args)
        if alone:
            ways["alone"] += len(alone)
        return alone

    def accepted(*args):
        ok = accept(*args)
        ways["accepted" if ok else "refused"] += 1
        return ok

    options = RuleOptions(today=date(2026, 11, 22))
    monkeypatch.setattr(engine, "_decided_alone", judged)
    monkeypatch.setattr(engine, "_as_if_applied", accepted)
    shortcut = check_as_fix_would([load_document("case.837", text)], rules, options)
    monkeypatch.setattr(engine, "_decided_alone", lambda *args: {})
    whole = check_as_fix_would([load_document("case.837", text)], rules, options)
    assert [_plain(loc) for loc in shortcut] == [_plain(loc) for loc in whole]
    return [loc.finding for loc in shortcut], ways


def test_a_dry_run_that_withholds_a_fix_is_run_again_with_every_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """C1's wrong CLM02 is judged alone; C2's fix writes an over-long REF*6R and is withheld: the
    dry run of C2's fix alone is not taken for the whole one (which may withhold more)."""

    def long_line_id(this: Rule, ctx: ClaimContext):
        line = ctx.claim.lines[0]
        ref = next(s for s in line.segments if s.id == "REF" and s.element(1) == "6R")
        if ctx.claim.patient_control_number == "C2":
            yield this.on(ctx.claim, line, "line id", fix=Fix("set a long id", (with_element(ref, 2, "X" * 51),)))

    rules = [get_rule("X12002"), _test_rule("X12901", Scope.CLAIM, long_line_id)]
    text = wrap([{"total": "1", "lines": ["17311 @1"]}, {"lines": ["17311 @1"]}])
    found, ways = _both_ways(monkeypatch, text, rules)
    assert ways == {"alone": 1, "refused": 1}
    [total] = [f for f in found if f.rule == "X12002"]
    assert total.fix_safety == FixSafety.SAFE
    [long] = [f for f in found if f.rule == "X12901"]
    assert long.fix_safety == FixSafety.MANUAL and "longer than 50" in long.message


def test_a_finding_new_on_a_claim_judged_alone_withholds_its_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """C1's wrong CLM02 is judged alone; C2 (same patient and day) gets XS from a safe fix, after
    which a day rule finds something new on C1. Fix would hold C1 back (a finding new on a claim
    it fixed): the dry run that left C1's fix out saw nothing new on a claim it fixed, and is not
    taken for the whole one."""

    def dislikes_xs(this: Rule, ctx):
        if any("XS" in dl.line.modifiers for dl in ctx.lines):
            yield this.on(ctx.lines[0].claim, ctx.lines[0].line, "XS on the day needs a note", safety=FixSafety.MANUAL)

    rules = [get_rule("X12002"), _add_xs_to("C2"), _test_rule("X12907", Scope.DAY, dislikes_xs, reads=frozenset())]
    text = wrap([{"total": "1", "lines": ["17311 @1"]}, {"lines": ["17311 @1"]}])
    found, ways = _both_ways(monkeypatch, text, rules)
    assert ways == {"alone": 1, "refused": 1}
    [total] = [f for f in found if f.rule == "X12002"]
    assert total.fix_safety == FixSafety.MANUAL and "would leave a new X12907 finding" in total.message


def test_a_fix_is_judged_alone_only_when_its_own_rule_reads_what_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule that says it reads no tracked element, or a day rule, is not asked again on a claim
    whose CLM02 its fix rewrote: its finding would come back, and the loop apply it again."""

    def total_one(this: Rule, ctx: ClaimContext):
        clm = ctx.claim.clm
        yield this.finding(
            "CLM02 wanted 1", claim=ctx.claim.patient_control_number, fix=Fix("1", (with_element(clm, 2, "1"),))
        )

    text = wrap([{"lines": ["17311 @1"]}])
    for declared in ({"reads": frozenset()}, {"reads": None}):
        found, ways = _both_ways(monkeypatch, text, [_test_rule("X12909", Scope.CLAIM, total_one, **declared)])
        assert ways.get("alone", 0) == 0
        [one] = found
        assert one.fix_safety == FixSafety.MANUAL and "not fixed" in one.message


def test_a_fix_is_not_judged_alone_beside_a_silencing_rule_that_may_read_what_it_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A claim rule that silences another and may read CLM02 could stop silencing it once CLM02
    is fixed (the finding silenced is in no first check): the fix goes through the dry run."""

    def wrong_total(this: Rule, ctx: ClaimContext):
        if ctx.claim.total_charge == 1:
            yield this.finding("the total is 1", claim=ctx.claim.patient_control_number, safety=FixSafety.MANUAL)

    def silenced(this: Rule, ctx: ClaimContext):
        yield this.finding("a note", claim=ctx.claim.patient_control_number, safety=FixSafety.MANUAL)

    text = wrap([{"total": "1", "lines": ["17311 @1"]}])
    covering = _test_rule("X12911", Scope.CLAIM, wrong_total, suppresses=("X12912",))
    rules = [get_rule("X12002"), covering, _test_rule("X12912", Scope.CLAIM, silenced, reads=frozenset())]
    _, ways = _both_ways(monkeypatch, text, rules)
    assert ways == {}
    _, ways = _both_ways(monkeypatch, text, [*rules[:1], dataclasses.replace(covering, reads=frozenset()), rules[2]])
    assert ways.get("alone") == 1


def test_a_fix_is_not_judged_alone_beside_a_rule_that_may_read_what_it_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    """A day rule that does not declare what it reads may read CLM02: the fix goes through the dry run."""
    quiet = _test_rule("X12908", Scope.DAY, lambda this, ctx: iter(()))
    text = wrap([{"total": "1", "lines": ["17311 @1"]}])
    _, ways = _both_ways(monkeypatch, text, [get_rule("X12002"), quiet])
    assert ways == {}
    _, ways = _both_ways(monkeypatch, text, [get_rule("X12002"), dataclasses.replace(quiet, reads=frozenset())])
    assert ways == {"alone": 1}


def test_a_fix_judged_alone_is_applied_by_fix_and_its_claim_comes_out_clean() -> None:
    """What ``_decided_alone`` promises, against ``fix`` itself: on the heavy batch (a third of its
    claims with a wrong CLM02, each judged alone), every fix judged alone is applied, and no finding of its rule is
    left on its claim."""
    options = RuleOptions(today=date(2026, 11, 22))
    docs = [load_document(str(HEAVY))]
    found = check_documents(docs, all_rules(), options)
    alone = engine._decided_alone(docs, found, all_rules(), options, normalizing_rules())
    totals = [loc for loc in found if loc.finding.rule == "X12002" and loc.finding.fix is not None]
    assert 10 < len(alone) <= len(totals)
    assert {rule for _, _, rule, _, _ in alone} == {"X12002"}
    outcome = fix_documents(docs, all_rules(), options, normalizing=normalizing_rules())
    applied = {(a.rule, a.claim, a.line) for a in outcome.applied}
    assert {(rule, pcn, line) for _, _, rule, pcn, line in alone} <= applied
    left = {(loc.finding.rule, loc.finding.claim) for loc in outcome.remaining}
    assert not {(rule, pcn) for _, _, rule, pcn, _ in alone} & left


def test_a_snapshot_takes_placements_before_a_set_is_placed_again() -> None:
    """A snapshot takes no placements until a set is placed again; one taken then puts back what
    the placing moved, and a closed snapshot is told of placements no more."""
    doc = load_document("case.837", wrap([{"lines": ["17311", "17312"]}, {"lines": ["17311"]}]))
    [(u, cs)] = doc.claim_sets
    read = [s.node for s in cs.transaction.segments]
    snapshot = engine.Snapshot(doc)
    assert snapshot.nodes is None
    second_clm = cs.claims[1].clm
    moved = [s for s in cs.transaction.segments if s is not second_clm]  # what follows lands elsewhere
    engine._place(cs.transaction, moved)
    assert [s.node for s in cs.transaction.segments] != read
    engine._restore(doc, snapshot)
    assert [s.node for s in cs.transaction.segments] == read
    snapshot.close()
    assert snapshot not in engine._OPEN
    engine._place(cs.transaction, moved)
    assert snapshot.nodes is not None and snapshot.nodes[u] == read
    engine._place(cs.transaction, cs.transaction.segments)


@settings(max_examples=500, deadline=None)
@given(text=st.text(alphabet="HIABKCD0123456789.:*^ \t\n\u00a0\u2003abcßéǅﬀ", max_size=30))
def test_an_hi_segment_left_alone_by_x12005s_quick_look_needs_no_change(text: str) -> None:
    """X12005 passes over an HI segment whose text is upper case with no blank anywhere: then
    upper-casing and trimming each element changes none, whatever the characters."""
    if text == text.upper() and text.split() == [text]:
        elements = text.split("*")
        assert [e.strip().upper() for e in elements] == elements
