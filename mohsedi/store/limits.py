"""Values checked against the guide's maximum lengths before they are stored.

PostgreSQL refuses a value longer than its column (a DataError that used to stop the run and
print the SQL with its account numbers); SQLite stores it regardless. Checking first makes
both behave the same: the claim or claim payment holding an over-long value is left out and
reported as a finding, and everything else in the file is stored.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from mohsedi.guide.compile import CLAIM_837P_MAP, NODES, REMIT_835_MAP
from mohsedi.guide.lengths import max_length
from mohsedi.store import models as m

# The finding's code. Not a catalog rule (it judges what the store can keep, not the claim),
# but stable like one: never reuse it for anything else.
OVERLONG = "STORE001"


@dataclass(frozen=True)
class StoreFinding:
    """A problem with what was to be stored, shaped like the ingest JSON's findings."""

    rule: str
    severity: str
    claim: str | None
    line_id: str | None
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# (element as the guide names it, or a description for joined values; the column it goes to)
Check = tuple[str, "str | None", sa.Column]


@functools.cache  # a few dozen (element, column) pairs, asked for every value stored
def _limit(map_file: str, element: str, column: sa.Column) -> tuple[int | None, str]:
    """The tighter of the guide's maximum and the column's length, and whose it is."""
    guide = max_length(map_file, element)
    width = getattr(column.type, "length", None)
    if guide is not None and (width is None or guide <= width):
        return guide, "the implementation guide allows"
    return width, "the store keeps"


def _problems(map_file: str, checks: Iterable[Check]) -> list[str]:
    out = []
    for element, value, column in checks:
        if not value:
            continue
        limit, whose = _limit(map_file, element, column)
        if limit is not None and len(value) > limit:
            out.append(f"{element} is {len(value)} characters, longer than the {limit} {whose}")
    return out


def _left_out(claim: str, problems: list[str], what: str) -> StoreFinding:
    return StoreFinding(OVERLONG, "error", claim, None, "; ".join(problems) + f"; this {what} was not stored")


def _columns(model: type[m.Base]) -> SimpleNamespace:
    """A table's columns by name, resolved once: ``table.c.name`` is a Python-level look-up,
    and the checks below make a few hundred thousand of them on a large file."""
    return SimpleNamespace(**{c.key: c for c in model.__table__.columns})


CP, SP, A, RK, RM = (_columns(t) for t in (m.ClaimPayment, m.ServicePayment, m.Adjustment, m.Remark, m.Remittance))


def fit_remittance(r: Any) -> tuple[Any | None, list[StoreFinding]]:
    """The remittance without the claim payments holding an over-long value, and a finding
    for each one left out; None when the payment itself (trace, payer, payee) is over-long."""
    head = _problems(
        REMIT_835_MAP,
        [
            ("TRN02", r.trace_number, RM.trace_number),
            ("N104", r.payer_id, RM.payer_id),
            ("N104", r.payee_npi, RM.payee_npi),
            ("N104", r.payee_id, RM.payee_id),
        ],
    )
    if head:
        message = "; ".join(head) + f"; payment {r.trace_number[:50]!r} was not stored"
        return None, [StoreFinding(OVERLONG, "error", None, None, message)]
    findings, kept = [], []
    for c in r.claims:
        checks: list[Check] = [
            ("CLP01", c.patient_control_number, CP.patient_control_number),
            ("CLP02", c.status, CP.status),
            ("CLP07", c.payer_claim_control_number, CP.payer_claim_control_number),
        ]
        checks += [("CAS01", a.group, A.group_code) for a in c.adjustments]
        checks += [("CAS02", a.carc, A.carc) for a in c.adjustments]
        checks += [("MOA03", code, RK.code) for code in c.remarks]
        for s in c.services:
            checks += [
                ("SVC01-02", s.procedure, SP.procedure),
                ("SVC06-02", s.original_procedure, SP.procedure),  # the billed code, when the payer changed it
                ("REF02", s.line_id, SP.line_id),
                ("SVC01-03..06 together", ",".join(s.modifiers), SP.modifiers),
                ("SVC06-03..06 together", ",".join(s.billed_modifiers), SP.modifiers),
            ]
            checks += [("CAS01", a.group, A.group_code) for a in s.adjustments]
            checks += [("CAS02", a.carc, A.carc) for a in s.adjustments]
            checks += [("LQ02", code, RK.code) for code in s.remarks]
        problems = _problems(REMIT_835_MAP, checks)
        if problems:
            findings.append(_left_out(c.patient_control_number, problems, "claim payment"))
        else:
            kept.append(c)
    if not findings:
        return r, []
    return dataclasses.replace(r, claims=kept), findings


C, SL = _columns(m.Claim), _columns(m.ServiceLine)


def claim_problems(claim: Any) -> list[str]:
    """Why an 837P claim cannot be stored as it is (empty: it can)."""
    checks: list[Check] = [
        ("CLM01", claim.patient_control_number, C.patient_control_number),
        ("NM109", claim.payer_id, C.payer_id),
        ("NM109", claim.billing_npi, C.billing_npi),
        ("NM109", claim.rendering_npi, C.rendering_npi),
        ("REF02", claim.clia_number, C.clia_number),
        ("REF02", claim.prior_authorization, C.prior_authorization),
        ("REF02", claim.payer_claim_control_number, C.payer_claim_control_number),
        ("CLM05-02", claim.facility_qualifier, C.facility_qualifier),
        ("HI codes together", ",".join(d.code for d in claim.diagnoses), C.diagnoses),
    ]
    for line in claim.lines:
        checks += [
            ("REF02", line.line_id, SL.line_id),
            ("SV101-01", line.qualifier, SL.qualifier),
            ("SV103", line.unit_basis, SL.unit_basis),
            ("SV105", line.place_of_service, SL.place_of_service),
            ("NM109", line.rendering_npi, SL.rendering_npi),
            ("REF02", line_clia(line), SL.clia_number),
            ("SV101-02", line.procedure, SL.procedure),
            ("SV101-03..06 together", ",".join(line.modifiers), SL.modifiers),
            ("SV107 together", ",".join(str(p) for p in line.diagnosis_pointers), SL.pointers),
        ]
    return _problems(CLAIM_837P_MAP, checks)


def line_clia(line: Any) -> str | None:
    """2400 REF*X4, the CLIA number given on the line itself (the reader does not keep it)."""
    for seg in line.segments:
        if seg.id == "REF" and seg.element(1) == "X4" and seg.node >= 0 and NODES[seg.node].loop == "2400":
            return seg.element(2) or None
    return None


def fit_claims(claims: list[Any]) -> tuple[list[Any], list[StoreFinding]]:
    """The claims that can be stored, and a finding for each one left out."""
    kept, findings = [], []
    for claim in claims:
        problems = claim_problems(claim)
        if problems:
            findings.append(_left_out(claim.patient_control_number, problems, "claim"))
        else:
            kept.append(claim)
    return kept, findings
