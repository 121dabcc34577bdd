"""DOC family: the claim against the Mohs case log (stages, blocks, site, stains, map, margins).

These rules judge only claims the case log has tumors for. A tumor meets its lines through
its diagnosis: a line belongs to the tumor whose diagnosis it points to. Fixes taken from
the log say which log rows justified them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from decimal import Decimal

from mohsedi.claims.model import Claim, ServiceLine
from mohsedi.codes import mohs as vocab
from mohsedi.policy.caselog import SITE_FAMILY as FAMILY_OF_SITE
from mohsedi.policy.caselog import Tumor, expected_units
from mohsedi.rules.base import Docs, Finding, Fix, FixSafety, Prediction, Rule, Scope, Severity, Source
from mohsedi.rules.context import ClaimContext
from mohsedi.rules.edits import format_number, with_procedure, with_units
from mohsedi.rules.registry import rule

CPT_UNITS = Source("CPT Mohs unit arithmetic: stages and blocks per tumor (mohs-rules.md section 1)", "AMA CPT", True)
LOG = Source("The practice's Mohs case log (--case-log)", "case log", True)


def _tumors(ctx: ClaimContext) -> list[Tumor]:
    log = ctx.options.case_log
    return log.for_claim(ctx.claim.patient_control_number) if log is not None else []


def _set_units(line: ServiceLine, units: int, why: str) -> Fix | None:
    if line.charge is None or not line.units:
        return None
    per_unit = line.charge / line.units
    charge = (per_unit * units).quantize(Decimal("0.01"))
    return Fix(
        f"set {line.procedure} units to {units} (charge {format_number(charge)}) from {why}",
        (with_units(line, Decimal(units), charge),),
        justification=why,
    )


def _units_rule(this: Rule, ctx: ClaimContext, code_of: dict[str, str]) -> Iterator[Finding]:
    """Compare billed units of each code to the log's arithmetic; one line of a code gets a fix."""
    claim = ctx.claim
    tumors = _tumors(ctx)
    if not tumors:
        return
    expected: Counter[str] = Counter()
    rows: dict[str, list[str]] = {}
    matched, _, _ = _match(claim, tumors)
    for i, tumor in enumerate(tumors):
        # Count in the family the claim bills for the tumor: a wrong family is DOC004's finding.
        billed_line = matched.get(i)
        family = vocab.SITE_FAMILY[billed_line.procedure] if billed_line is not None else None
        for code, units in expected_units(tumor, family).items():
            if code in code_of.values():
                expected[code] += units
                rows.setdefault(code, []).append(f"tumor {tumor.tumor}, case log {tumor.lines}")
    for code in sorted(set(code_of.values())):
        lines = [ln for ln in claim.lines if ln.procedure == code]
        billed = sum((ln.units or Decimal(0) for ln in lines), Decimal(0))
        want = expected.get(code, 0)
        if billed == want:
            continue
        why = "; ".join(rows.get(code, [])) or "the case log"
        message = f"{code} is billed for {format_number(billed)} unit(s); the case log gives {want} ({why})"
        fix = _set_units(lines[0], want, why) if len(lines) == 1 and want >= 1 else None
        yield this.on(claim, lines[0] if lines else None, message, fix=fix, safety=None if fix else FixSafety.MANUAL)


