"""Running rules over a batch of 837P files, and the fix loop.

Findings are values returned by pure check functions. Fixing is a loop: check, apply the
edits of the fixes allowed, re-place the edited transaction sets in the guide, check again;
stop when nothing changes, a state repeats, or after MAX_PASSES. An edit that would leave a
segment with no place in the guide is dropped. Finally the sets that changed are
normalized (LX renumbered, CLM02 recomputed, SE01 recounted) so totals and counts hold.
"""

from __future__ import annotations

import dataclasses
import operator
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import compress, repeat
from typing import NamedTuple

from mohsedi.claims.model import Claim, ServiceLine
from mohsedi.claims.reader import ClaimSet, iter_claim_sets, read_claim_set
from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.guide.compile import NODES
from mohsedi.guide.limits import problems_gained, segment_problems
from mohsedi.guide.loops import to_decimal
from mohsedi.guide.walker import replace_set, walker_for
from mohsedi.rules.base import (
    MAKING,
    TRACKED_ELEMENTS,
    Delete,
    Edit,
    Finding,
    FixSafety,
    InsertAfter,
    Rule,
    Scope,
    SetElements,
)
from mohsedi.rules.context import ClaimContext, DayContext, DayLine, EnvelopeContext, RuleOptions
from mohsedi.x12.envelope import Envelope, TransactionSet
from mohsedi.x12.segments import Segment, emit, read_chunks

MAX_PASSES = 8
NORMALIZING_RULES = ("X12003", "X12002")  # per touched claim; then X12001 per touched set


@dataclass
class Document:
    """One 837P file read into units: envelope segments and claim sets."""

    source: str
    units: list[Envelope | ClaimSet]
    error: X12Error | None = None  # the file could not be read at all

    @property
    def claim_sets(self) -> list[tuple[int, ClaimSet]]:
        return [(i, u) for i, u in enumerate(self.units) if isinstance(u, ClaimSet)]

    def claims(self) -> list[Claim]:
        return [c for _, cs in self.claim_sets for c in cs.claims]

    def quarantined(self) -> list[X12Error]:
        return [cs.error for _, cs in self.claim_sets if cs.error is not None]

    def segments(self) -> list[Segment]:
        out: list[Segment] = []
        for unit in self.units:
            out.extend(unit.transaction.segments if isinstance(unit, ClaimSet) else unit.segments)
        return out

    def emit(self) -> str:
        return emit(self.segments())


def load_document(path: str, text: str | None = None) -> Document:
    """Read a file (or text given for it); an unreadable file becomes a Document with ``error``."""
    try:
        units = read_units([text] if text is not None else read_chunks(path), source=path)
        read = [u for u in iter_claim_sets(units)]
    except X12Error as exc:
        return Document(path, [], exc.located(path))
    except OSError as exc:
        return Document(path, [], X12Error(f"cannot read the file: {exc.strerror or exc}", source=path))
    located = []
    for unit in read:
        if isinstance(unit, ClaimSet) and unit.error is not None:
            unit.error = unit.error.located(path)
        located.append(unit)
    return Document(path, located)


# ---------------------------------------------------------------- checking


class Located(NamedTuple):
    """A finding with where its edits apply: document and unit index. (A named tuple: made for
    every finding of every check, at a fifth of a frozen dataclass's cost.)"""

    finding: Finding
    doc: int
    unit: int | None  # None: find the unit by the edited segment


DayKey = tuple[str, str, date]


def day_keys(claim: Claim) -> Iterator[tuple[DayKey, ServiceLine]]:
    """The Mohs day each dated line belongs to: patient, rendering provider, date of service."""
    for line in claim.lines:
        if line.date_from is not None:
            yield (claim.patient_key, claim.rendering_npi_for(line), line.date_from), line


VOID = "8"  # CLM05-3
REPLACEMENT = "7"
FREQUENCY_RULE_PREFIX = "X12"  # a void is checked by the X12 rules only


def counts_toward_days(claim: Claim, replaced: set[tuple[str, str]]) -> bool:
    """Whether a claim's lines count toward its dates' units and pairs: not a void, and not an
    original whose replacement (same patient and CLM01) is in the batch."""
    if claim.frequency == VOID:
        return False
    return claim.frequency == REPLACEMENT or (claim.patient_key, claim.patient_control_number) not in replaced


class CheckMemo:
    """What the claim and day rules found, kept across the checks of one run: the fix loop's
    passes and the dry run of ``check_as_fix_would`` check the same claims again and again, and
    a fix changes few of them.

    A rule's findings are a function of what it is shown: a claim rule sees one claim (its
    segments, and the 2000A/B/C segments above it), a day rule the lines of one day. So a
    claim's findings are keyed by the identity and guide placement of every segment it is read
    from (an edit always makes a new segment; a segment is never changed in place), and a day's
    by its claims' keys and which of their lines it holds. The memo keeps the claims it has
    seen alive, so no identity in a key is ever reused. Valid for one list of rules and one set
    of options: given others, it starts afresh.

    A claim a fix rewrote in place, only in TRACKED_ELEMENTS, is checked again only by the rules
    that read what changed (``Rule.reads``): the others' findings are those of the claim it was
    read from (``derive``), and so are its days' when no day rule reads what changed.
    """

    __slots__ = ("_for", "_held", "_claims", "_days", "_keys", "_derived", "_replaced", "_runnable", "_keeping")

    def __init__(self) -> None:
        self._for: tuple[object, ...] = ()
        self._held: list[object] = []  # rules and options, kept alive: their ids are in _for
        self._claims: dict[tuple, _Checked] = {}
        self._days: dict[tuple[object, ...], list[Finding]] = {}
        # id(claim) -> (the claim, kept alive so its id is not reused, its key, its entry): a
        # set no fix touched keeps its claim objects from one check to the next
        self._keys: dict[int, tuple[Claim, tuple, _Checked]] = {}
        # id(claim re-read after a fix) -> (it, the claim it was read from, the elements that
        # changed, the segments replaced): see ``derive``
        self._derived: dict[int, tuple[Claim, Claim, frozenset[str], list[Segment]]] = {}
        # ids of segments replaced in claims whose days kept their findings: a kept day finding
        # whose fix edits one of them is found again
        self._replaced: set[int] = set()
        # what depends on the rules alone, worked out once per run: the claim and day rules that
        # can fire on a set of procedure codes, and what a rewrite's changed elements mean for them
        self._runnable: tuple[dict[frozenset[str], list[Rule]], dict[frozenset[str], list[Rule]]] = ({}, {})
        self._keeping: dict[frozenset[str], tuple[frozenset[str], bool]] = {}

    def bind(self, rules: Sequence[Rule], options: RuleOptions) -> None:
        key = (id(options), *map(id, rules))
        if key != self._for:
            self._for = key
            self._held = [options, *rules]
            self._claims.clear()
            self._days.clear()
            self._keys.clear()
            self._derived.clear()
            self._replaced.clear()
            self._runnable = ({}, {})
            self._keeping.clear()

    def derive(self, claim: Claim, read_from: Claim, changed: frozenset[str], replaced: list[Segment]) -> None:
        """``claim`` was read again from ``read_from``'s segments with ``replaced`` rewritten in
        place, ``changed`` (within TRACKED_ELEMENTS) the elements whose values differ."""
        self._derived[id(claim)] = (claim, read_from, changed, replaced)


_node = operator.attrgetter("node")
_claim_number = operator.attrgetter("patient_control_number")
_new_tuple = tuple.__new__  # a NamedTuple made from a tuple, as its _make does, at a third of the cost


def claim_key(claim: Claim, contexts: dict[tuple[int, int, int], tuple] | None = None) -> tuple:
    """Every segment a claim is read from, by identity, and where the guide placed each.

    The segments themselves stand for their identity (a segment compares and hashes by it, and
    a tuple of them is made and hashed at half the cost of a tuple of their ids).
    ``contexts``: the keys of the 2000A/B/C segments already made in this check, by the
    identity of the objects read from them (claims of one subscriber share them)."""
    segs = claim.segments
    head = (id(claim.billing_provider), id(claim.subscriber), id(claim.patient))
    context = contexts.get(head) if contexts is not None else None
    if context is None:
        above: list[Segment] = []
        for part in (claim.billing_provider, claim.subscriber, claim.patient):
            if part is not None:
                above += part.segments
        context = (tuple(above), tuple(map(_node, above)))
        if contexts is not None:
            contexts[head] = context
    return (tuple(segs), tuple(map(_node, segs)), context)


