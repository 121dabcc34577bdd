"""CODE family: code-set validity (mohs-rules.md section 4a) from the shipped code sets.

ICD-10-CM from the CMS release in mohsedi/data/reference.sqlite, place of service from the CMS
POS list, deleted procedure codes from mohsedi/data/codes/deleted_procedures.csv. Void claims
(frequency 8) never reach these rules (the engine keeps them to the X12 rules).
"""

from __future__ import annotations

from collections.abc import Iterator

from mohsedi.claims.model import Claim
from mohsedi.codes import icd10cm, lists
from mohsedi.codes import mohs as vocab
from mohsedi.rules.base import Docs, Finding, FixSafety, Prediction, Rule, Scope, Severity, Source
from mohsedi.rules.context import ClaimContext
from mohsedi.rules.registry import rule

ICD10CM = Source("ICD-10-CM code set, CMS April 2026 release (via simple-icd-10-cm)", "CMS ICD-10-CM", True)
POS = Source("CMS place of service code set, 2024-06", "CMS POS", True)
CPT_DELETIONS = Source("CPT deletions (mohs-rules.md section 4a)", "AMA CPT", True)


def _lines_pointing_to(claim: Claim, code: str) -> list[int]:
    return [ln.number or 0 for ln in claim.lines if code in ln.diagnoses]


@rule(
    "CODE001",
    "diagnosis-not-billable",
    "A diagnosis code is not a valid, billable (leaf) ICD-10-CM code",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    predicts=(Prediction("CO", ("16",), ("M76",)),),
    sources=(ICD10CM,),
    docs=Docs(
        what="An ICD-10 diagnosis (2300 HI, qualifier ABK/ABF) that is not in the ICD-10-CM code "
        "set, or is a category or subcategory with codes below it (not billable: a truncated code).",
        why="A claim with an invalid or truncated diagnosis is returned or denied as missing or "
        "invalid information (CO-16, M76). A code missing from the shipped release on a date of "
        "service outside the fiscal year it covers is a warning: the code set of that year may have it.",
        example="C44.31 (a subcategory): bill C44.310, C44.311 or C44.319.",
        fix="manual: code the diagnosis to its full depth from the documentation.",
        case="truncated C44.31 is a subcategory, not billable",
    ),
)
def diagnosis_not_billable(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    billable = icd10cm.BILLABLE
    for dx in claim.diagnoses:
        # ICD-9 (BK/BF) is not this code set; a code seen billable before is one probe.
        if dx.code in billable or not dx.qualifier.startswith("AB") or not dx.code:
            continue
        state = icd10cm.status(dx.code)
        if state == "billable":
            continue
        name, _ = icd10cm.release()
        first, last = icd10cm.covered()
        outside = [d for d in claim.service_dates if not first <= d <= last]
        lines = _lines_pointing_to(claim, dx.code)
        where = f" (line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines))})" if lines else ""
        if state == "header":
            below = icd10cm.children(dx.code, 4)
            shown = ", ".join(icd10cm.add_dot(c) for c in below[:3]) + (", ..." if len(below) > 3 else "")
            message = (
                f"{dx.formatted} is not billable: it has codes below it" + (f" ({shown})" if below else "") + where
            )
            severity = None
        else:
            message = f"{dx.formatted} is not an ICD-10-CM code{where}"
            severity = None
            if outside:
                # The code set in force on that date is not shipped: the code may be valid there.
                message += f"; judged by {name}, which covers {first} to {last}, not the date of service {outside[0]}"
                severity = Severity.WARNING
        yield this.finding(
            message,
            claim=claim.patient_control_number,
            segment=next((s.number for s in claim.segments if s.id == "HI"), claim.clm.number),
            related_lines=tuple(lines),
            data_release=name,
            severity=severity,
        )


@rule(
    "CODE002",
    "place-of-service-unknown",
    "A place-of-service code (CLM05-1, SV105) is not in the POS list",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    predicts=(Prediction("CO", ("5", "16"), ("M77",)),),
    sources=(POS,),
    docs=Docs(
        what="CLM05-1 or a line's SV105 is not an assigned code of the CMS place of service list "
        "(codes the list marks Unassigned count as not in it).",
        why="The payer cannot price the service without a valid place (CO-5 or CO-16, M77).",
        example="SV105 = 98 (unassigned); 11 (office) is valid.",
        fix="manual: use the code of the place where the service was given.",
        case="SV105 98 is unassigned",
    ),
)
def place_of_service_unknown(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    known = lists.assigned_places_of_service()
    if claim.place_of_service and claim.place_of_service not in known:
        yield this.finding(
            f"CLM05-1 place of service {claim.place_of_service!r} is not in the {lists.POS_RELEASE}",
            claim=claim.patient_control_number,
            segment=claim.clm.number,
            data_release=lists.POS_RELEASE,
        )
    for line in claim.lines:
        if line.place_of_service and line.place_of_service not in known:
            yield this.on(
                claim,
                line,
                f"SV105 place of service {line.place_of_service!r} is not in the {lists.POS_RELEASE}",
                data_release=lists.POS_RELEASE,
            )


@rule(
    "CODE003",
    "procedure-deleted",
    "A procedure code deleted before the date of service (11100/11101, 99201; 17304-17310 are MOHS016)",
    severity=Severity.ERROR,
    fix=FixSafety.MANUAL,
    scope=Scope.CLAIM,
    reads=(),
    requires=(frozenset(lists.deleted_procedures()),),
    predicts=(Prediction("CO", ("181",), ()),),
    sources=(CPT_DELETIONS,),
    docs=Docs(
        what="A service line bills a procedure code that CPT deleted before its date of service, "
        "among the codes mohsedi knows (11100/11101 deleted 2019-01-01, 99201 deleted 2021-01-01; "
        "the Mohs codes 17304-17310 are MOHS016).",
        why="A deleted code is invalid on that date (CO-181).",
        example="11100 on a 2026 date of service: bill 11102, 11104 or 11106.",
        fix="manual: recode with the current code that describes the service.",
        case="11100 after its deletion on 2019-01-01",
    ),
)
def procedure_deleted(this: Rule, ctx: ClaimContext) -> Iterator[Finding]:
    claim = ctx.claim
    deleted = lists.deleted_procedures()
    for line in claim.lines:
        entry = deleted.get(line.procedure)
        if entry is None or line.procedure in vocab.DELETED_MOHS_CODES:
            continue
        deleted_on, replaced_by = entry
        day = line.service_date
        if day is not None and day < deleted_on:
            continue
        yield this.on(
            claim,
            line,
            f"{line.procedure} was deleted on {deleted_on}"
            + (f" (date of service {day})" if day else "")
            + (f"; current codes: {', '.join(replaced_by.split())}" if replaced_by else ""),
        )