@rule(
    "DOC001",
    "additional-stage-units-against-log",
    "17312/17314 units differ from stages - 1 in the case log",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.CLAIM,
    reads=(),
    needs=("case_log",),
    predicts=(Prediction("CO", ("151",), ("N362",)),),
    sources=(CPT_UNITS, LOG),
    docs=Docs(
        what="For each site family, the additional-stage units (17312 or 17314) on the claim equal the "
        "sum over its tumors of (stages - 1) in the case log.",
        why="Units the documentation does not support are denied or recouped on audit (CO-151, N362); "
        "units left off are money lost.",
        example="Log: nose tumor in 3 stages. Claim: 17311 x1, 17312 x1 (should be 2).",
        fix="unsafe: set the units (and the charge at the same unit price) from the log; the fix names "
        "the log rows. With several lines of the code, manual.",
        case="three stages, 17312 x1",
    ),
)
def additional_stage_units(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    yield from _units_rule(this, ctx, vocab.ADDITIONAL_STAGE_OF_FAMILY)


@rule(
    "DOC002",
    "block-units-against-log",
    "17315 units differ from the blocks beyond 5 per stage in the case log",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.CLAIM,
    reads=(),
    needs=("case_log",),
    predicts=(Prediction("CO", ("151",), ("N362",)),),
    sources=(CPT_UNITS, LOG),
    docs=Docs(
        what="17315 units equal the sum, over every stage of every tumor on the claim, of the blocks "
        "beyond the first five (myth 2: not stages beyond five).",
        why="Block counts are audited against the Mohs log; unsupported units deny (CO-151, N362).",
        example="Log: stages with 8 and 4 blocks. Claim: 17315 x1 (should be 3).",
        fix="unsafe: set the units from the log; the fix names the log rows.",
        case="8 and 4 blocks billed as one extra block",
    ),
)
def block_units(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    yield from _units_rule(this, ctx, {"any": vocab.ADDITIONAL_BLOCK})


def _first_stage_lines(claim: Claim) -> list[ServiceLine]:
    return [ln for ln in claim.lines if ln.procedure in vocab.FIRST_STAGE_CODES]


def _match(claim: Claim, tumors: list[Tumor]) -> tuple[dict[int, ServiceLine], list[Tumor], list[ServiceLine]]:
    """First-stage lines to tumors by diagnosis: (tumor index -> line, tumors unmatched, lines unmatched)."""
    free = list(_first_stage_lines(claim))
    matched: dict[int, ServiceLine] = {}
    lonely: list[Tumor] = []
    for i, tumor in enumerate(tumors):
        line = next((ln for ln in free if tumor.diagnosis in ln.diagnoses), None)
        if line is None:
            lonely.append(tumor)
        else:
            matched[i] = line
            free.remove(line)
    return matched, lonely, free


@rule(
    "DOC003",
    "tumor-without-first-stage",
    "A tumor in the case log has no first-stage line, or a first-stage line has no tumor in the log",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    needs=("case_log",),
    sources=(CPT_UNITS, LOG),
    docs=Docs(
        what="Each tumor of the claim in the case log has its own first-stage line (17311 or 17313) "
        "pointing to its diagnosis, and each first-stage line belongs to a logged tumor.",
        why="A tumor treated and not billed is lost revenue; a first stage with no logged tumor "
        "cannot be supported on audit.",
        example="Log: tumors A (nose) and B (ear). Claim: one 17311 pointing to the nose.",
        fix="manual: add the missing line, or correct the pointer or the log.",
        case="second tumor not billed",
    ),
)
def tumor_without_first_stage(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    tumors = _tumors(ctx)
    if not tumors:
        return
    _, lonely, extra = _match(claim, tumors)
    for tumor in lonely:
        yield this.on(
            claim,
            None,
            f"tumor {tumor.tumor} ({tumor.site}, {tumor.diagnosis}, case log "
            f"{tumor.lines}) has no first-stage line pointing to its diagnosis",
        )
    for line in extra:
        yield this.on(
            claim,
            line,
            f"{line.procedure} points to {', '.join(line.diagnoses) or 'no diagnosis'}, "
            "which no tumor of this claim in the case log has",
        )


@rule(
    "DOC004",
    "site-against-code-family",
    "The site in the case log contradicts the code family",
    severity=Severity.ERROR,
    fix=FixSafety.UNSAFE,
    scope=Scope.CLAIM,
    reads=(),
    needs=("case_log",),
    predicts=(Prediction("CO", ("11",), ("M76",)),),
    sources=(CPT_UNITS, LOG),
    docs=Docs(
        what="The logged site decides the family: hand, foot, head, neck and genitalia (or deep "
        "structures) take 17311; arm, leg and trunk take 17313. ICD-10 cannot tell a hand from a "
        "forearm; the log can.",
        why="A code that contradicts the documented site denies as inconsistent (CO-11, M76) or is recouped on audit.",
        example="Log: site hand. Claim: 17313 pointing to C44.622 (upper limb).",
        fix="unsafe: recode the first stage to the family of the logged site (MOHS002 then recodes "
        "its add-ons); the fix names the log rows.",
        case="hand on 17313",
    ),
)
def site_against_code_family(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    tumors = _tumors(ctx)
    if not tumors:
        return
    matched, _, _ = _match(claim, tumors)
    for i, line in matched.items():
        tumor = tumors[i]
        billed = vocab.SITE_FAMILY[line.procedure]
        if billed == tumor.family:
            continue
        target = vocab.FIRST_STAGE_OF_FAMILY[tumor.family]
        why = f"tumor {tumor.tumor}, site {tumor.site}, case log {tumor.lines}"
        reason = "deep structures" if tumor.family == "head" and FAMILY_OF_SITE[tumor.site] == "trunk" else tumor.site
        yield this.on(
            claim,
            line,
            f"{line.procedure} is the {billed} family but the case log puts tumor {tumor.tumor} on the "
            f"{reason}: {target}",
            fix=Fix(
                f"recode {line.procedure} to {target} ({why})", (with_procedure(line, code=target),), justification=why
            ),
        )


@rule(
    "DOC005",
    "special-stain-against-log",
    "88314 billed but the log shows only routine stains for that tumor",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    needs=("case_log",),
    predicts=(Prediction("CO", ("236",), ("M80",)),),
    sources=(LOG,),
    docs=Docs(
        what="An 88314 line belongs to a tumor whose logged stains are only routine (H&E, toluidine blue).",
        why="Routine stains are part of Mohs; 88314 without a documented non-routine stain is bundled "
        "and fails audit (CO-236, M80).",
        example="88314 on the claim; the log for the tumor lists only H&E.",
        fix="manual: remove the line, or correct the log if a special stain was used.",
        case="only H&E logged",
    ),
)
def special_stain_against_log(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    tumors = _tumors(ctx)
    if not tumors:
        return
    for line in claim.lines:
        if line.procedure != vocab.SPECIAL_STAIN:
            continue
        own = [t for t in tumors if t.diagnosis in line.diagnoses] or tumors
        if not any(t.non_routine_stains for t in own):
            names = ", ".join(t.tumor for t in own)
            yield this.on(claim, line, f"88314 billed but the case log shows only routine stains for tumor(s) {names}")


@rule(
    "DOC006",
    "map-or-margins-missing",
    "The case log lacks a Mohs map or per-block margin result for a stage",
    severity=Severity.WARNING,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    needs=("case_log",),
    sources=(LOG,),
    docs=Docs(
        what="Every logged stage has a map (map = yes) and a margin result per block (margins).",
        why="The map and margins are the documentation an auditor asks for; a stage without them is "
        "an audit risk even when the claim is paid.",
        example="Tumor A, stage 2: map = no.",
        fix="manual: complete the Mohs log.",
        case="a stage without a map",
    ),
)
def map_or_margins_missing(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    tumors = _tumors(ctx)
    if not tumors:
        return
    matched, _, _ = _match(claim, tumors)
    for i, tumor in enumerate(tumors):
        for stage in tumor.stages:
            missing = [what for what, ok in (("map", stage.map), ("margin result", bool(stage.margins))) if not ok]
            if missing:
                yield this.on(
                    claim,
                    matched.get(i),
                    f"tumor {tumor.tumor} stage {stage.stage} (case log line {stage.line}) has no "
                    f"{' or '.join(missing)}",
                )