def with_source(f: Finding, source: str) -> Finding:
    """The finding, said to be in ``source`` (dataclasses.replace costs four times as much)."""
    if f.source == source:
        return f
    return Finding(
        f.rule,
        f.severity,
        f.message,
        f.fix_safety,
        f.claim,
        f.line,
        f.line_id,
        f.fix,
        f.related_lines,
        source,
        f.segment,
        f.data_release,
        f.claim_key,
    )


@dataclass(slots=True)
class _Checked:
    """One claim's entry in the memo."""

    token: int  # stands for the claim's key in the keys of its days
    claim: Claim  # the claim first seen with this key: keeps the segments of the key alive
    findings: list[Finding]  # of the claim rules, the source set
    days: list[tuple[DayKey, int]]  # the Mohs day of each dated line, and the line's index


def _claim_days(claim: Claim) -> list[tuple[DayKey, int]]:
    """The Mohs day of each dated line (as ``day_keys``), with the line's index in the claim."""
    patient = claim.patient_key
    return [
        ((patient, claim.rendering_npi_for(line), line.date_from), i)
        for i, line in enumerate(claim.lines)
        if line.date_from is not None
    ]


def _day_groups_of(
    seen: list[tuple[Claim, int, int, _Checked]],
) -> dict[DayKey, list[tuple[Claim, int, int, _Checked, int]]]:
    """The lines of each Mohs day, in file order: (claim, document, unit, its entry, line index).
    A void, and an original whose replacement is in the batch, count toward no day."""
    replaced = {(c.patient_key, c.patient_control_number) for c, _, _, _ in seen if c.frequency == REPLACEMENT}
    groups: dict[DayKey, list[tuple[Claim, int, int, _Checked, int]]] = defaultdict(list)
    for claim, d, u, checked in seen:
        if not checked.days or claim.frequency == VOID:
            continue
        if replaced and not counts_toward_days(claim, replaced):  # (no replacement in the batch: every claim counts)
            continue
        for key, i in checked.days:
            groups[key].append((claim, d, u, checked, i))
    return groups


def check_documents(
    docs: Sequence[Document], rules: Sequence[Rule], options: RuleOptions, *, memo: CheckMemo | None = None
) -> list[Located]:
    """Every finding of the rules over the batch, the generic ones a specific rule covers left out.

    ``memo``: findings of earlier checks of the same claims with the same rules and options
    (the fix loop passes one), reused for the claims and days that did not change."""
    was = MAKING.source
    try:
        return _check(docs, rules, options, memo if memo is not None else CheckMemo())
    finally:
        MAKING.source = was  # findings made after the check, by rules called directly, have none


def _check(docs: Sequence[Document], rules: Sequence[Rule], options: RuleOptions, memo: CheckMemo) -> list[Located]:
    memo.bind(rules, options)
    claim_memo = memo._claims
    day_memo = memo._days
    key_memo = memo._keys
    found: list[Located] = []
    by_scope = running(rules, options)
    claim_cache, day_cache = memo._runnable
    keeping = memo._keeping  # what changed in a claim a fix rewrote -> what keeps its findings
    derived = memo._derived
    contexts: dict[tuple[int, int, int], tuple] = {}
    seen: list[tuple[Claim, int, int, _Checked]] = []  # every claim, where it is, what it gave
    for d, doc in enumerate(docs):
        if doc.error is not None:
            continue
        source = MAKING.source = doc.source  # the rules' findings are made in it
        if by_scope[Scope.ENVELOPE]:
            ctx = EnvelopeContext(tuple(doc.units), options)
            for r in by_scope[Scope.ENVELOPE]:
                found.extend(Located(with_source(f, source), d, None) for f in r.check(r, ctx))
        claim_rules = by_scope[Scope.CLAIM]
        for u, cs in doc.claim_sets:
            for claim in cs.claims:
                made = key_memo.get(id(claim))
                known: _Checked | None
                if made is not None and made[0] is claim:
                    known = made[2]  # checked before, as this very object: no key to hash again
                else:
                    key = claim_key(claim, contexts)
                    known = claim_memo.get(key)
                if known is None:
                    before = _derived_from(memo, claim) if derived else None
                    if before is not None:
                        keeps = keeping.get(before[1]) or _keeping(keeping, before[1], claim_rules, by_scope)
                    findings: list[Finding] = []
                    if claim_rules:
                        cctx = _new_tuple(ClaimContext, (claim, options))  # without NamedTuple's __new__
                        codes = frozenset([ln.procedure for ln in claim.lines])
                        chosen = claim_cache.get(codes) or runnable(claim_rules, codes, claim_cache)
                        if claim.frequency == VOID:
                            chosen = [r for r in chosen if r.code.startswith(FREQUENCY_RULE_PREFIX)]
                        if before is None:
                            for r in chosen:
                                findings.extend(r.check(r, cctx))
                        else:
                            findings = _check_changed(chosen, cctx, before[0], keeps[0], before[2])
                    token = len(claim_memo)
                    if before is not None and keeps[1]:
                        # No day rule reads what changed: the claim's days are the days they were.
                        token = before[0].token
                        memo._replaced.update(map(id, before[2]))
                    known = claim_memo[key] = _Checked(token, claim, findings, _claim_days(claim))
                if made is None or made[0] is not claim:
                    key_memo[id(claim)] = (claim, key, known)
                seen.append((claim, d, u, known))
                if known.findings:
                    found.extend([_new_tuple(Located, (f, d, u)) for f in known.findings])
    day_rules = by_scope[Scope.DAY]
    if day_rules:
        replaced = memo._replaced
        for (patient, npi, day), entries in _day_groups_of(seen).items():
            if len(entries) == 1:  # nearly every day: one line of one claim
                (claim, d, u, checked, i), *_ = entries
                day_key: tuple = (patient, npi, day, (checked.token, i))
            else:
                day_key = (patient, npi, day, *[(checked.token, i) for _, _, _, checked, i in entries])
            day_found = day_memo.get(day_key)
            if day_found is not None and replaced and _edits_any(day_found, replaced):
                day_found = None  # kept across a fix whose segment one of its edits names: found again
            if day_found is None:
                MAKING.source = docs[entries[0][1]].source  # the day's findings are nearly always in it
                lines = tuple([_new_tuple(DayLine, (claim, claim.lines[i])) for claim, _, _, _, i in entries])
                dctx = DayContext(patient, npi, day, lines, options)
                codes = frozenset(dctx.by_code)
                day_found = []
                for r in day_cache.get(codes) or runnable(day_rules, codes, day_cache):
                    for f in r.check(r, dctx):
                        d = next(d for claim, d, _, _, _ in entries if claim.patient_control_number == f.claim)
                        day_found.append(with_source(f, docs[d].source))
                day_memo[day_key] = day_found
            for f in day_found:
                # The first of the day's claims with the finding's CLM01, as the rule names it.
                d, u = next((d, u) for claim, d, u, _, _ in entries if claim.patient_control_number == f.claim)
                found.append(Located(f, d, u))
    return suppress_covered(found, {r.code: r for r in rules})


def running(rules: Sequence[Rule], options: RuleOptions) -> defaultdict[Scope, list[Rule]]:
    """The rules a check runs, by scope: those whose ``needs`` are all given (an option that is
    None, or a switch that is off, is not given: such a rule finds nothing, and is not asked)."""
    by_scope: defaultdict[Scope, list[Rule]] = defaultdict(list)
    for r in rules:
        if not r.needs or all(_given(getattr(options, need)) for need in r.needs):
            by_scope[r.scope].append(r)
    return by_scope


def _given(value: object) -> bool:
    return value is not None and value is not False


