"""Stored claims rebuilt as claim objects from their rows alone, for rules to run on them again.

Every value comes from a column; a value the row lacks stays missing (None, or '' where the
model holds text), and a rule that needs it then finds nothing to report. Nothing is made up:
no date, diagnosis, payer or place of service. Claims recorded before revision 0006 lack some
facts (Claim.facts is NULL): they are rebuilt with what they have, and said to be incomplete.

Rules build their fixes as edits on segments, so each rebuilt claim carries stand-in segments
(CLM, HI, LX, SV1, REF*6R, REF*X4) holding the stored values, placed at their guide nodes so
that what a rule looks up by node (a line's REF*X4) means what it means in a file. They are
never emitted, parsed or stored: a prediction keeps the rule and the line, not the fix.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from mohsedi.claims.model import BillingProvider, Claim, Diagnosis, ServiceLine, Subscriber
from mohsedi.guide.compile import CLAIM_837P_MAP, guide_for_map
from mohsedi.store import models as m
from mohsedi.store.db import chunks as _chunks
from mohsedi.store.db import in_list
from mohsedi.x12.delimiters import Delimiters
from mohsedi.x12.segments import Segment

C, SL = m.Claim.__table__, m.ServiceLine.__table__

# Only rules read these segments' elements; the delimiters are those of X12's examples.
_DELIMITERS = Delimiters("*", ":", "^", "~")
_CLAIM_PATH = "/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/"


@functools.cache
def _node(step: str) -> int:
    """The guide node of a 2300 or 2400 segment, by its path below 2300 (``2400/REF[X4]``)."""
    return guide_for_map(CLAIM_837P_MAP).by_path[_CLAIM_PATH + step]


def _segment(elements: list[str], step: str | None) -> Segment:
    """A stand-in segment with exactly these elements (trailing empty ones dropped)."""
    while len(elements) > 1 and elements[-1] == "":
        elements.pop()
    seg = Segment(_DELIMITERS.element.join(elements), _DELIMITERS.segment, _DELIMITERS)
    seg.elements = tuple(elements)  # as given, whatever a value holds
    if step is not None:
        seg.node = _node(step)
    return seg


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _split(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


@dataclass
class StoredClaims:
    """Rebuilt claims by stored claim id, and the ids of those whose stored facts are incomplete."""

    claims: dict[int, Claim]
    incomplete: set[int]


def rebuild_claims(conn: Connection, claim_ids: Sequence[int], *, with_same_day: bool = True) -> StoredClaims:
    """The stored claims as claim objects, with (``with_same_day``) the same patient's other
    current claims of those dates of service, so that rules about a day see the whole day."""
    rows: list[Any] = []
    for chunk in _chunks(list(claim_ids)):
        rows += conn.execute(sa.select(C).where(in_list(conn, C.c.id, chunk)).order_by(C.c.id)).all()
    if with_same_day and rows:
        # The patient's other current claims with a date of service on the first or last day of
        # one of these: one query per chunk of patients (not one per patient and day), the days
        # matched here.
        days: dict[str, set[date]] = defaultdict(set)
        for r in rows:
            days[r.patient_key].update(d for d in (r.date_from, r.date_to) if d)
        seen = {r.id for r in rows}
        for keys in _chunks(sorted(days)):
            first = min(d for key in keys for d in days[key])
            last = max(d for key in keys for d in days[key])
            for r in conn.execute(
                sa.select(C)
                .where(
                    in_list(conn, C.c.patient_key, keys),
                    C.c.superseded_by_id.is_(None),
                    C.c.date_from <= last,
                    C.c.date_to >= first,
                )
                .order_by(C.c.id)
            ):
                if r.id not in seen and any(r.date_from <= d <= r.date_to for d in days[r.patient_key]):
                    rows.append(r)
                    seen.add(r.id)
    lines: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks([r.id for r in rows]):
        for ln in conn.execute(sa.select(SL).where(in_list(conn, SL.c.claim_id, chunk)).order_by(SL.c.id)):
            lines[ln.claim_id].append(ln)
    claims = {r.id: claim_from_rows(r, lines.get(r.id, [])) for r in rows}
    return StoredClaims(claims, {r.id for r in rows if r.facts is None})


def claim_from_rows(row: Any, line_rows: Sequence[Any]) -> Claim:
    """One claim (2300) and its lines (2400) from a claim row and its service_line rows."""
    codes = _split(row.diagnoses)
    qualifiers = _split(row.diagnosis_qualifiers)
    # Before 0006 the qualifiers were not kept: unknown, never guessed (ICD-10 or ICD-9).
    diagnoses = [Diagnosis(qualifiers[i] if i < len(qualifiers) else "", code) for i, code in enumerate(codes)]
    clm = _segment(
        [
            "CLM",
            row.patient_control_number,
            _number(row.total_charge),
            "",
            "",
            _DELIMITERS.component.join([row.place_of_service, row.facility_qualifier or "", row.frequency]).rstrip(
                _DELIMITERS.component
            ),
        ],
        "CLM",
    )
    segments = [clm]
    if diagnoses:
        segments.append(
            _segment(["HI", *(f"{d.qualifier}{_DELIMITERS.component}{d.code}" for d in diagnoses)], "HI[ABK]")
        )
    lines = [_line_from_row(ln, diagnoses) for ln in line_rows]
    for line in lines:
        segments += line.segments
    billing = BillingProvider(npi=row.billing_npi, tax_id="", hl=_segment(["HL"], None)) if row.billing_npi else None
    subscriber = (
        Subscriber(
            payer_responsibility="",
            claim_filing_indicator="",
            member_id="",  # kept only as a keyed hash
            payer_id=row.payer_id,
            payer_name="",
            hl=_segment(["HL"], None),
        )
        if row.payer_id
        else None
    )
    return Claim(
        patient_control_number=row.patient_control_number,
        total_charge=row.total_charge,
        place_of_service=row.place_of_service,
        facility_qualifier=row.facility_qualifier or "",
        frequency=row.frequency,
        diagnoses=diagnoses,
        prior_authorization=row.prior_authorization,
        clia_number=row.clia_number,
        payer_claim_control_number=row.payer_claim_control_number,
        rendering_npi=row.rendering_npi,
        lines=lines,
        billing_provider=billing,
        subscriber=subscriber,
        patient=None,
        patient_key=row.patient_key,  # the keyed hash: it groups a patient's claims as the original did
        clm=clm,
        segments=segments,
    )


def _line_from_row(ln: Any, diagnoses: list[Diagnosis]) -> ServiceLine:
    modifiers = _split(ln.modifiers)
    pointers = [int(p) for p in _split(ln.pointers) if p.isdigit()]
    qualifier = ln.qualifier or ""
    place = ln.place_of_service or ""
    unit_basis = ln.unit_basis or ""
    lx = _segment(["LX", "" if ln.line_number is None else str(ln.line_number)], "2400/LX")
    sv1 = _segment(
        [
            "SV1",
            _DELIMITERS.component.join([qualifier, ln.procedure, *modifiers]),
            _number(ln.charge),
            unit_basis,
            _number(ln.units),
            place,
            "",
            _DELIMITERS.component.join(str(p) for p in pointers),
        ],
        "2400/SV1",
    )
    segments = [lx, sv1]
    if ln.line_id is not None:
        segments.append(_segment(["REF", "6R", ln.line_id], "2400/REF[6R]"))
    if ln.clia_number:
        segments.append(_segment(["REF", "X4", ln.clia_number], "2400/REF[X4]"))
    count = len(diagnoses)
    return ServiceLine(
        number=ln.line_number,
        qualifier=qualifier,
        procedure=ln.procedure,
        modifiers=modifiers,
        charge=ln.charge,
        unit_basis=unit_basis,
        units=ln.units,
        place_of_service=place,
        diagnosis_pointers=pointers,
        diagnoses=[diagnoses[p - 1].code for p in pointers if 1 <= p <= count],
        date_from=ln.date_from,
        date_to=ln.date_to,
        line_id=ln.line_id,
        rendering_npi=ln.rendering_npi,
        lx=lx,
        sv1=sv1,
        segments=segments,
    )


def incomplete_claims(conn: Connection) -> int:
    """How many current claims were recorded before their every fact was kept (revision 0006)."""
    return conn.execute(
        sa.select(sa.func.count()).select_from(C).where(C.c.facts.is_(None), C.c.superseded_by_id.is_(None))
    ).scalar_one()
