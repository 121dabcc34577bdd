"""MOHS family: stage, site and block coding, add-ons, modifiers and same-day services.

Facts and codes: ../shared/spec/mohs-rules.md sections 1-4. A finding about a pair of
lines is reported on the line the payer would deny (the biopsy, pathology, excision or
E/M line on a Mohs day).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal

from mohsedi.claims.model import ServiceLine
from mohsedi.codes import mohs as vocab
from mohsedi.codes.ncci import PtpEdit
from mohsedi.guide.compile import NODES
from mohsedi.rules.base import (
    Docs,
    Edit,
    Finding,
    Fix,
    FixSafety,
    InsertAfter,
    Prediction,
    Rule,
    Scope,
    SetElements,
    Severity,
    Source,
)
from mohsedi.rules.context import ClaimContext, DayContext, DayLine
from mohsedi.rules.edits import (
    format_number,
    insert_segment,
    insertion_anchor,
    with_procedure,
    with_units,
)
from mohsedi.rules.registry import rule

CPT = Source(
    "CPT Mohs code descriptors and parenthetical instructions (mohs-rules.md section 1)", "AMA CPT 17311-17315", True
)
CMS_MOHS = Source("Medicare contractor Mohs billing guidance (mohs-rules.md section 1)", "CMS / MAC articles", True)
NCCI_DATA = Source(
    "CMS NCCI practitioner PTP edits, 2024-07-01 release (mohs-rules.md section 2)",
    "CMS NCCI PTP practitioner release 2024-07-01 (shipped in mohsedi/data/reference.sqlite)",
    True,
)
NCCI_MODIFIERS = Source(
    "CMS NCCI policy manual: modifiers 59 and X{EPSU} (mohs-rules.md section 2)", "NCCI Policy Manual ch. I", True
)
PROBABLE = Source(
    "Industry consensus, not confirmed in a primary source (mohs-rules.md, marked [P])", "mohs-rules.md", False
)
ICD10 = Source("ICD-10-CM C44/C43/D03/D04 site axes; CPT site groups (mohs-rules.md section 1)", "ICD-10-CM, CPT", True)


def _lacks(line: ServiceLine, modifiers: frozenset[str] | set[str]) -> bool:
    # Case and blanks are X12005's finding; here "xs" still counts as XS.
    return not any(m.strip().upper() in modifiers for m in line.modifiers)


def _add_modifier(line: ServiceLine, modifier: str) -> Fix | None:
    """The edit appending ``modifier``; None when SV101 has no free modifier slot (four in use)."""
    try:
        return Fix(f"append modifier {modifier}", (with_procedure(line, modifiers=[*line.modifiers, modifier]),))
    except ValueError:
        return None


def _line_clia(line: ServiceLine) -> str | None:
    """2400 REF*X4, the CLIA number given on the line itself."""
    for seg in line.segments:
        if seg.id == "REF" and seg.element(1) == "X4" and NODES[seg.node].loop == "2400":
            return seg.element(2) or None
    return None


def _bypassed_on_mohs_day(ctx: DayContext, dl: DayLine) -> bool:
    """Whether the line's pairs with the day's Mohs lines are each bypassed by a modifier that
    bypasses that pair (mohs-rules.md section 2): the first stages when there are any, which
    CMS pairs with these codes, else every Mohs line."""
    firsts = [m for m in ctx.mohs_lines if m.line.procedure in vocab.FIRST_STAGE_CODES] or ctx.mohs_lines
    return all(
        vocab.pair_bypassed(m.line.procedure, m.line.modifiers, dl.line.procedure, dl.line.modifiers) for m in firsts
    )


# ---------------------------------------------------------------- add-ons and families


@rule(
    "MOHS001",
    "add-on-without-primary",
    "An add-on (17312, 17314, 17315) has no primary it may go with on that date",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.ADD_ON_CODES,),
    predicts=(Prediction("CO", ("B15", "107"), ("N122",)),),
    sources=(CPT,),
    suppresses=("NCCI004",),
    docs=Docs(
        what="17312 is reported only with 17311, 17314 only with 17313, 17315 with any of "
        "17311-17314, for the same patient, provider and date of service (across claims).",
        why="An add-on code is never paid alone: the payer denies it as lacking its primary "
        "procedure (CO-B15 or 107 with N122).",
        example="17312 x1 on 2026-10-06 with no 17311 (or 17313) that day.",
        fix="manual: add the first-stage line that was performed, or remove the add-on.",
        case="additional stage alone",
    ),
)
def add_on_without_primary(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    codes = ctx.codes()
    for dl in ctx.with_code(*vocab.ADD_ON_CODES):
        code = dl.line.procedure
        if code == vocab.ADDITIONAL_BLOCK:
            missing = not (codes & vocab.ADD_ON_PRIMARIES[code])
        else:
            missing = not (codes & vocab.FIRST_STAGE_CODES)  # other-family primary: MOHS002
        if missing:
            yield this.on(dl.claim, dl.line, f"{code} has no first-stage Mohs code (17311/17313) on {ctx.day}")


@rule(
    "MOHS002",
    "add-on-wrong-family",
    "The add-on's site family differs from its primary's",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(frozenset({vocab.HEAD_ADDITIONAL_STAGE, vocab.TRUNK_ADDITIONAL_STAGE}),),
    predicts=(Prediction("CO", ("B15",), ("N122",)),),
    sources=(CPT,),
    suppresses=("MOHS005", "NCCI004"),  # both would recode the same add-on
    docs=Docs(
        what="17312 (head/neck/hands/feet/genitalia) goes with 17311; 17314 (trunk/arms/legs) "
        "with 17313. Fires when the day has only the other family's first stage.",
        why="The payer finds no valid primary for the add-on and denies it (CO-B15, N122).",
        example="17311 x1 and 17314 x1 for one ear tumor.",
        fix="unsafe: recode the add-on to the primary's family (17314 -> 17312, 17312 -> 17314).",
        case="17314 after 17311",
    ),
)
def add_on_wrong_family(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    codes = ctx.codes()
    for dl in ctx.with_code(vocab.HEAD_ADDITIONAL_STAGE, vocab.TRUNK_ADDITIONAL_STAGE):
        code = dl.line.procedure
        own_primary = next(iter(vocab.ADD_ON_PRIMARIES[code]))
        if own_primary in codes:
            continue
        others = codes & vocab.FIRST_STAGE_CODES
        if not others:
            continue  # no primary at all: MOHS001
        family = vocab.SITE_FAMILY[next(iter(others))]
        target = vocab.ADDITIONAL_STAGE_OF_FAMILY[family]
        yield this.on(
            dl.claim,
            dl.line,
            f"{code} is billed with {', '.join(sorted(others))} only; its primary is {own_primary}",
            fix=Fix(f"recode {code} to {target}", (with_procedure(dl.line, code=target),)),
        )


@rule(
    "MOHS003",
    "first-stage-units",
    "A first-stage line (17311/17313) has more than one unit",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.CLAIM,
    reads=(),
    requires=(vocab.FIRST_STAGE_CODES,),
    predicts=(Prediction("CO", ("151",), ("N362",)),),
    sources=(CPT, PROBABLE),
    docs=Docs(
        what="One unit of 17311/17313 is the first stage of one tumor; each tumor treated gets its own line.",
        why="Units above one on a first-stage line read as a units error and trip the MUE "
        "(CO-151, N362); one line per tumor also carries each tumor's diagnosis pointer.",
        example="SV1*HC:17311*1485.6*UN*2***1:2~ for the nose and the ear.",
        fix="unsafe: split into one line per tumor, charge divided, each pointing to its tumor's "
        "diagnosis when the pointers give one per unit.",
        case="two tumors on one line",
    ),
)
def first_stage_units(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        if line.procedure not in vocab.FIRST_STAGE_CODES or line.units is None or line.units <= 1:
            continue
        fix = _split_line(line) if line.units == int(line.units) and line.charge is not None else None
        yield this.on(
            claim,
            line,
            f"{line.procedure} has {format_number(line.units)} units; one line per tumor",
            fix=fix,
            safety=None if fix else FixSafety.MANUAL,
        )


def _split_line(line: ServiceLine) -> Fix:
    """One line per unit: the first keeps any rounding remainder so the total is unchanged."""
    assert line.sv1 is not None and line.charge is not None and line.units is not None
    n = int(line.units)
    share = (line.charge / n).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    first_charge = line.charge - share * (n - 1)
    pointers = line.diagnosis_pointers
    one_each = len(pointers) == n
    edits: list[Edit] = []
    sv1_first = list(with_units(line, Decimal(1), first_charge).elements)
    if one_each:
        while len(sv1_first) <= 7:
            sv1_first.append("")
        sv1_first[7] = str(pointers[0])
    edits.append(SetElements(line.sv1, tuple(sv1_first)))
    copies: list[tuple[str, ...]] = []
    for k in range(1, n):
        for seg in line.segments:
            elements = list(seg.elements)
            if seg is line.lx:
                elements[1] = str((line.number or 0) + k)  # renumbered after the last pass anyway
            elif seg is line.sv1:
                elements = list(sv1_first)
                elements[2] = format_number(share)
                if one_each:
                    elements[7] = str(pointers[k])
            elif seg.id == "REF" and seg.element(1) == "6R" and line.line_id:
                elements[2] = f"{line.line_id}-{k + 1}"[:50]
            copies.append(tuple(elements))
    edits.append(InsertAfter(line.segments[-1], tuple(copies)))
    return Fix(f"split {line.procedure} x{n} into {n} lines of one unit", tuple(edits))


FIRST_STAGE_IN_ORDER = tuple(sorted(vocab.FIRST_STAGE_CODES))


@rule(
    "MOHS004",
    "second-first-stage-modifier",
    "The same first-stage code repeated on one date without a distinct-lesion modifier",
    severity=Severity.ERROR,
    fix=FixSafety.SAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.FIRST_STAGE_CODES,),
    predicts=(Prediction("OA", ("18",), ("N522",)), Prediction("CO", ("97",))),
    sources=(CMS_MOHS, PROBABLE),
    docs=Docs(
        what="When the same first-stage code (17311, or 17313) appears on two or more lines of one "
        "patient, provider and date (claims of the batch included), every later line carries 59 "
        "or an X modifier (XS). 17311 with 17313 are different codes, never duplicates; a void "
        "claim is not counted, and an original with its replacement in one batch is not a repeat.",
        why="Without it the second line looks like an exact duplicate (OA-18, N522) or a "
        "bundled service (CO-97). The modifier does not avoid the multiple-procedure "
        "reduction (CARC 59): that is normal, not a denial.",
        example="17311 (nose, C44.311) and 17311 (ear, C44.212) on one claim, neither with XS.",
        fix="safe when the repeated lines point to different diagnosis codes or the case log shows "
        "different tumors: append the payer's preferred distinct-lesion modifier (XS by default, 59 "
        "where the payer policy says so); unsafe when they share a diagnosis and no log says "
        "otherwise (the modifier asserts a separate lesion: without proof it can mask a true duplicate).",
        case="second tumor, different diagnosis: safe",
    ),
)
def second_first_stage_modifier(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    log = ctx.options.case_log
    for code in FIRST_STAGE_IN_ORDER:
        lines = ctx.by_code.get(code)
        if lines is None or len(lines) < 2:
            continue  # nearly every day: no repeat
        tumors: set[tuple[str, str]] | None = None  # the logged tumors of the code's family, once asked
        for i, dl in enumerate(lines[1:], start=1):
            if not _lacks(dl.line, vocab.DISTINCT_MODIFIERS):
                continue
            own = set(dl.line.diagnoses)
            # Proof of a separate lesion: no diagnosis in common with any earlier line of the code...
            different_dx = bool(own) and all(own.isdisjoint(e.line.diagnoses) for e in lines[:i])
            # ...or as many logged tumors of this code's site family as there are lines of it.
            family = vocab.SITE_FAMILY[code]
            if tumors is None:
                tumors = {
                    (t.claim, t.tumor)
                    for pcn in {e.claim.patient_control_number for e in lines}
                    for t in (log.for_claim(pcn) if log is not None else [])
                    if t.family == family
                }
            different_tumors = len(tumors) >= len(lines)
            modifier = ctx.options.modifier_for(dl.claim.payer_id)
            if different_dx:
                why, safety = f"it points to {', '.join(dl.line.diagnoses)}, no earlier line of the code does", None
            elif different_tumors:
                why, safety = f"the case log shows {len(tumors)} {family}-site tumors for {len(lines)} lines", None
            else:
                why, safety = "the lines share a diagnosis: the modifier asserts a separate lesion", FixSafety.UNSAFE
            yield this.on(
                dl.claim,
                dl.line,
                f"{code} is repeated on {ctx.day} without 59/XS ({why})",
                fix=_add_modifier(dl.line, modifier),
                safety=safety,
            )


# ---------------------------------------------------------------- site and diagnosis


@rule(
    "MOHS005",
    "head-diagnosis-on-trunk-code",
    "A head, neck or genital diagnosis on 17313/17314",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.CLAIM,
    reads=(),
    requires=(frozenset({vocab.TRUNK_FIRST_STAGE, vocab.TRUNK_ADDITIONAL_STAGE}),),
    predicts=(Prediction("CO", ("11",), ("M76",)),),
    sources=(CPT, ICD10),
    docs=Docs(
        what="17313/17314 are for the trunk, arms and legs. A line pointing to a head, neck or "
        "genital diagnosis (C44.0-C44.4 incl. the scalp, D04.0-D04.4, D03.0-D03.4, C43.0-C43.4, "
        "C4A.0-C4A.4, C51, C60, C63.2) is coded to the wrong family. The scalp is head.",
        why="The payer denies the procedure as inconsistent with the diagnosis (CO-11, M76).",
        example="17313 pointing to C44.42 (squamous cell carcinoma of the scalp).",
        fix="unsafe: recode to 17311/17312.",
        case="trunk codes on a scalp tumor",
    ),
)
def head_diagnosis_on_trunk_code(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        if line.procedure not in (vocab.TRUNK_FIRST_STAGE, vocab.TRUNK_ADDITIONAL_STAGE):
            continue
        if line.diagnoses and vocab.is_head_neck_genital(line.diagnoses[0]):
            target = "17311" if line.procedure == "17313" else "17312"
            yield this.on(
                claim,
                line,
                f"{line.procedure} points to {line.diagnoses[0]}, a head/neck/genital site: use {target}",
                fix=Fix(f"recode {line.procedure} to {target}", (with_procedure(line, code=target),)),
            )


@rule(
    "MOHS006",
    "trunk-diagnosis-on-head-code",
    "A trunk diagnosis on 17311/17312",
    severity=Severity.WARNING,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    requires=(frozenset({vocab.HEAD_FIRST_STAGE, vocab.HEAD_ADDITIONAL_STAGE}),),
    predicts=(Prediction("CO", ("11",), ("M76",)),),
    sources=(CPT, ICD10),
    docs=Docs(
        what="17311/17312 on a line pointing to a trunk diagnosis (C44.5-, D04.5, D03.5, C43.5).",
        why="Valid only when surgery directly involved muscle, cartilage, bone, tendon, major "
        "nerves or vessels; otherwise the payer denies it as site-inconsistent (CO-11, M76).",
        example="17311 pointing to C44.519 (basal cell carcinoma of the back).",
        fix="manual: keep 17311 only if the operative note documents deep structures; otherwise recode to 17313.",
        case="head code on the back",
    ),
)
def trunk_diagnosis_on_head_code(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        head_code = line.procedure in (vocab.HEAD_FIRST_STAGE, vocab.HEAD_ADDITIONAL_STAGE)
        if head_code and line.diagnoses and vocab.is_trunk(line.diagnoses[0]):
            yield this.on(
                claim,
                line,
                f"{line.procedure} points to {line.diagnoses[0]} (trunk): valid only with deep structures documented",
            )


@rule(
    "MOHS007",
    "limb-site-undetermined",
    "A limb diagnosis cannot tell hand or foot from arm or leg",
    severity=Severity.INFO,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    requires=(vocab.FIRST_STAGE_CODES,),
    sources=(CPT, ICD10),
    docs=Docs(
        what="C44.6-/C44.7- (and D04.6-7, D03.6-7, C43.6-7) cover the whole upper or lower limb: "
        "a hand (17311) and a forearm (17313) share the code.",
        why="The claim alone cannot show which family is right; the Mohs log can.",
        example="17313 pointing to C44.622 (upper limb).",
        fix="manual unless the case log gives the site.",
        case="upper limb: hand or arm",
    ),
)
def limb_site_undetermined(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    log = ctx.options.case_log
    logged = {t.diagnosis for t in log.for_claim(claim.patient_control_number)} if log is not None else set()
    for line in claim.lines:
        if line.diagnoses and line.diagnoses[0] in logged:
            continue  # the case log gives the site: DOC004 compares it with the code
        if line.procedure in vocab.FIRST_STAGE_CODES and line.diagnoses and vocab.is_limb(line.diagnoses[0]):
            yield this.on(
                claim,
                line,
                f"{line.procedure} on {line.diagnoses[0]}: hand/foot (17311) or arm/leg (17313) "
                "is not in the claim; confirm the site",
            )


@rule(
    "MOHS008",
    "mohs-diagnosis-not-covered",
    "A Mohs line points to no diagnosis Mohs is covered for",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    requires=(vocab.MOHS_CODES,),
    predicts=(Prediction("CO", ("50", "11"), ("N115",)),),
    sources=(PROBABLE,),
    docs=Docs(
        what="Every Mohs line points to a malignant or in-situ skin neoplasm: C44 (eyelid C44.1- "
        "sub-codes such as C44.1021 included), C43, C4A (C4A.5-C4A.7 too), C49, D03, D04, C51, C60, "
        "C63.2. Whether the code itself is valid and billable is CODE001's question.",
        why="LCDs cover Mohs for these; anything else denies as not medically necessary (CO-50 or CO-11, N115).",
        example="17311 pointing to L82.1 (seborrheic keratosis).",
        fix="manual: point the line to the tumor's diagnosis, or correct the diagnosis.",
        case="seborrheic keratosis",
    ),
)
def mohs_diagnosis_not_covered(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        if line.procedure in vocab.MOHS_CODES and not any(vocab.is_mohs_covered_diagnosis(dx) for dx in line.diagnoses):
            pointed = ", ".join(line.diagnoses) or "no diagnosis"
            yield this.on(claim, line, f"{line.procedure} points to {pointed}: not a covered skin malignancy")


# ---------------------------------------------------------------- same-day services


@rule(
    "MOHS009",
    "pathology-on-mohs-day",
    "Surgical pathology or frozen section on a Mohs date without 59/X",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.MOHS_CODES, vocab.SURGICAL_PATHOLOGY_CODES),
    predicts=(Prediction("CO", ("236",), ("M80",)),),
    sources=(CMS_MOHS, NCCI_DATA),
    suppresses=("NCCI001", "NCCI002"),
    docs=Docs(
        what="88300-88309 and 88329-88332 billed on a Mohs date without 59 or an X modifier.",
        why="The surgeon's pathology of the Mohs layers is part of 17311-17315; NCCI bundles "
        "these codes into Mohs (CO-236, M80).",
        example="17311 and 88305 x2 for the Mohs blocks.",
        fix="manual: remove the line, or document a separate specimen and append 59.",
        case="myth 7: 88305 for the Mohs blocks",
    ),
)
def pathology_on_mohs_day(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    if not ctx.mohs_lines:
        return
    for dl in ctx.lines:
        if vocab.is_surgical_pathology(dl.line.procedure) and not _bypassed_on_mohs_day(ctx, dl):
            yield this.on(dl.claim, dl.line, f"{dl.line.procedure} on a Mohs date: Mohs pathology is included")


@rule(
    "MOHS010",
    "special-stain-without-59",
    "Special stain 88314 on a Mohs date without 59 or an X modifier",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.MOHS_CODES, frozenset({vocab.SPECIAL_STAIN})),
    predicts=(Prediction("CO", ("236",), ("M80",)),),
    sources=(CMS_MOHS,),
    suppresses=("NCCI001",),
    docs=Docs(
        what="88314 billed on a Mohs date without a modifier that bypasses the pair (59, or an X "
        "modifier: XS and XU are valid bypasses too).",
        why="Routine stains (H&E, toluidine blue) are part of Mohs; 88314 is paid only for a "
        "non-routine histochemical stain, with a distinct-service modifier, per block (CO-236, M80 "
        "otherwise). Immunostains (MART-1, SOX10, CK7, ...) are 88342/88341, not 88314.",
        example="17311 and 88314 with no modifier.",
        fix="unsafe when the case log names a non-routine histochemical stain for the tumor (append "
        "the payer's distinct modifier); else manual.",
        case="special stain without 59",
    ),
)
def special_stain_without_59(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    if not ctx.mohs_lines:
        return
    log = ctx.options.case_log
    for dl in ctx.with_code(vocab.SPECIAL_STAIN):
        if _bypassed_on_mohs_day(ctx, dl):
            continue
        tumors = log.for_claim(dl.claim.patient_control_number) if log is not None else []
        own = [t for t in tumors if t.diagnosis in dl.line.diagnoses] or tumors
        histochemical = [(t, [st for st in t.non_routine_stains if not vocab.is_immunostain(st)]) for t in own]
        stained = [(t, stains) for t, stains in histochemical if stains]
        immuno = sorted({st for t in own for st in t.non_routine_stains if vocab.is_immunostain(st)})
        if stained:
            t, stains = stained[0]
            why = f"tumor {t.tumor}: {', '.join(stains)}, case log {t.lines}"
            modifier = ctx.options.modifier_for(dl.claim.payer_id)
            fix = _add_modifier(dl.line, modifier)
            yield this.on(
                dl.claim,
                dl.line,
                f"88314 on a Mohs date without 59/X; the case log names a non-routine stain ({why})",
                fix=Fix(f"append modifier {modifier} ({why})", fix.edits, justification=why) if fix else None,
            )
        elif immuno:
            yield this.on(
                dl.claim,
                dl.line,
                f"88314 on a Mohs date; the case log names only immunostains ({', '.join(immuno)}), "
                "which are 88342/88341, not 88314",
                safety=FixSafety.MANUAL,
            )
        else:
            yield this.on(
                dl.claim, dl.line, "88314 on a Mohs date needs 59/X and a non-routine stain", safety=FixSafety.MANUAL
            )


# 11100/11101 (biopsy codes deleted 2019-01-01) stay candidates: the data judges old dates.
BIOPSY_CANDIDATES = vocab.BIOPSY_CODES | {"11100", "11101"}


def _mohs_pair(ctx: DayContext, code: str) -> PtpEdit | None:
    """The loaded PTP edit (modifier indicator 1) with a Mohs code of the day in column 1 and
    this code in column 2, in force on the date; indicator 0 is NCCI002's finding."""
    data = ctx.options.edit_data()
    for mohs in sorted({dl.line.procedure for dl in ctx.mohs_lines}):
        edit = data.pair(mohs, code, ctx.day)
        if edit is not None and edit.modifier_indicator == "1":
            return edit
    return None