def _derived_from(memo: CheckMemo, claim: Claim) -> tuple[_Checked, frozenset[str], list[Segment]] | None:
    """When ``claim`` was read again after a fix rewrote only tracked elements of a claim this
    memo checked, with the same procedure codes and frequency: that claim's entry, the elements
    that changed, and the segments replaced."""
    derived = memo._derived.get(id(claim))
    if derived is None or derived[0] is not claim:
        return None
    _, old, changed, replaced = derived
    made = memo._keys.get(id(old))
    if made is None or made[0] is not old:
        return None
    checked = made[2]
    if checked.claim is not old or old.frequency != claim.frequency:
        return None
    if [ln.procedure for ln in old.lines] != [ln.procedure for ln in claim.lines]:
        return None
    return checked, changed, replaced


def _keeping(
    keeping: dict[frozenset[str], tuple[frozenset[str], bool]],
    changed: frozenset[str],
    claim_rules: list[Rule],
    by_scope: dict[Scope, list[Rule]],
) -> tuple[frozenset[str], bool]:
    """The claim rules that read none of ``changed`` (their codes), and whether no day rule
    reads any of it; kept in ``keeping``."""
    keeps = frozenset(r.code for r in claim_rules if r.reads is not None and r.reads.isdisjoint(changed))
    days = all(r.reads is not None and r.reads.isdisjoint(changed) for r in by_scope[Scope.DAY])
    found = keeping[changed] = (keeps, days)
    return found


def _check_changed(
    chosen: list[Rule], cctx: ClaimContext, before: _Checked, keeps: frozenset[str], replaced: list[Segment]
) -> list[Finding]:
    """The claim rules' findings on a claim a fix rewrote: a rule in ``keeps`` (it reads none of
    what changed) keeps what it found before the fix, unless a fix of it edits a replaced
    segment; the others run again. In the order the rules run, as a full check gives them."""
    kept: dict[str, list[Finding]] = {}
    for f in before.findings:
        kept.setdefault(f.rule, []).append(f)
    gone: set[int] | None = None
    out: list[Finding] = []
    for r in chosen:
        if r.code in keeps:
            mine = kept.get(r.code)
            if not mine:
                continue
            if gone is None:
                gone = {id(s) for s in replaced}
            if not _edits_any(mine, gone):
                out.extend(mine)
                continue
        out.extend(r.check(r, cctx))
    return out


def _edits_any(findings: Iterable[Finding], segments: set[int] | frozenset[int]) -> bool:
    """Whether a fix of the findings edits (or inserts after) a segment of these ids."""
    return any(id(_edit_target(e)) in segments for f in findings if f.fix is not None for e in f.fix.edits)


def check_as_fix_would(docs: Sequence[Document], rules: Sequence[Rule], options: RuleOptions) -> list[Located]:
    """The findings, each offered with the fix `fix` would really apply: where fix would withhold
    a safe fix (it breaks the guide, undoes another, or leaves a new finding), the finding is
    shown as manual with that reason. The documents are left as they were read.

    What fix would withhold is learnt by a dry run of the fix loop. A fix that can be judged on
    its own claim (``_decided_alone``: it rewrites only elements no rule beyond those it runs
    again reads, within the guide's limits, on a claim no other fix touches, and leaves nothing
    for those rules to find) is left out of it; the dry run of the others is then shown to have
    gone as it would have gone with those applied too (``_as_if_applied``), or is run again
    with every fix."""
    memo = CheckMemo()
    found = check_documents(docs, rules, options, memo=memo)
    if not any(allowed(loc.finding, unsafe=False) for loc in found):
        return found
    normalizing = normalizing_rules()
    saved = [Snapshot(doc) for doc in docs]
    try:
        alone = _decided_alone(docs, found, rules, options, normalizing)
        if alone:
            rest = [loc for loc in found if allowed(loc.finding, unsafe=False) and _aside_key(loc) not in alone]
            if not rest:
                return found  # the loop would apply every fix, and nothing would come of them
            outcome = fix_documents(
                list(docs), rules, options, normalizing=normalizing, memo=memo, first=found, set_aside=alone
            )
            if _as_if_applied(docs, found, outcome, alone):
                return found
            for doc, snapshot in zip(docs, saved, strict=True):
                _restore(doc, snapshot)
        outcome = fix_documents(list(docs), rules, options, normalizing=normalizing, memo=memo, first=found)
    finally:
        for doc, snapshot in zip(docs, saved, strict=True):
            _restore(doc, snapshot)
            snapshot.close()
    return settle(found, outcome)


# (document, unit, rule, CLM01, line) of a finding whose fix the loop leaves out (``check_as_fix_would``)
AsideKey = tuple[int, int, str, str, int | None]


def _aside_key(loc: Located) -> AsideKey | None:
    f = loc.finding
    if loc.unit is None or f.claim is None:
        return None
    return (loc.doc, loc.unit, f.rule, f.claim, f.line)


# A claim whose fix was judged alone: its file, its CLM01, and the claim as read.
Alone = dict[AsideKey, tuple[str, str, Claim]]


def _decided_alone(
    docs: Sequence[Document],
    found: list[Located],
    rules: Sequence[Rule],
    options: RuleOptions,
    normalizing: Sequence[Rule],
) -> Alone:
    """The allowed findings whose fix the fix loop would apply in its first pass and never see
    again, whatever else it applies; by ``_aside_key``.

    Such a fix is the only allowed one naming its claim (a CLM01 found once in its set) and the
    only one editing any of the claim's segments, made by a claim rule that reads what it
    changes; it rewrites segments of the claim in place, keeping their ids and the qualifiers
    the guide places them by, and changes only TRACKED_ELEMENTS, which no envelope or day rule
    reads, nor a rule that silences others; it gains no problem of the guide's element limits; the claim reads again as
    ``_with_total`` reads it; and on the claim so fixed, the claim rules that read what changed
    (its own among them) find nothing and the normalizing rules edit nothing. Its set's SE01 is
    right (no recount to make). Then the loop applies it in its first pass (``_blame`` has
    nothing to blame on it); the claim's other rules, its days and the envelopes find what they
    found (they read none of what changed); nothing is left for its rules to fix again, nor to
    normalize, and no finding is new on the claim."""
    by_scope = running(rules, options)
    unread: dict[frozenset[str], bool] = {}  # changed elements -> no envelope or day rule reads any
    allowed_here = [loc for loc in found if allowed(loc.finding, unsafe=False)]
    naming = Counter((loc.doc, loc.unit, loc.finding.claim) for loc in allowed_here)
    # how many edits each segment has, in a plain dict: asked about every segment of a claim
    edited = dict(Counter(id(_edit_target(e)) for loc in allowed_here for e in loc.finding.fix.edits))  # type: ignore[union-attr]
    sets: dict[tuple[int, int], tuple[dict[str, Claim | None], dict] | None] = {}
    normalizers = [r for r in normalizing if r.code in NORMALIZING_RULES and r.scope == Scope.CLAIM]
    cache: dict[frozenset[str], list[Rule]] = {}
    # (procedure codes, a void, elements changed) -> the claim rules that run and read any of
    # them, and the normalizing rules not among those
    readers: dict[tuple[frozenset[str], bool, frozenset[str]], tuple[list[Rule], list[Rule]]] = {}
    tracked_ids = {name[:-2] for name in TRACKED_ELEMENTS}  # the segments a tracked element is in
    out: Alone = {}
    for loc in allowed_here:
        key = _aside_key(loc)
        f = loc.finding
        if key is None or naming[(loc.doc, loc.unit, f.claim)] != 1 or f.fix is None:
            continue
        where = (loc.doc, key[1])
        if where not in sets:
            sets[where] = _claims_by_number(docs[loc.doc], key[1])
        claims = sets[where]
        if claims is None:
            continue
        by_number, key_positions = claims
        claim = by_number.get(key[3])
        edits = f.fix.edits
        if (
            claim is None
            or not edits
            or not all(isinstance(e, SetElements) and e.segment.id in tracked_ids for e in edits)
        ):
            continue  # (an element of another segment cannot be one of TRACKED_ELEMENTS)
        segments = claim.segments
        if (
            sum(map(edited.get, map(id, segments), repeat(0))) != len(edits)
            or len({id(e.segment) for e in edits}) != len(edits)  # type: ignore[union-attr]
            or not all(e.segment in segments for e in edits)  # type: ignore[union-attr]
        ):
            continue  # another fix edits the claim, two edits one segment, or an edit is outside the claim
        own = list(segments)
        pairs = []
        for e in edits:
            assert isinstance(e, SetElements)
            after = _rewrite(e.segment, e)
            own[own.index(e.segment)] = after
            pairs.append((e.segment, after))
        if not all(_keeps_place(before, after, key_positions) for before, after in pairs):
            continue
        changed = frozenset(name for before, after in pairs for name in _changed_elements(before, after))
        if not changed <= TRACKED_ELEMENTS:
            continue
        if changed not in unread:
            # No envelope or day rule reads any of it, nor a rule that silences others (what it
            # silenced could be found again once the element changed).
            unread[changed] = all(
                r.reads is not None and r.reads.isdisjoint(changed)
                for scope in (Scope.ENVELOPE, Scope.DAY, Scope.CLAIM)
                for r in by_scope[scope]
                if scope != Scope.CLAIM or r.suppresses
            )
        if not unread[changed] or any(problems_gained(after, before) for before, after in pairs):
            continue
        fixed = _with_total(claim, pairs, changed, own)
        if fixed is None:
            continue
        cctx = ClaimContext(fixed, options)
        codes = frozenset([ln.procedure for ln in fixed.lines])
        which = (codes, fixed.frequency == VOID, changed)
        asked = readers.get(which)
        if asked is None:
            chosen = runnable(by_scope[Scope.CLAIM], codes, cache)
            if fixed.frequency == VOID:
                chosen = [r for r in chosen if r.code.startswith(FREQUENCY_RULE_PREFIX)]
            reading = [r for r in chosen if r.reads is None or not r.reads.isdisjoint(changed)]
            asked = readers[which] = (reading, [r for r in normalizers if all(r is not q for q in reading)])
        reading, normalizing_too = asked
        if all(r.code != f.rule for r in reading):
            continue  # its own rule is not asked again (a day rule, or one that says it reads none of it)
        if any(True for r in reading for _ in r.check(r, cctx)):
            continue
        if any(g.fix is not None and g.fix.edits for r in normalizing_too for g in r.check(r, cctx)):
            continue
        out[key] = (docs[loc.doc].source, key[3], claim)
    return out


