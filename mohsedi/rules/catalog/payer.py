"""PAY family: what a payer's policy requires beyond the guide (payer policy file; Medicare defaults)."""

from __future__ import annotations

from collections.abc import Iterator

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
    "A date of service older than the payer's filing limit (Medicare 365 days)",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    predicts=(Prediction("CO", ("29",), ("N211",)),),
    sources=(MEDICARE_FILING, POLICY),
    docs=Docs(
        what="A line's date of service is more days before today than the payer's timely filing "
        "limit (timely_filing_days; Medicare 365).",
        why="A claim filed late is denied outright (CO-29, N211) and cannot be billed to the patient.",
        example="A 2025-06-01 date of service sent on 2026-11-22 to a payer with a 180-day limit.",
        fix="manual: send proof of timely filing or an exception request if one applies.",
        case="a payer's own limit",
    ),
)
def timely_filing(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    limit = ctx.options.payer_policy(claim.payer_id).timely_filing_days
    today = ctx.options.current_date()
    for line in claim.lines:
        if line.date_from is not None and (today - line.date_from).days > limit:
            yield this.finding(
                f"date of service {line.date_from} is {(today - line.date_from).days} days ago; "
                f"payer {claim.payer_id} allows {limit}",
                claim=claim.patient_control_number,
                line=line.number,
                line_id=line.line_id,
                segment=line.lx.number,
            )