@rule(
    "MOHS011",
    "biopsy-on-mohs-day",
    "Biopsy primary (11102, 11104, 11106) on a Mohs date without a modifier that bypasses the pair",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.MOHS_CODES, BIOPSY_CANDIDATES),
    predicts=(Prediction("CO", ("236",), ("M80",)),),
    sources=(CMS_MOHS, NCCI_DATA),
    suppresses=("NCCI001",),
    docs=Docs(
        what="A primary biopsy billed on a Mohs date that the loaded NCCI PTP data pairs with the "
        "day's Mohs code (modifier indicator 1: 11102, 11104, 11106 in the 2024-07-01 release), "
        "without a modifier that bypasses the pair: 59 (same lesion, diagnostic biopsy with frozen "
        "section and no prior pathology) or an X modifier (a different lesion), or another NCCI "
        "bypass as mohs-rules.md section 2 reads them. The add-on biopsies 11103/11105/11107 (add-ons in "
        "the loaded add-on table) follow their primary and are not flagged on their own.",
        why="Without the modifier the biopsy is bundled into the Mohs surgery (CO-236, M80).",
        example="17311 (nose) and 11102 (a lesion on the arm) with no modifier.",
        fix="unsafe: XS (or the payer's choice) when the biopsy points to a different diagnosis "
        "than the Mohs lines, 59 when the same.",
        case="biopsy without modifier",
    ),
)
def biopsy_on_mohs_day(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    if not ctx.mohs_lines:
        return
    mohs_dx = ctx.mohs_diagnoses
    data = ctx.options.edit_data()
    for dl in ctx.lines:
        code = dl.line.procedure
        if code not in BIOPSY_CANDIDATES or _bypassed_on_mohs_day(ctx, dl):
            continue
        if data.primaries_for(code, ctx.day):
            continue  # an add-on biopsy follows its primary
        edit = _mohs_pair(ctx, code)
        if edit is None:
            continue  # the data pairs no Mohs code of the day with this code
        same = bool(set(dl.line.diagnoses) & mohs_dx)
        modifier = "59" if same else ctx.options.modifier_for(dl.claim.payer_id)
        why = "the same diagnosis as the Mohs line" if same else "a different lesion"
        yield this.on(
            dl.claim,
            dl.line,
            f"{code} on a Mohs date without 59/X ({why}); PTP edit {edit.column1}/{code}, modifier indicator 1",
            fix=_add_modifier(dl.line, modifier),
            data_release=str(edit.release),
        )


@rule(
    "MOHS012",
    "excision-on-mohs-day",
    "Malignant excision 11600-11646 on a Mohs date without XS/59",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.MOHS_CODES, vocab.MALIGNANT_EXCISION_CODES),
    predicts=(Prediction("CO", ("236",), ("M80",)),),
    sources=(NCCI_DATA,),
    suppresses=("NCCI001",),
    docs=Docs(
        what="An excision of a malignant lesion billed on a Mohs date without XS or 59.",
        why="The same tumor cannot be both excised and Mohs'd; NCCI bundles the pair "
        "(CO-236, M80) unless the excision is of a different lesion.",
        example="17311 (nose) and 11602 (arm) with no modifier.",
        fix="unsafe: XS when the excision points to a different diagnosis; manual when the "
        "same (bill one or the other).",
        case="excision of another lesion without modifier",
    ),
)
def excision_on_mohs_day(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    if not ctx.mohs_lines:
        return
    mohs_dx = ctx.mohs_diagnoses
    for dl in ctx.lines:
        if not vocab.is_malignant_excision(dl.line.procedure) or _bypassed_on_mohs_day(ctx, dl):
            continue
        if set(dl.line.diagnoses) & mohs_dx:
            yield this.on(
                dl.claim,
                dl.line,
                f"{dl.line.procedure} and Mohs on one diagnosis: bill one or the other",
                safety=FixSafety.MANUAL,
            )
        else:
            yield this.on(
                dl.claim,
                dl.line,
                f"{dl.line.procedure} on a Mohs date without XS (a different lesion)",
                fix=_add_modifier(dl.line, ctx.options.modifier_for(dl.claim.payer_id)),
            )


@rule(
    "MOHS013",
    "em-on-mohs-day",
    "E/M 99202-99215 on a Mohs date without 25, or with 59",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.MOHS_CODES, vocab.OFFICE_EM_CODES),
    predicts=(Prediction("CO", ("236", "97"), ("M80",)),),
    sources=(PROBABLE,),
    suppresses=("NCCI001",),
    docs=Docs(
        what="An office E/M on a Mohs date needs modifier 25 and a separately identifiable "
        "problem; 59 is never valid on an E/M.",
        why="Without 25 the visit is bundled into the procedure (CO-236 or CO-97, M80).",
        example="99213 for actinic keratoses and 17311 on the same date, no 25.",
        fix="unsafe: replace 59 with 25 on an E/M; a missing 25 is manual (the note must support a separate problem).",
        case="E/M without 25",
    ),
)
def em_on_mohs_day(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    if not ctx.mohs_lines:
        return
    for dl in ctx.lines:
        line = dl.line
        if not vocab.is_office_em(line.procedure):
            continue
        if "59" in line.modifiers:
            mods = [m for m in line.modifiers if m != "59"]
            if "25" not in mods:
                mods.append("25")
            yield this.on(
                dl.claim,
                dl.line,
                f"{line.procedure} carries 59, never valid on an E/M: use 25",
                fix=Fix("replace 59 with 25", (with_procedure(line, modifiers=mods),)),
            )
        elif "25" not in line.modifiers:
            yield this.on(
                dl.claim,
                dl.line,
                f"{line.procedure} on a Mohs date without 25",
                safety=FixSafety.MANUAL,
            )


# ---------------------------------------------------------------- modifiers and codes


@rule(
    "MOHS014",
    "59-with-x-modifier",
    "59 and an X modifier on the same line",
    severity=Severity.ERROR,
    fix=FixSafety.SAFE,
    scope=Scope.CLAIM,
    reads=(),
    predicts=(Prediction("CO", ("4",), ("N519",)),),
    sources=(NCCI_MODIFIERS,),
    docs=Docs(
        what="A line carrying 59 together with XE, XS, XP or XU.",
        why="CMS: never both. The payer rejects the combination (CO-4, N519).",
        example="SV1*HC:17311:59:XS*742.8*UN*1***2~",
        fix="safe: drop 59 (the X modifier is the more specific).",
        case="59 with XS",
    ),
)
def fifty_nine_with_x(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        if "59" in line.modifiers and set(line.modifiers) & vocab.X_MODIFIERS:
            mods = [m for m in line.modifiers if m != "59"]
            yield this.on(
                claim,
                line,
                f"{line.procedure} carries 59 and {'/'.join(sorted(set(line.modifiers) & vocab.X_MODIFIERS))}",
                fix=Fix("drop modifier 59", (with_procedure(line, modifiers=mods),)),
            )


@rule(
    "MOHS015",
    "needless-modifier-on-repair",
    "59/X modifiers on a repair or flap that no loaded PTP edit pairs with the day's codes",
    severity=Severity.WARNING,
    fix=FixSafety.UNSAFE,
    scope=Scope.DAY,
    reads=(),
    requires=(vocab.REPAIR_FLAP_CODES,),
    sources=(NCCI_DATA,),
    docs=Docs(
        what="A repair, flap or graft (12001-13160, 14000-14350, 15xxx) with 59 or an X modifier "
        "when no loaded NCCI PTP edit, in either column, pairs it with another code billed that "
        "day (13151 with 64450 is a real pair: no finding).",
        why="There is no NCCI pair between Mohs and repairs: a blanket 59 is not needed and is "
        "a compliance risk (modifier 59 audits), not a denial.",
        example="17311 and 13151-59.",
        fix="unsafe: remove the modifier, when the loaded PTP table holds every edit of the codes "
        "involved; manual when it holds only part (the shipped table has the column 1 codes "
        "11000-17999 only: a pair with another code in column 1 cannot be ruled out).",
        case="blanket 59 on a repair",
    ),
)
def needless_modifier_on_repair(this: Rule, ctx: DayContext) -> Iterator[Finding]:
    codes = ctx.codes()
    lookup = ctx.options.edit_data()
    for dl in ctx.lines:
        line = dl.line
        if not vocab.is_repair_or_flap(line.procedure) or not set(line.modifiers) & vocab.DISTINCT_MODIFIERS:
            continue
        if ctx.options.payer_policy(dl.claim.payer_id).repair_modifier:
            continue  # this payer's policy asks for the modifier on repairs
        others = sorted(codes - {line.procedure})
        if any(
            lookup.pair(line.procedure, other, ctx.day) or lookup.pair(other, line.procedure, ctx.day)
            for other in others
        ):
            continue
        # Column 1 codes whose edits the loaded table may not hold: a pair cannot be ruled out.
        unknown = [c for c in [line.procedure, *others] if not lookup.ptp_covers(c, ctx.day)]
        used = "/".join(m for m in line.modifiers if m in vocab.DISTINCT_MODIFIERS)
        release = lookup.release_for("ptp", ctx.day)
        if unknown:
            yield this.on(
                dl.claim,
                dl.line,
                f"{line.procedure} carries {used} and no loaded NCCI edit pairs it with the day's codes, but the "
                f"loaded PTP table ({release}) lacks the edits with {', '.join(unknown)} in column 1: check "
                "the full table before removing the modifier",
                safety=FixSafety.MANUAL,
                data_release=str(release),
            )
            continue
        mods = [m for m in line.modifiers if m not in vocab.DISTINCT_MODIFIERS]
        yield this.on(
            dl.claim,
            dl.line,
            f"{line.procedure} carries {used} but no NCCI edit pairs it with the day's codes",
            fix=Fix("remove the distinct-procedure modifier", (with_procedure(line, modifiers=mods),)),
            data_release=str(release),
        )


@rule(
    "MOHS016",
    "deleted-mohs-code",
    "Deleted Mohs codes 17304-17310",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    requires=(vocab.DELETED_MOHS_CODES,),
    predicts=(Prediction("CO", ("16", "181"), ("M51", "N56")),),
    sources=(CPT,),
    docs=Docs(
        what="17304-17310, the stage-banded Mohs codes, were deleted on 2007-01-01.",
        why="An invalid procedure code denies (CO-16 or CO-181, M51/N56).",
        example="SV1*HC:17304*...",
        fix="manual: recode with 17311-17315 from the Mohs log.",
        case="myth 5: stage-banded code",
    ),
)
def deleted_mohs_code(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        if line.procedure in vocab.DELETED_MOHS_CODES and (
            line.date_from is None or line.date_from >= vocab.DELETED_MOHS_ON
        ):
            yield this.on(claim, line, f"{line.procedure} was deleted on 2007-01-01: use 17311-17315")


@rule(
    "MOHS017",
    "clia-missing",
    "A claim with Mohs codes lacks the CLIA number (2300 REF*X4, or 2400 REF*X4 on each Mohs line)",
    severity=Severity.ERROR,
    fix=FixSafety.SAFE,
    scope=Scope.CLAIM,
    reads=(),
    requires=(vocab.MOHS_CODES,),
    predicts=(Prediction("CO", ("16",), ("MA120",)),),
    # A payer that edits at the front door rejects it as missing information (277CA category
    # A6); the status code varies by payer, so the category alone is declared.
    rejects=("A6",),
    sources=(CMS_MOHS,),
    docs=Docs(
        what="Mohs codes are CLIA-edited: the claim carries the lab's CLIA number in 2300 REF*X4, "
        "or each Mohs line carries it in 2400 REF*X4.",
        why="Without it the claim denies as incomplete (CO-16, MA120).",
        example="CLM*... with 17311 and no REF*X4.",
        fix="safe when the practice's CLIA number is configured (payer policy file or "
        "--clia): insert REF*X4; else manual.",
        case="no CLIA and none configured",
    ),
)
def clia_missing(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    if claim.clia_number:
        return
    mohs = [ln for ln in claim.lines if ln.procedure in vocab.MOHS_CODES]
    if all(_line_clia(ln) for ln in mohs):  # 2400 REF*X4 on each Mohs line is an accepted place
        return
    clia = ctx.options.clia_for(claim.billing_npi)
    fix = None
    if clia:
        anchor = insertion_anchor(claim.segments, "2300", "REF[X4]")
        if anchor is not None:
            fix = Fix(f"insert REF*X4*{clia}", (insert_segment(anchor, "REF", "X4", clia),))
    yield this.finding(
        "claim has Mohs lines but no CLIA number (REF*X4)",
        claim=claim.patient_control_number,
        fix=fix,
        safety=None if fix else FixSafety.MANUAL,
        segment=claim.clm.number,
    )


@rule(
    "MOHS018",
    "51-on-add-on",
    "Modifier 51 on an add-on code",
    severity=Severity.WARNING,
    fix=FixSafety.SAFE,
    scope=Scope.CLAIM,
    reads=(),
    requires=(vocab.ADD_ON_CODES,),
    predicts=(Prediction("CO", ("4",), ("N519",)),),
    sources=(PROBABLE,),
    docs=Docs(
        what="17312, 17314 and 17315 carry modifier 51.",
        why="Add-on codes are exempt from the multiple-procedure rule; 51 on them is an invalid "
        "modifier for the code (CO-4, N519).",
        example="SV1*HC:17312:51*401.16*UN*1***1~",
        fix="safe: remove 51.",
        case="51 on an add-on",
    ),
)
def fifty_one_on_add_on(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    for line in claim.lines:
        if line.procedure in vocab.ADD_ON_CODES and "51" in line.modifiers:
            yield this.on(
                claim,
                line,
                f"{line.procedure} is an add-on: modifier 51 does not apply",
                fix=Fix(
                    "remove modifier 51", (with_procedure(line, modifiers=[m for m in line.modifiers if m != "51"]),)
                ),
            )