def _claims_by_number(doc: Document, u: int) -> tuple[dict[str, Claim | None], dict] | None:
    """A set's claims by CLM01 (None for a CLM01 found twice) and the guide's key positions, when
    the set was read whole, has claims, and its SE01 counts it right."""
    cs = doc.units[u]
    if not isinstance(cs, ClaimSet) or cs.error is not None or not cs.claims:
        return None
    segments = cs.transaction.segments
    se = segments[-1]
    if se.id != "SE" or se.element(1) != str(len(segments)):
        return None
    walker = walker_for(cs.transaction.isa, cs.transaction.gs)
    if walker is None:
        return None
    by_number: dict[str, Claim | None] = {}
    for claim in cs.claims:
        pcn = claim.patient_control_number
        by_number[pcn] = None if pcn in by_number else claim
    return by_number, walker.guide.key_positions


def _keeps_place(before: Segment, after: Segment, key_positions: dict) -> bool:
    """Whether the walker places the rewritten segment where it placed the original: the same
    id and qualifier values (the walker places a segment by the node before it, its id and its
    qualifiers), from a placed original."""
    if after.id != before.id or before.node < 0:
        return False
    for element, component in key_positions.get(before.id, ()):
        if component:
            if after.component(element, component) != before.component(element, component):
                return False
        elif after.element(element) != before.element(element):
            return False
    return True


def _as_if_applied(docs: Sequence[Document], found: list[Located], outcome: FixOutcome, alone: Alone) -> bool:
    """Whether the dry run that left the fixes of ``alone`` out went as the one with them would:
    it withheld nothing (so no state came back, no fix broke the guide, and no claim was held
    back), it left every claim of ``alone`` as read (the 2000A/B/C segments above it too), and
    no finding is new on one of them (with their fixes applied, the loop would hold it back)."""
    if outcome.dropped:
        return False
    before = {(loc.finding.source, loc.finding.rule, loc.finding.claim) for loc in found}
    fixed = {(source, pcn) for source, pcn, _ in alone.values()}
    for loc in outcome.remaining:
        f = loc.finding
        if f.claim and (f.source, f.claim) in fixed and (f.source, f.rule, f.claim) not in before:
            return False
    now: dict[tuple[int, int], tuple[list[Claim], set[int], Counter[str]]] = {}
    for (d, u, _, pcn, _), (_, _, claim) in alone.items():
        if (d, u) not in now:
            unit = docs[d].units[u]
            claims = unit.claims if isinstance(unit, ClaimSet) else []
            now[(d, u)] = (claims, set(map(id, claims)), Counter(map(_claim_number, claims)))
        claims, kept, numbers = now[(d, u)]
        if numbers[pcn] != 1:
            return False
        if id(claim) not in kept:  # (a claim object is never changed: the same object, the same claim)
            [there] = [c for c in claims if c.patient_control_number == pcn]
            if claim_key(there) != claim_key(claim):
                return False
    return True


def normalizing_rules() -> list[Rule]:
    """The rules whose fixes keep counts and totals right after any fix: X12001, X12002, X12003."""
    from mohsedi.rules.registry import get_rule  # the catalog registers itself on import

    return [get_rule(code) for code in ("X12001", *NORMALIZING_RULES)]


def runnable(rules: list[Rule], codes: frozenset[str], cache: dict[frozenset[str], list[Rule]]) -> list[Rule]:
    """The rules that can fire on these procedure codes. A batch has few distinct code sets, so
    the answer is kept in ``cache`` (checking every rule's code sets was a tenth of the check)."""
    found = cache.get(codes)
    if found is None:
        found = cache[codes] = [r for r in rules if not r.requires or r.can_fire(codes)]
    return found


def suppress_covered(found: list[Located], rules: dict[str, Rule]) -> list[Located]:
    """One problem, one finding: a rule that covers another silences it on the same line."""
    covering: dict[tuple[int, int | None, str | None, int | None], set[str]] = defaultdict(set)
    for loc in found:
        f = loc.finding
        rule = rules.get(f.rule)
        if rule and rule.suppresses:
            covering[(loc.doc, loc.unit, f.claim, f.line)].update(rule.suppresses)
    if not covering:
        return found
    return [
        loc
        for loc in found
        if loc.finding.rule not in covering.get((loc.doc, loc.unit, loc.finding.claim, loc.finding.line), ())
    ]


# ---------------------------------------------------------------- fixing


@dataclass(frozen=True, slots=True)
class Applied:
    rule: str
    claim: str | None
    line: int | None
    description: str
    source: str
    justification: str | None = None
    safety: FixSafety = FixSafety.SAFE


@dataclass
class FixOutcome:
    applied: list[Applied] = field(default_factory=list)
    # Fixes withheld, with why: the edit would break the guide's limits, or two fixes undo each other.
    dropped: list[tuple[Finding, str]] = field(default_factory=list)
    passes: int = 0
    # What remains after fixing, withheld fixes shown as manual with their reason.
    remaining: list[Located] = field(default_factory=list)
    initial: list[Located] = field(default_factory=list)  # the first check, before any fix


FindingKey = tuple[str | None, str, str | None, int | None]


def finding_key(f: Finding) -> FindingKey:
    return (f.source, f.rule, f.claim, f.line)


def allowed(f: Finding, unsafe: bool) -> bool:
    if f.fix is None:
        return False
    return f.fix_safety == FixSafety.SAFE or (unsafe and f.fix_safety == FixSafety.UNSAFE)


