"""PAY family: what a payer's policy requires beyond the guide (payer policy file; Medicare defaults)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from mohsedi.rules.base import Docs, Finding, FixSafety, Prediction, Rule, Scope, Severity, Source
from mohsedi.rules.context import ClaimContext
from mohsedi.rules.registry import rule

POLICY = Source("The practice's payer policy file (Medicare defaults built in)", "--policy", True)
MEDICARE_FILING = Source(
    "Medicare timely filing: 12 months from the date of service (mohs-rules.md section 3)", "42 CFR 424.44", True
)


@rule(
    "PAY001",
    "prior-authorization-missing",
    "The payer's policy requires prior authorization for these codes and 2300 REF*G1 is missing",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    # The spec also names CARC 15; the X12 list of 2026-08-17 has it deactivated, so payers send 197.
    predicts=(Prediction("CO", ("197",), ("N54", "M62")),),
    sources=(POLICY,),
    docs=Docs(
        what="A claim billing a code the payer's policy lists under prior_auth carries no prior "
        "authorization number (2300 REF*G1). Traditional Medicare requires none for Mohs; Medicare "
        "Advantage and commercial payers may.",
        why="Without the number the payer denies for missing precertification (CO-197, N54/M62; "
        "CARC 15 is deactivated).",
        example='17311 for a commercial payer whose policy has prior_auth = ["17311"], no REF*G1.',
        fix="manual: obtain or look up the authorization and add REF*G1.",
        case="commercial payer, no REF*G1",
    ),
)
def prior_authorization_missing(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    needed = ctx.options.payer_policy(claim.payer_id).prior_auth
    if not needed or claim.prior_authorization:
        return
    codes = sorted({ln.procedure for ln in claim.lines} & needed)
    if codes:
        yield this.finding(
            f"payer {claim.payer_id} requires prior authorization for {', '.join(codes)}; the claim has no REF*G1",
            claim=claim.patient_control_number,
            segment=claim.clm.number,
        )


@rule(
    "PAY002",
    "timely-filing",
    "The claim's earliest date of service is older than the payer's filing limit",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    predicts=(Prediction("CO", ("29",), ("N211",)),),
    sources=(MEDICARE_FILING, POLICY),
    docs=Docs(
        what="The claim's earliest date of service is past the payer's timely filing limit: for "
        "Medicare (and any payer without its own limit) one calendar year after the date of "
        "service; for other payers, timely_filing_days from the policy file. One finding per claim, "
        "naming the oldest date; when the claim is not Medicare's (SBR09 not MA or MB) and the "
        "policy file gives its payer no limit, the message says Medicare's year was applied.",
        why="A claim filed late is denied outright (CO-29, N211) and cannot be billed to the patient.",
        example="A 2025-06-01 date of service sent on 2026-11-22 to a payer with a 180-day limit.",
        fix="manual: send proof of timely filing or an exception request if one applies.",
        case="a payer's own limit",
    ),
)
def timely_filing(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    oldest = min((ln.date_from for ln in claim.lines if ln.date_from is not None), default=None)
    if oldest is None:
        return
    days = ctx.options.payer_policy(claim.payer_id).timely_filing_days
    today = ctx.options.current_date()
    payer = claim.payer_id
    if days is not None:
        deadline, limit = oldest + timedelta(days=days), f"payer {payer} allows {days} days"
    else:
        deadline = one_calendar_year_after(oldest)
        filing = claim.subscriber.claim_filing_indicator if claim.subscriber is not None else ""
        if filing in MEDICARE_FILING_INDICATORS:
            limit = f"Medicare allows one calendar year (payer {payer})"
        else:  # the claim does not say Medicare: say the limit is the default, not the payer's word
            limit = (
                f"the policy file gives no filing limit for payer {payer} (SBR09 {filing or 'empty'}), "
                "so Medicare's one calendar year was applied"
            )
    if today > deadline:
        yield this.finding(
            f"the oldest date of service, {oldest}, was due by {deadline}; {limit}; today is {today}",
            claim=claim.patient_control_number,
            segment=claim.clm.number,
        )


# SBR09 claim filing indicator codes of traditional Medicare (Part A, Part B); Medicare
# Advantage plans ("16") set their own limits.
MEDICARE_FILING_INDICATORS = frozenset({"MA", "MB"})


def one_calendar_year_after(day: date) -> date:
    """The same date a year later (29 February: 28 February), the last day Medicare accepts a claim."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)
