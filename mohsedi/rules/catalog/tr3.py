"""TR3 family: pyx12's implementation-guide validation, as findings (with --tr3).

The four rules share one pyx12 run per file. Counts and control numbers of SE, GE and IEA
are X12001's (with a safe fix), so the TR3 rules leave the segment-count error to it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from mohsedi.claims.reader import ClaimSet
from mohsedi.guide.walker import node_path
from mohsedi.rules.base import Docs, Finding, FixSafety, Rule, Scope, Severity, Source
from mohsedi.rules.context import EnvelopeContext
from mohsedi.rules.registry import rule
from mohsedi.x12.segments import Segment, emit

if TYPE_CHECKING:
    from mohsedi.guide.validate import Tr3Error

PYX12 = Source("ASC X12 005010X222A1 as pyx12's map and validator (x12n_document)", "pyx12", True)
SE_COUNT = "4"  # IK5: number of included segments does not match the actual count (X12001's)


def _errors(ctx: EnvelopeContext, levels: tuple[str, ...]) -> Iterator[tuple[Tr3Error | None, str | None]]:
    if not ctx.options.tr3:
        return
    from mohsedi.guide.validate import validate_text  # pyx12's validator: loaded only for --tr3

    segments = [s for u in ctx.units for s in (u.transaction.segments if isinstance(u, ClaimSet) else u.segments)]
    result = validate_text(emit(segments))
    if result.failure and "envelope" in levels:
        yield None, result.failure
    for e in result.errors:
        if e.level in levels:
            yield e, None


def _locate(ctx: EnvelopeContext, e: Tr3Error) -> tuple[Segment | None, str | None, int | None, str | None]:
    """The segment an error is about, and the claim (CLM01), line (LX) and line id it falls in."""
    for unit in ctx.units:
        if not isinstance(unit, ClaimSet) or unit.transaction.control_number != e.set_control:
            continue
        segments = unit.transaction.segments
        index = (e.segment_in_set or 1) - 1
        if not 0 <= index < len(segments):
            return segments[0], None, None, None
        seg = segments[index]
        for claim in unit.claims:
            if any(s is seg for s in claim.segments):
                for line in claim.lines:
                    if any(s is seg for s in line.segments):
                        return seg, claim.patient_control_number, line.number, line.line_id
                return seg, claim.patient_control_number, None, None
        return seg, None, None, None
    return None, None, None, None


def _findings(this: Rule, ctx: EnvelopeContext, levels: tuple[str, ...]) -> Iterator[Finding]:
    for e, failure in _errors(ctx, levels):
        if e is None:
            yield this.finding(failure or "pyx12 could not validate the file")
            continue
        if e.level == "transaction" and e.code == SE_COUNT:
            continue
        seg, claim, line, line_id = _locate(ctx, e)
        where = ""
        if seg is not None:
            where = f" [{e.element or seg.id} at {node_path(seg) or 'no loop'}]"
        yield this.finding(
            f"pyx12 {e.level} error {e.code}: {e.message}{where}",
            claim=claim,
            line=line,
            line_id=line_id,
            segment=seg.number if seg is not None and seg.number else None,
        )


def _docs(what: str, example: str, case: str) -> Docs:
    return Docs(
        what=what + " Runs only with --tr3 (pyx12 reads about 10,000 segments a second).",
        why="A clearinghouse that validates against the implementation guide rejects the transaction "
        "set in its 999 before any payer sees it.",
        example=example,
        fix="none here: correct the file (many X12 and MOHS rules fix the common causes).",
        case=case,
    )


@rule(
    "TR3001",
    "guide-segment-error",
    "A segment the implementation guide does not allow where it stands",
    severity=Severity.ERROR,
    fix=FixSafety.NONE,
    scope=Scope.ENVELOPE,
    needs=("tr3",),  # pyx12 runs only with --tr3: the engine skips these without it
    sources=(PYX12,),
    predicts=(),
    docs=_docs(
        "pyx12 reports a segment error (999 IK3): unrecognized, unexpected, missing "
        "mandatory, or over its maximum use.",
        "ZZZ*1~ inside loop 2300.",
        case="REF*X4 twice in one claim",
    ),
)
def guide_segment_error(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    yield from _findings(this, ctx, ("segment",))


@rule(
    "TR3002",
    "guide-element-error",
    "An element value the implementation guide does not allow",
    severity=Severity.ERROR,
    fix=FixSafety.NONE,
    scope=Scope.ENVELOPE,
    needs=("tr3",),  # pyx12 runs only with --tr3: the engine skips these without it
    sources=(PYX12,),
    predicts=(),
    docs=_docs(
        "pyx12 reports an element error (999 IK4): missing required element, invalid "
        "code, bad date, too long, not used.",
        "DMG*D8*1948031X~ (an invalid date).",
        case="a date of service that does not exist",
    ),
)
def guide_element_error(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    yield from _findings(this, ctx, ("element",))


@rule(
    "TR3003",
    "guide-transaction-error",
    "A transaction set the implementation guide rejects as a whole",
    severity=Severity.ERROR,
    fix=FixSafety.NONE,
    scope=Scope.ENVELOPE,
    needs=("tr3",),  # pyx12 runs only with --tr3: the engine skips these without it
    sources=(PYX12,),
    predicts=(),
    docs=_docs(
        "pyx12 reports a transaction set error (999 IK5) other than the SE count (which is X12001's).",
        "ST02 and SE02 that differ.",
        case="SE02 differs from ST02",
    ),
)
def guide_transaction_error(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    yield from _findings(this, ctx, ("transaction",))


@rule(
    "TR3004",
    "guide-envelope-error",
    "An interchange or functional group error, or a file pyx12 cannot read",
    severity=Severity.ERROR,
    fix=FixSafety.NONE,
    scope=Scope.ENVELOPE,
    needs=("tr3",),  # pyx12 runs only with --tr3: the engine skips these without it
    sources=(PYX12,),
    predicts=(),
    docs=_docs(
        "pyx12 reports an interchange (TA1) or group (999 AK9) error, or fails on the file altogether.",
        "GS08 naming a guide that is not 005010X222A1.",
        case="GE01 off",
    ),
)
def guide_envelope_error(this: Rule, ctx: EnvelopeContext) -> Iterator[Finding]:
    yield from _findings(this, ctx, ("interchange", "group", "envelope"))