def settle(found: list[Located], outcome: FixOutcome) -> list[Located]:
    """Findings whose fix was withheld become manual, saying why; the rest pass through."""
    if not outcome.dropped:
        return found
    reasons = {finding_key(f): why for f, why in outcome.dropped}
    out = []
    for loc in found:
        why = reasons.get(finding_key(loc.finding))
        if why is not None and loc.finding.fix is not None:
            f = dataclasses.replace(
                loc.finding, fix_safety=FixSafety.MANUAL, fix=None, message=f"{loc.finding.message} (not fixed: {why})"
            )
            loc = loc._replace(finding=f)
        out.append(loc)
    return out


def _edit_target(edit: Edit) -> Segment:
    return edit.anchor if isinstance(edit, InsertAfter) else edit.segment


def apply_edits(segments: Sequence[Segment], edits: Iterable[Edit]) -> list[Segment]:
    """New segment list with the edits applied; edited segments are new objects, others shared."""
    return _apply_owned(segments, [(e, 0) for e in edits])[0]


# id(new segment) -> (owner, the segment it replaced or None, the new segment), in output order
Made = dict[int, tuple[int, Segment | None, Segment]]


def _apply_owned(segments: Sequence[Segment], edits: Iterable[tuple[Edit, int]]) -> tuple[list[Segment], Made]:
    """Edits applied, each with an owner (the index of the finding it came from); for every new
    segment, who wrote it and what it replaced. A rewritten segment keeps its guide node."""
    replace: dict[int, tuple[SetElements, int]] = {}
    deleted: set[int] = set()
    inserts: dict[int, list[tuple[tuple[str, ...], int]]] = defaultdict(list)
    targets: list[Segment] = []
    for edit, owner in edits:
        target = _edit_target(edit)
        targets.append(target)
        if isinstance(edit, SetElements):
            replace.setdefault(id(target), (edit, owner))  # one rewrite per segment per pass
        elif isinstance(edit, Delete):
            deleted.add(id(target))
        else:
            inserts[id(target)].extend((elements, owner) for elements in edit.elements)
    out: list[Segment] = []
    made: Made = {}
    if not replace and not deleted and not inserts:
        return list(segments), made
    touched = replace.keys() | deleted | inserts.keys()
    found = _positions(segments, targets)
    # where a segment is not found where its number puts it, every segment is looked at
    at = sorted(set(found)) if found is not None else [n for n, seg in enumerate(segments) if id(seg) in touched]
    prev = 0
    for n in at:
        out += segments[prev:n]  # the segments no edit touches, copied as they are
        prev = n + 1
        seg = segments[n]
        key = id(seg)
        if key in deleted:
            continue
        current = seg
        if key in replace:
            edit, owner = replace[key]
            current = _rewrite(seg, edit)
            made[id(current)] = (owner, seg, current)
        out.append(current)
        for elements, owner in inserts.get(key, ()):
            new = seg.new_sibling("")
            new.set_elements(list(elements))
            out.append(new)
            made[id(new)] = (owner, None, new)
    out += segments[prev:]
    return out, made


def _positions(segments: Sequence[Segment], wanted: Iterable[Segment]) -> list[int] | None:
    """Where each wanted segment is in ``segments``, without looking at the others:
    a set's segments are numbered one by one as read, so a segment's number less the first's
    is where it is, until a fix inserts or deletes one. None when a wanted segment is not there
    (a segment inserted, or one of another set), for the caller to look at every segment."""
    if not segments:
        return None
    base = segments[0].number
    size = len(segments)
    found: list[int] = []
    for seg in wanted:
        n = seg.number - base
        if not 0 <= n < size or segments[n] is not seg:
            return None
        found.append(n)
    return found


def _rewrite(seg: Segment, edit: SetElements) -> Segment:
    """The segment with the edit's elements: a new segment, laid out and placed as ``seg``."""
    new = Segment("", seg.trailer, seg.delimiters, seg.lead, seg.number, seg.offset)
    new.set_elements(list(edit.elements))
    new.node = seg.node
    return new


def _rebuild(doc: Document, u: int, segments: list[Segment], memo: CheckMemo | None = None) -> ClaimSet | None:
    """The set ``u`` with ``segments``, placed and read; None when it cannot be. ``memo``: told
    which claims were read again from which (``CheckMemo.derive``)."""
    cs = doc.units[u]
    assert isinstance(cs, ClaimSet)
    fast = _rewritten_in_place(cs, segments, memo)
    if fast is not None:
        return fast
    rebuilt = _place(cs.transaction, segments, source=doc.source)
    if not rebuilt.ok:
        _place(cs.transaction, cs.transaction.segments)  # shared segments get their nodes back
        return None
    new = read_claim_set(rebuilt)
    return new if new.error is None else None


def _rewritten_in_place(cs: ClaimSet, segments: list[Segment], memo: CheckMemo | None = None) -> ClaimSet | None:
    """``cs`` with ``segments``, as placing and reading the set again would give it, when every
    edit rewrote a segment of a claim in place; None when the long way is needed.

    The walker places a segment by the node before it, its id and its qualifier values: a
    rewrite that keeps the id and every qualifier element lands where the original did, and so
    does every segment after it. Only the claims holding a rewritten segment are read again
    (under their HL segments), the others are kept as they are: a fix touches a few claims
    of a set of a thousand."""
    old = cs.transaction.segments
    if cs.error is not None or len(segments) != len(old) or not cs.claims:
        return None
    walker = walker_for(cs.transaction.isa, cs.transaction.gs)
    if walker is None:
        return None
    key_positions = walker.guide.key_positions
    claims = cs.claims
    changed: dict[int, int] = {}  # claim index -> where its segments start, in order
    rewritten: dict[int, list[tuple[Segment, Segment]]] = defaultdict(list)  # claim index -> (before, after)
    starts = _positions(old, [claim.clm for claim in claims])  # claims come in file order, each from its CLM on
    if starts is None or sorted(starts) != starts:
        return None
    for n in compress(range(len(old)), map(operator.is_not, old, segments)):  # the segments rewritten
        before, after = old[n], segments[n]
        if not _keeps_place(before, after, key_positions):
            return None
        k = bisect_right(starts, n) - 1  # the claim the segment is in, if any
        start = starts[k] if k >= 0 else 0
        if k < 0 or not n < start + len(claims[k].segments):
            return None  # above the claims, or SE: their segments are part of every claim's context
        after.node = before.node
        changed[k] = start
        rewritten[k].append((before, after))
    if not changed:
        return None
    transaction = TransactionSet(segments, cs.transaction.isa, cs.transaction.gs)
    claims = list(claims)
    for i, first in changed.items():
        claim = claims[i]
        own = segments[first : first + len(claim.segments)]
        pairs = rewritten[i]
        elements = frozenset(name for before, after in pairs for name in _changed_elements(before, after))
        reread = _with_total(claim, pairs, elements, own)
        if reread is None:
            reread = _reread_claim(claim, segments[0], own, segments[-1], transaction)
        if reread is None:
            return None
        claims[i] = reread
        if memo is not None and elements <= TRACKED_ELEMENTS:
            memo.derive(reread, claim, elements, [before for before, _ in pairs])
    return ClaimSet(transaction, claims)


def _changed_elements(before: Segment, after: Segment) -> Iterator[str]:
    """The elements that differ, named as the guide does (CLM02), an element present on one side
    only included; the segment's id alone when none does (nothing a rule could be told it may
    ignore). The same id on both sides."""
    old, new = before.elements, after.elements
    found = False
    for i in range(1, max(len(old), len(new))):
        if i >= len(old) or i >= len(new) or old[i] != new[i]:
            found = True
            yield f"{before.id}{i:02d}"
    if not found:
        yield before.id


def _with_total(
    claim: Claim, pairs: list[tuple[Segment, Segment]], changed: frozenset[str], segments: list[Segment]
) -> Claim | None:
    """The claim as reading it again gives it when a fix rewrote only CLM02, from one amount to
    another: the same but for its CLM, its total and its segments (CLM02 is read into nothing
    else). None otherwise."""
    if changed != {"CLM02"} or len(pairs) != 1 or pairs[0][0] is not claim.clm or claim.total_charge is None:
        return None
    clm = pairs[0][1]
    total = to_decimal(clm.element(2))
    if total is None:
        return None  # the claim read again carries the problem of a CLM02 that is not an amount
    new = _copy_claim(claim)
    new.clm, new.total_charge, new.segments, new.problems = clm, total, segments, list(claim.problems)
    return new


