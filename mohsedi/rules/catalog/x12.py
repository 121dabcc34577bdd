"""X12 family: envelopes, totals, numbering, line ids and representation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from mohsedi.claims.reader import IMPLEMENTATION_837P, ClaimSet
from mohsedi.codes import mohs as vocab
from mohsedi.guide.compile import CLAIM_837P_FAMILY
from mohsedi.rules.base import (
    Docs,
    Edit,
    Finding,
    Fix,
    FixSafety,
    Prediction,
    Rule,
    Scope,
    SetElements,
    Severity,
    Source,
)
from mohsedi.rules.context import ClaimContext, EnvelopeContext
from mohsedi.rules.edits import format_number, insert_segment, insertion_anchor, with_element
from mohsedi.rules.registry import rule
from mohsedi.x12.envelope import Envelope, TransactionSet
from mohsedi.x12.segments import Segment

GUIDE = Source("ASC X12 005010X222A1 implementation guide (as pyx12's map)", "pyx12 837.5010.X222.A1.xml", True)
X12_STANDARD = Source("ASC X12 envelope rules (SE01, GE01, IEA01 counts)", "X12 control segments", True)


def _transaction_sets(unit) -> TransactionSet | None:
    if isinstance(unit, ClaimSet):
        return unit.transaction
    if isinstance(unit, TransactionSet):
        return unit
    return None


@rule(
    "X12001",
    "envelope-counts",
    "SE01, GE01 and IEA01 counts and control numbers match",
    severity=Severity.ERROR,
    fix=FixSafety.SAFE,
    scope=Scope.ENVELOPE,
    reads=(),
    rejects=("999",),  # the spec's catalog: a front-end (999) rejection
    predicts=(),
    sources=(X12_STANDARD,),
    docs=Docs(
        what="SE01 counts the segments from ST to SE, SE02 repeats ST02; GE01 counts the "
        "transaction sets of its group, GE02 repeats GS06; IEA01 counts the groups, IEA02 "
        "repeats ISA13.",
        why="A clearinghouse rejects the whole interchange or group at the front door (999/TA1) "
        "when a count or control number is off; nothing in it is adjudicated.",
        example="ST*837*0001~ ... SE*40*0001~ when the set has 41 segments.",
        fix="safe: recount and copy the control numbers from the headers.",
        case="SE01 off by one",
    ),
)
def envelope_counts(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    isa = gs = None
    sets_in_group = 0
    groups_in_interchange = 0
    for unit in ctx.units:
        if isinstance(unit, Envelope):
            seg = unit.segment
            if seg.id == "ISA":
                isa, groups_in_interchange = seg, 0
            elif seg.id == "GS":
                gs, sets_in_group = seg, 0
                groups_in_interchange += 1
            elif seg.id == "GE" and gs is not None:
                want = (str(sets_in_group), gs.element(6))
                if (seg.element(1), seg.element(2)) != want:
                    yield this.finding(
                        f"GE01/GE02 are {seg.element(1)}/{seg.element(2)}, expected {want[0]}/{want[1]}",
                        fix=Fix("recount GE01, copy GS06 to GE02", (_set_pair(seg, *want),)),
                        segment=seg.number,
                    )
            elif seg.id == "IEA" and isa is not None:
                want = (str(groups_in_interchange), isa.element(13))
                if (seg.element(1), seg.element(2)) != want:
                    yield this.finding(
                        f"IEA01/IEA02 are {seg.element(1)}/{seg.element(2)}, expected {want[0]}/{want[1]}",
                        fix=Fix("recount IEA01, copy ISA13 to IEA02", (_set_pair(seg, *want),)),
                        segment=seg.number,
                    )
            continue
        sets_in_group += 1  # a set held elsewhere (a streamed file's placeholder) counts too
        ts = _transaction_sets(unit)
        if ts is None:
            continue
        st, se = ts.segments[0], ts.segments[-1]
        if st.id != "ST" or se.id != "SE":
            continue
        want = (str(len(ts.segments)), st.element(2))
        if (se.element(1), se.element(2)) != want:
            yield this.finding(
                f"SE01/SE02 are {se.element(1)}/{se.element(2)}, expected {want[0]}/{want[1]} "
                f"(transaction set {st.element(2)})",
                fix=Fix("recount SE01, copy ST02 to SE02", (_set_pair(se, *want),)),
                segment=se.number,
            )


def _set_pair(seg: Segment, first: str, second: str) -> SetElements:
    elements = list(seg.elements)
    while len(elements) < 3:
        elements.append("")
    elements[1], elements[2] = first, second
    return SetElements(seg, tuple(elements))


@rule(
    "X12002",
    "claim-total",
    "CLM02 equals the sum of the claim's SV102",
    severity=Severity.ERROR,
    fix=FixSafety.SAFE,
    scope=Scope.CLAIM,
    reads=("CLM02",),
    # The spec's "front-end rejection": the clearinghouse's 999, or the payer's 277CA as
    # invalid information (category A7).
    rejects=("999", "A7"),
    sources=(GUIDE,),
    docs=Docs(
        what="The total claim charge (CLM02) must equal the sum of the line charges (SV102).",
        why="Payers and clearinghouses reject a claim whose total does not balance before adjudication.",
        example="CLM*MOHS-0304*1400***11:B:1~ with lines of 742.80 and 742.80.",
        fix="safe: recompute CLM02 from the lines.",
        case="total off",
    ),
)
def claim_total(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    charges = [ln.charge for ln in claim.lines if ln.charge is not None]
    if not charges or len(charges) != len(claim.lines):  # no lines, or a charge that did not read
        return
    total = sum(charges, Decimal("0"))
    if claim.total_charge != total:
        yield this.finding(
            f"CLM02 is {claim.clm.element(2)} but the lines add up to {format_number(total)}",
            claim=claim.patient_control_number,
            fix=Fix(f"set CLM02 to {format_number(total)}", (with_element(claim.clm, 2, format_number(total)),)),
            segment=claim.clm.number,
        )


@rule(
    "X12003",
    "line-numbers",
    "LX numbers run 1..n within each claim",
    severity=Severity.WARNING,
    fix=FixSafety.SAFE,
    scope=Scope.CLAIM,
    reads=(),
    sources=(GUIDE,),
    docs=Docs(
        what="Service line numbers (LX01) start at 1 and increase by 1 within a claim.",
        why="Remittances and 999s point back to lines by number; gaps and repeats make them ambiguous.",
        example="LX*1~ ... LX*3~ with no LX*2.",
        fix="safe: renumber the lines 1..n.",
        case="gap",
    ),
)
def line_numbers(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for expected, line in enumerate(claim.lines, start=1):
        if line.number != expected:
            yield this.finding(
                f"LX01 is {line.lx.element(1) or '(blank)'}, expected {expected}",
                claim=claim.patient_control_number,
                line=line.number,
                line_id=line.line_id,
                fix=Fix(f"renumber the line {expected}", (with_element(line.lx, 1, str(expected)),)),
                segment=line.lx.number,
            )


@rule(
    "X12004",
    "line-item-control-number",
    "Every service line has a unique REF*6R line item control number",
    severity=Severity.WARNING,
    fix=FixSafety.SAFE,
    scope=Scope.ENVELOPE,
    reads=(),
    sources=(GUIDE,),
    docs=Docs(
        what="Each 2400 loop carries REF*6R, unique within the file.",
        why="The payer returns REF*6R on the 835 line (2110 REF*6R): it is how a denial is "
        "traced to the exact line that was sent. Without it, lines are matched on code and date, "
        "which is ambiguous on a Mohs day with several stages of one code.",
        example="LX*2~ SV1*HC:17312*401.16*UN*1***1~ DTP*472*D8*20261006~ with no REF*6R.",
        fix="safe: add REF*6R <CLM01>-<LX>, made unique within the file when that is taken.",
        case="missing REF*6R",
    ),
)
def line_item_control_number(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    claims = [c for unit in ctx.units if isinstance(unit, ClaimSet) for c in unit.claims]
    ids = [line.line_id for claim in claims for line in claim.lines]
    if all(ids) and len(set(ids)) == len(ids):
        return  # every line has an id of its own: the common case, seen without the loops below
    used: dict[str, int] = {}
    for claim in claims:
        for line in claim.lines:
            if line.line_id:
                used[line.line_id] = used.get(line.line_id, 0) + 1
    taken = set(used)
    for claim in claims:
        for line in claim.lines:
            duplicate = line.line_id is not None and used.get(line.line_id, 0) > 1
            if line.line_id and not duplicate:
                continue
            base = f"{claim.patient_control_number}-{line.number or 0}"
            new_id, n = base[:50], 1
            while new_id in taken:
                n += 1
                new_id = f"{base}-{n}"[:50]
            taken.add(new_id)
            edit: Edit
            if duplicate and line.line_id is not None:  # (duplicate implies an id; said for the checker)
                ref = next(s for s in line.segments if s.id == "REF" and s.element(1) == "6R")
                edit = with_element(ref, 2, new_id)
                message = f"REF*6R {line.line_id} is used by more than one line in the file"
                used[line.line_id] -= 1  # the last holder keeps it
            else:
                anchor = insertion_anchor(line.segments, "2400", "REF[6R]")
                if anchor is None:
                    continue
                edit = insert_segment(anchor, "REF", "6R", new_id)
                message = "the line has no REF*6R line item control number"
            yield this.finding(
                message,
                claim=claim.patient_control_number,
                line=line.number,
                line_id=line.line_id,
                fix=Fix(f"set REF*6R to {new_id}", (edit,)),
                segment=line.lx.number,
            )


@rule(
    "X12005",
    "code-representation",
    "Codes are trimmed and upper case; modifiers are not repeated",
    severity=Severity.WARNING,
    fix=FixSafety.SAFE,
    scope=Scope.CLAIM,
    reads=(),
    predicts=(Prediction("CO", ("4",)),),
    sources=(GUIDE,),
    docs=Docs(
        what="Procedure codes and modifiers (SV101-1 to SV101-6) and diagnosis codes (HI) are "
        "upper case with no blanks; a modifier appears once per line. SV101-7, the free-text "
        "description unlisted and NOC codes (17999, J3490) require, is never moved, upper-cased or dropped.",
        why="Payers match codes exactly: 'xs' is not XS, and a repeated modifier is read as an "
        "invalid combination (CO-4).",
        example="SV1*HC:17311:xs*742.8*UN*1***2~",
        fix="safe: upper-case and trim the codes, drop repeated modifiers.",
        case="lower-case modifier and repeated modifier",
    ),
)
def code_representation(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        sv1 = line.sv1
        if sv1 is None:
            continue
        raw = sv1.elements[1] if len(sv1.elements) > 1 else ""
        component = sv1.delimiters.component
        if raw == raw.upper() and " " not in raw and raw.count(component) < 3 and component == component.upper():
            continue  # qualifier, code and at most one modifier, all clean: the common case
        parts = raw.split(component)
        # SV101-1 qualifier, -2 code, -3..6 modifiers; SV101-7 on is free text, never touched.
        coded, rest = parts[:6], parts[6:]
        mods_raw = [m for m in coded[2:] if m]
        if all(p == p.upper() and " " not in p for p in coded) and len(set(mods_raw)) == len(mods_raw):
            continue  # already clean: the common case, checked without rebuilding it
        clean = [p.strip().upper() for p in coded]
        mods: list[str] = []
        for m in clean[2:]:
            if m and m not in mods:
                mods.append(m)
        slots = [*mods, *[""] * (4 - len(mods))] if rest else mods
        wanted = clean[:2] + slots + rest
        if wanted != parts:
            composite = sv1.delimiters.component.join(wanted)
            yield this.finding(
                f"SV101 {sv1.element(1)!r} should read {composite!r}",
                claim=claim.patient_control_number,
                line=line.number,
                line_id=line.line_id,
                fix=Fix(f"rewrite SV101 as {composite}", (with_element(sv1, 1, composite),)),
                segment=sv1.number,
            )
    first_line = claim.lines[0].lx if claim.lines else None
    for seg in claim.segments:
        if seg is first_line:
            break  # HI belongs to 2300, before the lines
        if seg.id != "HI":
            continue
        text = seg.text
        if text == text.upper() and text.split() == [text]:
            continue  # upper case, no blank anywhere: every code already trimmed (the common case)
        changed = tuple(e.strip().upper() for e in seg.elements)
        if changed != seg.elements:
            yield this.finding(
                "diagnosis codes in HI are not trimmed upper case",
                claim=claim.patient_control_number,
                fix=Fix("upper-case and trim the HI codes", (SetElements(seg, changed),)),
                segment=seg.number,
            )


# ---------------------------------------------------------------- rules added after the first release


@rule(
    "X12006",
    "corrected-claim-without-original",
    "A replacement (CLM05-3 = 7) or void (8) claim lacks 2300 REF*F8",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    predicts=(Prediction("CO", ("16",)),),
    sources=(GUIDE,),
    docs=Docs(
        what="A replacement (CLM05-3 = 7) or void (8) claim carries 2300 REF*F8, the payer's claim "
        "control number of the original (CLP07 of its 835).",
        why="Without it the payer cannot find the claim to replace or void: the claim is rejected "
        "at the front door or denied as incomplete (CO-16).",
        example="CLM*C1*742.8***11:B:7*Y*A*Y*Y~ with no REF*F8.",
        fix="manual unless the store holds the original's CLP07; then safe: insert REF*F8 with it.",
        case="a replacement without REF*F8, no stored original: manual",
    ),
)
def corrected_claim_without_original(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    if claim.frequency not in ("7", "8") or claim.payer_claim_control_number:
        return
    kind = "replacement" if claim.frequency == "7" else "void"
    original = ctx.options.original_claim_number(claim)
    fix = None
    if original:
        anchor = insertion_anchor(claim.segments, "2300", "REF[F8]")
        if anchor is not None:
            fix = Fix(
                f"insert REF*F8*{original} (CLP07 of the stored 835)", (insert_segment(anchor, "REF", "F8", original),)
            )
    yield this.finding(
        f"a {kind} claim (CLM05-3 = {claim.frequency}) without REF*F8, the payer's claim number of the original",
        claim=claim.patient_control_number,
        fix=fix,
        safety=FixSafety.SAFE if fix else None,
        segment=claim.clm.number,
    )


@rule(
    "X12007",
    "incomplete-envelope",
    "An interchange, group or transaction set is not closed (a file cut in transfer)",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.ENVELOPE,
    reads=(),
    rejects=("999",),  # the spec's catalog: a front-end (999) rejection
    predicts=(),
    sources=(X12_STANDARD,),
    docs=Docs(
        what="Every ISA has its IEA, every GS its GE, every ST its SE.",
        why="A file cut short in transfer is rejected whole (TA1 or 999); what it holds may be "
        "only part of the batch that was meant to go.",
        example="ISA*...~GS*...~ST*837*0001*005010X222A1~ ... CLM*...~ and the file ends.",
        fix="manual: get the whole file again from where it came from.",
        case="cut before IEA",
    ),
)
def incomplete_envelope(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    open_isa: Segment | None = None
    open_gs: Segment | None = None
    for unit in ctx.units:
        if isinstance(unit, Envelope):
            seg = unit.segment
            if seg.id == "ISA":
                if open_isa is not None:
                    yield _unclosed(this, open_isa, "IEA", "the next ISA")
                open_isa, open_gs = seg, None
            elif seg.id == "GS":
                if open_gs is not None:
                    yield _unclosed(this, open_gs, "GE", "the next GS")
                open_gs = seg
            elif seg.id == "GE":
                open_gs = None
            elif seg.id == "IEA":
                if open_gs is not None:
                    yield _unclosed(this, open_gs, "GE", "IEA")
                open_isa = open_gs = None
            continue
        ts = _transaction_sets(unit)
        if ts is not None and ts.segments and ts.segments[0].id == "ST" and ts.segments[-1].id != "SE":
            st = ts.segments[0]
            yield this.finding(
                f"transaction set {st.element(2) or '?'} has no SE",
                segment=st.number,
            )
    if open_gs is not None:
        yield _unclosed(this, open_gs, "GE", "the end of the file")
    if open_isa is not None:
        yield _unclosed(this, open_isa, "IEA", "the end of the file")


def _unclosed(this: Rule, opener: Segment, closer: str, reached: str) -> Finding:
    control = opener.element(13) if opener.id == "ISA" else opener.element(6)
    return this.finding(
        f"{opener.id} {control} has no {closer}: {reached} came first",
        segment=opener.number,
    )


@rule(
    "X12008",
    "implementation-version",
    "GS08 or ST03 is not 005010X222A1",
    severity=Severity.WARNING,
    fix=FixSafety.UNSAFE,
    scope=Scope.ENVELOPE,
    reads=(),
    rejects=("999",),  # the spec's catalog: a front-end (999) rejection
    predicts=(),
    sources=(GUIDE,),
    docs=Docs(
        what="The implementation convention reference, ST03 (and GS08), names the 837P guide "
        "005010X222A1, not 005010X222A2 or a bare 005010X222. Such a set is still read with the A1 "
        "guide and checked.",
        why="A clearinghouse validates against the guide the label names; an unknown label is rejected in the 999.",
        example="ST*837*0001*005010X222A2~",
        fix="unsafe: set ST03 to 005010X222A1 (GS08, in the group header, by hand).",
        case="ST03 005010X222A2 is reported and the set still checked",
    ),
)
def implementation_version(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    for unit in ctx.units:
        ts = _transaction_sets(unit)
        if ts is None or not ts.segments or ts.segments[0].id != "ST" or ts.transaction_type != "837":
            continue
        st = ts.segments[0]
        st03 = st.element(3)
        gs08 = ts.gs.element(8) if ts.gs is not None else ""
        if st03 and st03 != IMPLEMENTATION_837P and st03.startswith(CLAIM_837P_FAMILY):
            yield this.finding(
                f"ST03 of transaction set {st.element(2)} is {st03}, not {IMPLEMENTATION_837P}",
                fix=Fix(f"set ST03 to {IMPLEMENTATION_837P}", (with_element(st, 3, IMPLEMENTATION_837P),)),
                segment=st.number,
            )
        if gs08 and gs08 != IMPLEMENTATION_837P and gs08.startswith(CLAIM_837P_FAMILY):
            yield this.finding(
                f"GS08 of the group holding transaction set {st.element(2)} is {gs08}, not {IMPLEMENTATION_837P}",
                safety=FixSafety.MANUAL,
                segment=st.number,
            )


MAX_SERVICE_LINES = 50  # 2400 repeat in 005010X222A1
MAX_DIAGNOSES = 12  # HI01-HI12
# Modifiers a claim line commonly carries: a two-character description is not one of these.
KNOWN_MODIFIERS = vocab.NCCI_ASSOCIATED_MODIFIERS | frozenset(
    [
        "22",
        "26",
        "32",
        "47",
        "50",
        "51",
        "52",
        "53",
        "54",
        "55",
        "56",
        "62",
        "66",
        "76",
        "77",
        "80",
        "81",
        "82",
        "90",
        "92",
        "95",
        "99",
        "AS",
        "GA",
        "GC",
        "GX",
        "GY",
        "GZ",
        "KX",
        "Q5",
        "Q6",
        "TC",
    ]
)


@rule(
    "X12009",
    "837p-limits",
    "An 837P limit is exceeded: service lines, modifiers or diagnosis codes",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    rejects=("999",),  # the spec's catalog: a front-end (999) rejection
    predicts=(),
    sources=(GUIDE,),
    docs=Docs(
        what="A claim has at most 50 service lines, a line at most 4 modifiers (SV101-3 to "
        "SV101-6), a claim at most 12 diagnosis codes. Fixes are held to the same limits.",
        why="A claim past a limit of the guide is rejected at the front door (999).",
        example="A claim with 51 LX loops.",
        fix="manual: split the claim, or drop what does not belong.",
        case="51 service lines",
    ),
)
def claim_limits(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    if len(claim.lines) > MAX_SERVICE_LINES:
        yield this.finding(
            f"the claim has {len(claim.lines)} service lines; the guide allows {MAX_SERVICE_LINES}",
            claim=claim.patient_control_number,
            segment=claim.clm.number,
        )
    if len(claim.diagnoses) > MAX_DIAGNOSES:
        yield this.finding(
            f"the claim has {len(claim.diagnoses)} diagnosis codes; the guide allows {MAX_DIAGNOSES}",
            claim=claim.patient_control_number,
            segment=claim.clm.number,
        )
    for line in claim.lines:
        if len(line.modifiers) != 4:
            continue  # nearly every line: SV101 is only looked at with four modifiers in it
        parts = line.sv1.components(1) if line.sv1 is not None else []
        # Four modifiers and then a modifier code where the description goes: a fifth modifier.
        if len(parts) > 6 and parts[6].strip().upper() in KNOWN_MODIFIERS:
            yield this.on(
                claim,
                line,
                f"SV101 carries a fifth modifier ({parts[6]}) in SV101-7; a line takes at most 4",
            )