_CLAIM_SLOTS: tuple[str, ...] | None = (
    None if hasattr(Claim, "__post_init__") else getattr(Claim, "__slots__", None)  # a plain slotted dataclass
)


def _copy_claim(claim: Claim) -> Claim:
    """A shallow copy of the claim (dataclasses.replace costs five times as much, copy.copy twice)."""
    if _CLAIM_SLOTS is None:
        return dataclasses.replace(claim)
    new = object.__new__(Claim)
    for name in _CLAIM_SLOTS:
        setattr(new, name, getattr(claim, name))
    return new


def _reread_claim(
    claim: Claim, st: Segment, segments: list[Segment], se: Segment, transaction: TransactionSet
) -> Claim | None:
    """One claim read again from its rewritten segments, by the reader itself: a set of the HL
    segments above it and its own. The 2000A/B/C objects (and the patient key made from them)
    are then the ones already read: none of their segments changed."""
    if claim.billing_provider is None or claim.subscriber is None:
        return None
    heads = [part.hl for part in (claim.billing_provider, claim.subscriber, claim.patient) if part is not None]
    mini = TransactionSet([st, *heads, *segments, se], transaction.isa, transaction.gs)
    read = read_claim_set(mini)
    if read.error is not None or len(read.claims) != 1:
        return None
    new = read.claims[0]
    if len(new.segments) != len(segments) or any(a is not b for a, b in zip(new.segments, segments, strict=True)):
        return None
    new.billing_provider, new.subscriber, new.patient = claim.billing_provider, claim.subscriber, claim.patient
    new.patient_key = claim.patient_key
    return new


def _repeat_problems(cs: ClaimSet | Sequence[Claim]) -> Counter[tuple[str, str]]:
    """Loops and segments repeated beyond what the guide allows, per claim (2300) and line (2400).

    Only the loop's own segments count: a child loop (2310B, 2430) repeats on its own terms."""
    out: Counter[tuple[str, str]] = Counter()
    for claim in cs.claims if isinstance(cs, ClaimSet) else cs:
        pcn = claim.patient_control_number
        if claim.lines:
            limit = NODES[NODES[claim.lines[0].lx.node].parent].max_use
            if limit is not None and len(claim.lines) > limit:
                out[(pcn, f"claim {pcn} has {len(claim.lines)} service lines, the guide allows {limit}")] += 1
        scopes = [(0, "2300", claim.segments)]
        scopes += [(i, "2400", ln.segments) for i, ln in enumerate(claim.lines, 1)]
        for line, loop, segments in scopes:
            counts: dict[int, int] = {}  # node -> segments placed at it, in order of first use
            for seg in segments:
                node = seg.node
                if node >= 0 and NODES[node].loop == loop:
                    counts[node] = counts.get(node, 0) + 1
            for node, n in counts.items():
                max_use = NODES[node].max_use
                if max_use is not None and n > max_use:
                    where = f"claim {pcn} line {line}" if line else f"claim {pcn}"
                    name = NODES[node].path.rsplit("/", 1)[-1]
                    out[(pcn, f"{where}: {name} appears {n} times, the guide allows {max_use}")] += 1
    return out


def _repeat_shape(claim: Claim) -> tuple:
    """All that a claim's repeat problems depend on: its CLM01, and the guide node of each of its
    segments, line by line."""
    return (
        claim.patient_control_number,
        tuple(map(_node, claim.segments)),
        tuple([(ln.lx.node, tuple(map(_node, ln.segments))) for ln in claim.lines]),
    )


def _repeat_gained(before: ClaimSet, after: ClaimSet) -> Counter[tuple[str, str]]:
    """``_repeat_problems(after) - _repeat_problems(before)``, counted over the claims whose shape
    a fix changed (a rewrite of CLM02 or SV101 changes none).

    A claim of the same shape (CLM01, and the node of every segment, line by line) counts the
    same problems on both sides, so such pairs cancel out. Problems are keyed by CLM01: when a
    claim that cancelled shares its CLM01 with one that did not, every claim is counted, as the
    order of the problems (shown in a withheld fix's reason) could otherwise differ."""
    old = [(_repeat_shape(c), c) for c in before.claims]
    new = [(_repeat_shape(c), c) for c in after.claims]
    common = Counter(s for s, _ in old) & Counter(s for s, _ in new)
    if not common:
        return _repeat_problems(after) - _repeat_problems(before)
    changed: list[list[Claim]] = []
    for side in (old, new):
        left = common.copy()
        rest = []
        for shape, claim in side:
            if left[shape] > 0:
                left[shape] -= 1
            else:
                rest.append(claim)
        changed.append(rest)
    changed_old, changed_new = changed
    kept = {shape[0] for shape in common}
    if any(c.patient_control_number in kept for c in (*changed_old, *changed_new)):
        return _repeat_problems(after) - _repeat_problems(before)
    return _repeat_problems(changed_new) - _repeat_problems(changed_old)


def added_problems(before: ClaimSet, after: ClaimSet) -> list[str]:
    """What ``after`` breaks of the guide's limits that ``before`` did not: element limits of the
    segments that changed, and repeat counts. A fixed set must never be less valid than its input."""
    old = before.transaction.segments
    new = after.transaction.segments
    old_ids = {id(s) for s in old}
    new_ids = {id(s) for s in new}
    gained = Counter(p for s in new if id(s) not in old_ids for p in segment_problems(s))
    gained -= Counter(p for s in old if id(s) not in new_ids for p in segment_problems(s))
    gained.update(message for _, message in _repeat_gained(before, after))
    return sorted(gained)


def _restructured(before: ClaimSet, after: ClaimSet, made: Made) -> bool:
    """Whether the edits can have changed how the set divides into claims and lines, or a claim's
    CLM01: a segment added or removed, or one rewritten into another place of the guide or with
    another CLM01. When not, every claim has the shape it had, and no repeat count changed."""
    if len(after.transaction.segments) != len(before.transaction.segments):
        return True
    for _, original, seg in made.values():
        if original is None:
            return True
        if seg.node != original.node or (seg.id == "CLM" and seg.element(1) != original.element(1)):
            return True
    return False


def _blame(before: ClaimSet, after: ClaimSet, made: Made, findings: list[Finding]) -> dict[int, list[str]]:
    """Which findings' edits break the guide in ``after``, and how: a segment one wrote breaks an
    element limit its original kept, or a claim one edited now repeats a loop or segment too often."""
    blamed: dict[int, list[str]] = defaultdict(list)
    for owner, original, seg in made.values():  # the segments written, in the order of ``after``
        gained = problems_gained(seg, original)
        blamed[owner].extend(sorted(gained))
    for pcn, message in _repeat_gained(before, after) if _restructured(before, after, made) else ():
        owners = [i for i, f in enumerate(findings) if f.claim == pcn] or list(range(len(findings)))
        for i in owners:
            blamed[i].append(message)
    return {i: problems for i, problems in blamed.items() if problems}


def _apply_to_unit(
    doc: Document, u: int, findings: list[Finding], outcome: FixOutcome, memo: CheckMemo | None = None
) -> list[tuple[Finding, Applied]]:
    """Apply the findings' edits to one unit; keep what leaves the set within the guide.

    All fixes go in at once. When the result breaks the guide, each problem is traced to the
    fix whose edit wrote it (a changed or added segment, or a claim whose loops now repeat too
    often); those fixes are withheld with the reason, and the rest go in again. Only when the
    set cannot be placed in the guide at all are the fixes tried one at a time.
    """
    unit = doc.units[u]
    if isinstance(unit, Envelope):
        for f in findings:
            for edit in f.fix.edits if f.fix else ():
                if isinstance(edit, SetElements) and edit.segment is unit.segment:
                    unit.segment = apply_edits([unit.segment], [edit])[0]
                    envelope_fix = applied_fix(f, doc.source)
                    outcome.applied.append(envelope_fix)
                    return [(f, envelope_fix)]
        return []
    pending = list(findings)
    while pending:
        segments, made = _apply_owned(unit.transaction.segments, _owned_edits(pending))
        rebuilt = _rebuild(doc, u, segments, memo)
        if rebuilt is None:
            return _apply_one_at_a_time(doc, u, pending, outcome, memo)
        blamed = _blame(unit, rebuilt, made, pending)
        if not blamed:
            doc.units[u] = rebuilt
            done = [(f, applied_fix(f, doc.source)) for f in pending]
            outcome.applied.extend(a for _, a in done)
            return done
        _place(unit.transaction, unit.transaction.segments)  # shared segments get their nodes back
        for i, problems in sorted(blamed.items()):
            outcome.dropped.append((pending[i], _breaks(problems)))
        pending = [f for i, f in enumerate(pending) if i not in blamed]
    return []


def _owned_edits(findings: Sequence[Finding]) -> list[tuple[Edit, int]]:
    return [(e, i) for i, f in enumerate(findings) for e in (f.fix.edits if f.fix else ())]


def _breaks(problems: Sequence[str]) -> str:
    return "the edit would break the implementation guide: " + "; ".join(problems[:3])


def _apply_one_at_a_time(
    doc: Document, u: int, findings: list[Finding], outcome: FixOutcome, memo: CheckMemo | None = None
) -> list[tuple[Finding, Applied]]:
    """The fixes one by one, each on top of those kept so far, all aimed at the set as it was."""
    original = doc.units[u]
    assert isinstance(original, ClaimSet)
    kept: list[Finding] = []
    for f in findings:
        segments, _ = _apply_owned(original.transaction.segments, _owned_edits([*kept, f]))
        candidate = _rebuild(doc, u, segments)
        if candidate is None:
            outcome.dropped.append((f, "the edit would leave a segment with no place in the guide"))
            continue
        problems = added_problems(original, candidate)
        _place(original.transaction, original.transaction.segments)
        if problems:
            outcome.dropped.append((f, _breaks(problems)))
            continue
        kept.append(f)
    if not kept:
        return []
    final = _rebuild(doc, u, _apply_owned(original.transaction.segments, _owned_edits(kept))[0], memo)
    assert final is not None  # the last candidate kept was this very set
    doc.units[u] = final
    done = [(f, applied_fix(f, doc.source)) for f in kept]
    outcome.applied.extend(a for _, a in done)
    return done


def applied_fix(f: Finding, source: str) -> Applied:
    assert f.fix is not None
    return Applied(f.rule, f.claim, f.line, f.fix.description, source, f.fix.justification, f.fix_safety)


def _unit_of(doc: Document, seg: Segment) -> int | None:
    for u, unit in enumerate(doc.units):
        segs = unit.transaction.segments if isinstance(unit, ClaimSet) else unit.segments
        if any(s is seg for s in segs):
            return u
    return None


def _state(doc: Document, u: int) -> list[Segment]:
    """The unit's segments as they are now (a copy of the list: segments are never changed)."""
    unit = doc.units[u]
    return list(unit.transaction.segments if isinstance(unit, ClaimSet) else unit.segments)


class _State:
    """One state of a unit in the fix loop: its segments, and their text when it was needed."""

    __slots__ = ("segments", "_text")

    def __init__(self, segments: list[Segment]) -> None:
        self.segments = segments
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = emit(self.segments)
        return self._text

    def same_text(self, other: _State) -> bool:
        """Whether the two states emit the same text. Successive states share all but the
        segments a fix rewrote, so with as many segments on both sides only those are compared:
        every one emitting the same text means the same text; their lengths adding up to
        different totals means a different text; anything else compares the whole texts."""
        a, b = self.segments, other.segments
        if len(a) == len(b):
            differ = list(map(operator.is_not, a, b))
            mine = [s.lead + s.text + s.trailer for s in compress(a, differ)]
            theirs = [s.lead + s.text + s.trailer for s in compress(b, differ)]
            if mine == theirs:
                return True
            if sum(map(len, mine)) != sum(map(len, theirs)):
                return False
        return self.text() == other.text()


@dataclass
class _History:
    """The states one unit went through in the fix loop, and the fixes that led from each."""

    states: list[_State]
    steps: list[list[tuple[Finding, Applied]]] = field(default_factory=list)

    def index(self, state: _State) -> int | None:
        """The first earlier state with the same text as ``state``."""
        return next((i for i, s in enumerate(self.states) if s.same_text(state)), None)


def fix_documents(
    docs: list[Document],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    unsafe: bool = False,
    normalizing: Sequence[Rule] = (),
    progress: Callable[[int], None] | None = None,
    memo: CheckMemo | None = None,
    first: list[Located] | None = None,
    set_aside: Container[AsideKey] = (),
) -> FixOutcome:
    """Fix the documents in place (their units are replaced); report what was applied and what remains.

    A unit whose fixes bring it back to a state it was in (two rules undoing each other) is left
    in that state, the state before the cycle: the fixes of the cycle are withdrawn and their
    findings become manual with the reason, while the set's other fixes go on. A fix that would
    break the guide's limits is withheld likewise. A claim that would end with a finding its
    fixes created is not fixed at all: the run starts again from the files as read, with that
    claim's fixes withheld and the reason given.

    ``memo``: the findings of an earlier check of these documents with these rules and options;
    ``first``: what that check found, when it checked the documents as they are now (the loop's
    first pass, and each run again from the files as read, would find just that);
    ``set_aside``: findings whose fixes the loop leaves out, unsaid (``check_as_fix_would``'s,
    by ``_aside_key``).
    """
    if memo is None:
        memo = CheckMemo()
    saved = [Snapshot(doc) for doc in docs]
    try:
        held_back: dict[tuple[str, str], str] = {}
        for _ in range(MAX_RETRIES + 1):
            outcome = _fix_loop(docs, rules, options, unsafe, normalizing, progress, held_back, memo, first, set_aside)
            created = _created_findings(outcome)
            if not created:
                return outcome
            for f in created:
                held_back.setdefault(
                    (f.source or "", f.claim or ""), f"fixing it would leave a new {f.rule} finding: {f.message}"
                )
            for doc, snapshot in zip(docs, saved, strict=True):
                _restore(doc, snapshot)
        return outcome
    finally:
        for snapshot in saved:
            snapshot.close()


MAX_RETRIES = 3  # runs again from the files as read, each withholding more claims' fixes


def _created_findings(outcome: FixOutcome) -> list[Finding]:
    """Findings left on a claim only safe fixes changed that its first check did not have (a rule
    new to the claim). An unsafe fix changes what is billed, on its claim and on the day's other
    claims: in a file where one was applied, what comes up is shown, not traced to a safe fix."""
    before = {(loc.finding.source, loc.finding.rule, loc.finding.claim) for loc in outcome.initial}
    unsafe = {a.source for a in outcome.applied if a.safety != FixSafety.SAFE}
    fixed = {(a.source, a.claim) for a in outcome.applied if a.claim and a.source not in unsafe}
    return [
        loc.finding
        for loc in outcome.remaining
        if loc.finding.claim
        and (loc.finding.source, loc.finding.claim) in fixed
        and (loc.finding.source, loc.finding.rule, loc.finding.claim) not in before
    ]


class Snapshot:
    """A document's units and their envelope segments, and where the guide placed each segment of
    its sets. Placing a set again (a fix's trial placement, ``_place``) moves the segments it
    shares with the set as read, and nothing else moves a placed segment: the placements are
    taken just before the first such move, and put back only when one was taken. Open (told of
    every placement) until closed."""

    __slots__ = ("units", "nodes")

    def __init__(self, doc: Document) -> None:
        self.units = [(u, u.segment if isinstance(u, Envelope) else None) for u in doc.units]
        self.nodes: list[list[int] | None] | None = None
        _OPEN.append(self)

    def take_placements(self) -> None:
        if self.nodes is None:
            self.nodes = [
                [s.node for s in u.transaction.segments] if isinstance(u, ClaimSet) and u.error is None else None
                for u, _ in self.units
            ]

    def close(self) -> None:
        for i, open_one in enumerate(_OPEN):
            if open_one is self:
                del _OPEN[i]
                return


_OPEN: list[Snapshot] = []  # snapshots whose sets' placements are taken before any moves


def _place(ts: TransactionSet, segments: list[Segment], *, source: str | None = None) -> TransactionSet:
    """``replace_set``, once every open snapshot has taken the placements it may move."""
    for snapshot in _OPEN:
        snapshot.take_placements()
    return replace_set(ts, segments, source=source)


def _restore(doc: Document, snapshot: Snapshot) -> None:
    """The document as it was read: its units, their envelope segments, and every segment's place
    (put back as it was, which is what placing the set again gives, at a fraction of the cost)."""
    doc.units = [u for u, _ in snapshot.units]
    placements = snapshot.nodes or [None] * len(snapshot.units)  # none taken: no segment was moved
    for (unit, segment), nodes in zip(snapshot.units, placements, strict=True):
        if isinstance(unit, Envelope) and segment is not None:
            unit.segment = segment
        elif isinstance(unit, ClaimSet) and nodes is not None:
            for seg, node in zip(unit.transaction.segments, nodes, strict=True):
                seg.node = node


def _fix_loop(
    docs: list[Document],
    rules: Sequence[Rule],
    options: RuleOptions,
    unsafe: bool,
    normalizing: Sequence[Rule],
    progress: Callable[[int], None] | None,
    held_back: dict[tuple[str, str], str],
    memo: CheckMemo,
    first: list[Located] | None = None,
    set_aside: Container[AsideKey] = (),
) -> FixOutcome:
    """One run of the fix loop: check, apply what is allowed, until nothing changes."""
    outcome = FixOutcome()
    history: dict[tuple[int, int], _History] = {}
    touched: dict[tuple[int, int], set[str]] = defaultdict(set)  # unit -> CLM01s edited
    everything: list[Located] = []
    clean_last_check = False
    for n in range(1, MAX_PASSES + 1):
        outcome.passes = n
        if progress:
            progress(n)
        everything = first if n == 1 and first is not None else check_documents(docs, rules, options, memo=memo)
        clean_last_check = True
        if n == 1:
            outcome.initial = everything
        withheld = {finding_key(f) for f, _ in outcome.dropped}
        per_unit: dict[tuple[int, int], list[Finding]] = defaultdict(list)
        for loc in everything:
            f = loc.finding
            if not allowed(f, unsafe) or finding_key(f) in withheld:
                continue
            if set_aside and _aside_key(loc) in set_aside:
                continue
            why = held_back.get((f.source or "", f.claim or "")) if f.claim else None
            if why is not None:
                outcome.dropped.append((f, why))
                continue
            u = loc.unit
            if u is None:
                u = _unit_of(docs[loc.doc], _edit_target(f.fix.edits[0]))  # type: ignore[union-attr]
            if u is not None:
                per_unit[(loc.doc, u)].append(f)
        if not per_unit:
            break
        progressed = False
        for (d, u), findings in per_unit.items():
            unit = docs[d].units[u]
            if isinstance(unit, ClaimSet) and unit.error is not None:
                continue  # a set that could not be read is left out of the fixed file, not fixed
            hist = history.get((d, u))
            if hist is None:
                hist = history[(d, u)] = _History([_State(_state(docs[d], u))])
            step = _apply_to_unit(docs[d], u, findings, outcome, memo)
            if not step:
                continue
            clean_last_check = False
            state = _State(_state(docs[d], u))
            touched[(d, u)].update(f.claim for f in findings if f.claim)
            start = hist.index(state)
            if start is not None:
                # Back in a state it was in: withhold the fixes of the cycle; the others go on.
                _withdraw_cycle(hist, start, step, outcome)
                del hist.states[start + 1 :], hist.steps[start:]
                progressed = True
                continue
            hist.states.append(state)
            hist.steps.append(step)
            progressed = True
        if not progressed:
            break
    normalized = _normalize(docs, touched, normalizing, options, memo)
    if not clean_last_check or normalized:  # else the last check saw the documents as they are
        everything = check_documents(docs, rules, options, memo=memo)
    outcome.remaining = settle(everything, outcome)
    return outcome


def _withdraw_cycle(hist: _History, start: int, last: list[tuple[Finding, Applied]], outcome: FixOutcome) -> None:
    """The unit is back in state ``start``: the fixes applied since then undo each other."""
    cycle = [*[pair for step in hist.steps[start:] for pair in step], *last]
    rules = sorted({f.rule for f, _ in cycle})
    why = f"the fixes of {' and '.join(rules)} undo each other; the claim is left as it was before them"
    withdrawn = {id(a) for _, a in cycle}
    outcome.applied = [a for a in outcome.applied if id(a) not in withdrawn]
    seen: set[FindingKey] = set()
    for f, _ in cycle:
        if finding_key(f) not in seen:
            seen.add(finding_key(f))
            outcome.dropped.append((f, why))


def drop_quarantined(doc: Document, envelope_rule: Rule) -> list[X12Error]:
    """Leave transaction sets that could not be read out of a fixed file; recount GE01/IEA01.

    ``envelope_rule`` is X12001, whose fixes on GE and IEA are applied to what remains.
    """
    dropped = [u.error for u in doc.units if isinstance(u, ClaimSet) and u.error is not None]
    if not dropped:
        return []
    kept = [u for u in doc.units if not (isinstance(u, ClaimSet) and u.error is not None)]
    doc.units = recount_envelopes(kept, envelope_rule, RuleOptions())
    return dropped


def recount_envelopes(units: list, envelope_rule: Rule, options: RuleOptions) -> list:
    """The units with GE01/IEA01 (and GE02/IEA02) as ``envelope_rule`` (X12001) fixes them;
    transaction sets, or a streamed file's placeholders for them, pass through."""
    ctx = EnvelopeContext(tuple(units), options)
    edits = {
        id(e.segment): e
        for f in envelope_rule.check(envelope_rule, ctx)
        for e in (f.fix.edits if f.fix else ())
        if isinstance(e, SetElements)
    }
    out = []
    for unit in units:
        edit = edits.get(id(unit.segment)) if isinstance(unit, Envelope) else None
        out.append(Envelope(apply_edits([unit.segment], [edit])[0]) if isinstance(edit, SetElements) else unit)
    return out


def _within_limits(edit: Edit) -> bool:
    """Whether a rewrite keeps its segment within the guide's element limits (a recomputed total
    too long for CLM02 is not written: X12002 then stays, with the gate's reason)."""
    if not isinstance(edit, SetElements):
        return True
    [new] = apply_edits([edit.segment], [edit])
    return not problems_gained(new, edit.segment)


def _normalize(
    docs: list[Document],
    touched: dict[tuple[int, int], set[str]],
    normalizing: Sequence[Rule],
    options: RuleOptions,
    memo: CheckMemo | None = None,
) -> bool:
    """Counts and totals after the last pass, for the sets and claims fixes changed; whether
    any set changed."""
    changed = False
    by_code = {r.code: r for r in normalizing}
    for (d, u), claim_ids in touched.items():
        doc = docs[d]
        unit = doc.units[u]
        if not isinstance(unit, ClaimSet):
            continue
        edits: list[Edit] = []
        for claim in unit.claims:
            if claim.patient_control_number not in claim_ids:
                continue
            for code in NORMALIZING_RULES:
                r = by_code.get(code)
                if r is not None:
                    for f in r.check(r, ClaimContext(claim, options)):
                        edits.extend(f.fix.edits if f.fix else ())
        segments = apply_edits(unit.transaction.segments, [e for e in edits if _within_limits(e)])
        se = segments[-1]
        if se.id == "SE" and se.element(1) != str(len(segments)):
            segments = apply_edits(segments, [SetElements(se, (se.id, str(len(segments)), *se.elements[2:]))])
        if segments != unit.transaction.segments:
            rebuilt = _rebuild(doc, u, segments, memo)
            if rebuilt is not None:
                doc.units[u] = rebuilt
                changed = True
    return changed


__all__ = [
    "Applied",
    "Document",
    "FixOutcome",
    "Located",
    "check_documents",
    "fix_documents",
    "load_document",
]
