"""Read 837P transaction sets into claims, streaming one transaction set at a time."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from mohsedi.claims.model import (
    BillingProvider,
    Claim,
    Diagnosis,
    Patient,
    ServiceLine,
    Subscriber,
)
from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.guide.loops import date_or_range, loop_chain, to_decimal
from mohsedi.x12.envelope import TransactionSet, Unit
from mohsedi.x12.segments import Segment, read_chunks

IMPLEMENTATION_837P = "005010X222A1"


@dataclass(slots=True)
class ClaimSet:
    """One 837P transaction set read into claims; ``error`` set means it is quarantined."""

    transaction: TransactionSet
    claims: list[Claim] = field(default_factory=list)
    error: X12Error | None = None


def read_line(segments: list[Segment], claim_diagnoses: list[Diagnosis]) -> ServiceLine:
    lx = segments[0]
    sv1 = dtp = ref6r = rendering = None
    for seg in segments:
        sid = seg.id
        chain = loop_chain(seg.node)
        loop = chain[-1] if chain else ""
        if loop == "2400":
            if sid == "SV1" and sv1 is None:
                sv1 = seg
            elif sid == "DTP" and seg.element(1) == "472" and dtp is None:
                dtp = seg
            elif sid == "REF" and seg.element(1) == "6R" and ref6r is None:
                ref6r = seg
        elif loop == "2420A" and sid == "NM1" and rendering is None:
            rendering = seg
    procedure = sv1.components(1) if sv1 is not None else []
    pointers: list[int] = []
    if sv1 is not None:
        for p in sv1.components(7):
            if p.isdigit():
                pointers.append(int(p))
    date_from, date_to = date_or_range(dtp.element(2), dtp.element(3)) if dtp else (None, None)
    diagnoses = [
        claim_diagnoses[p - 1].code for p in pointers if 1 <= p <= len(claim_diagnoses)
    ]
    number = lx.element(1)
    return ServiceLine(
        number=int(number) if number.isdigit() else None,
        qualifier=procedure[0] if procedure else "",
        procedure=procedure[1] if len(procedure) > 1 else "",
        modifiers=[m for m in procedure[2:6] if m],
        charge=to_decimal(sv1.element(2)) if sv1 else None,
        unit_basis=sv1.element(3) if sv1 else "",
        units=to_decimal(sv1.element(4)) if sv1 else None,
        place_of_service=sv1.element(5) if sv1 else "",
        diagnosis_pointers=pointers,
        diagnoses=diagnoses,
        date_from=date_from,
        date_to=date_to,
        line_id=ref6r.element(2) if ref6r is not None else None,
        rendering_npi=rendering.element(9) if rendering is not None else None,
        lx=lx,
        sv1=sv1,
        segments=segments,
    )


def read_claim(
    segments: list[Segment],
    provider: BillingProvider | None,
    subscriber: Subscriber | None,
    patient: Patient | None,
) -> Claim:
    clm = segments[0]
    diagnoses: list[Diagnosis] = []
    refs: dict[str, str] = {}
    rendering_npi = None
    line_groups: list[list[Segment]] = []
    for seg in segments:
        chain = loop_chain(seg.node)
        loop = chain[-1] if chain else ""
        if "2400" in chain:
            if seg.id == "LX" and loop == "2400":
                line_groups.append([seg])
            elif line_groups:
                line_groups[-1].append(seg)
            continue
        sid = seg.id
        if loop == "2300":
            if sid == "HI":
                for value in seg.elements[1:]:
                    parts = value.split(seg.delimiters.component)
                    if len(parts) >= 2 and parts[1]:
                        diagnoses.append(Diagnosis(parts[0], parts[1]))
            elif sid == "REF":
                refs.setdefault(seg.element(1), seg.element(2))
        elif loop == "2310B" and sid == "NM1":
            rendering_npi = seg.element(9) or None
    clm05 = clm.components(5)
    problems = []
    total = to_decimal(clm.element(2))
    if total is None:
        problems.append(f"CLM02 {clm.element(2)!r} is not an amount")
    lines = [read_line(group, diagnoses) for group in line_groups]
    for line in lines:
        if line.sv1 is not None and line.charge is None:
            problems.append(f"SV102 {line.sv1.element(2)!r} on line {line.number} is not an amount")
    key_source = "|".join(
        [
            subscriber.payer_id if subscriber else "",
            subscriber.member_id if subscriber else "",
            # The patient loop's own text identifies a dependent without us keeping its fields.
            "\x1f".join("\x1e".join(s.elements) for s in patient.segments if s.id in ("NM1", "DMG"))
            if patient
            else "",
        ]
    )
    return Claim(
        patient_control_number=clm.element(1),
        total_charge=total,
        place_of_service=clm05[0] if clm05 else "",
        facility_qualifier=clm05[1] if len(clm05) > 1 else "",
        frequency=clm05[2] if len(clm05) > 2 else "",
        diagnoses=diagnoses,
        prior_authorization=refs.get("G1"),
        clia_number=refs.get("X4"),
        payer_claim_control_number=refs.get("F8"),
        rendering_npi=rendering_npi,
        lines=lines,
        billing_provider=provider,
        subscriber=subscriber,
        patient=patient,
        patient_key=hashlib.blake2b(key_source.encode(), digest_size=10).hexdigest(),
        clm=clm,
        segments=segments,
        problems=problems,
    )


def read_claim_set(ts: TransactionSet) -> ClaimSet:
    """The claims of one 837P transaction set (quarantined when it is not a readable 837P)."""
    if not ts.ok:
        return ClaimSet(ts, error=ts.problems()[0])
    if ts.transaction_type != "837" or ts.implementation != IMPLEMENTATION_837P:
        first = ts.segments[0]
        return ClaimSet(
            ts,
            error=X12Error(
                f"transaction set {ts.control_number} is {ts.transaction_type or '?'} "
                f"{ts.implementation or '?'}, not an 837P ({IMPLEMENTATION_837P})",
                segment=first.number,
                offset=first.offset,
                segment_id=first.id,
            ),
        )
    claims: list[Claim] = []
    provider: BillingProvider | None = None
    subscriber: Subscriber | None = None
    patient: Patient | None = None
    claim_segments: list[Segment] | None = None
    context: list[Segment] | None = None  # segments of the current 2000A/B/C outside any claim

    def close_claim() -> None:
        nonlocal claim_segments
        if claim_segments:
            claims.append(read_claim(claim_segments, provider, subscriber, patient))
        claim_segments = None

    for seg in ts.segments:
        chain = loop_chain(seg.node)
        sid = seg.id
        if sid == "HL" or sid == "SE" or (sid == "CLM" and chain and chain[-1] == "2300"):
            close_claim()
        if sid == "CLM" and chain and chain[-1] == "2300":
            claim_segments = [seg]
            continue
        if claim_segments is not None:
            claim_segments.append(seg)
            continue
        if sid == "HL":
            level = chain[-1] if chain else ""
            if level == "2000A":
                provider = BillingProvider(npi="", tax_id="", hl=seg)
                subscriber, patient = None, None
                context = provider.segments
            elif level == "2000B":
                subscriber = Subscriber("", "", "", "", "", hl=seg)
                patient = None
                context = subscriber.segments
            elif level == "2000C":
                patient = Patient("", hl=seg)
                context = patient.segments
            else:
                context = None
        if context is not None:
            context.append(seg)
            loop = chain[-1] if chain else ""
            if loop == "2010AA" and provider is not None:
                if sid == "NM1":
                    provider.npi = seg.element(9)
                elif sid == "REF" and seg.element(1) in ("EI", "SY") and not provider.tax_id:
                    provider.tax_id = seg.element(2)
            elif subscriber is not None and loop in ("2000B", "2010BA", "2010BB"):
                if sid == "SBR":
                    subscriber.payer_responsibility = seg.element(1)
                    subscriber.claim_filing_indicator = seg.element(9)
                elif sid == "NM1" and loop == "2010BA":
                    subscriber.member_id = seg.element(9)
                elif sid == "NM1" and loop == "2010BB":
                    subscriber.payer_id = seg.element(9)
                    subscriber.payer_name = seg.element(3)
            elif patient is not None and loop == "2000C" and sid == "PAT":
                patient.relationship = seg.element(1)
    close_claim()
    return ClaimSet(ts, claims)


def iter_claim_sets(units: Iterable[Unit]) -> Iterator[Unit | ClaimSet]:
    """Envelope units pass through; each transaction set comes out read into claims."""
    for unit in units:
        yield read_claim_set(unit) if isinstance(unit, TransactionSet) else unit


def read_claim_file(path: str) -> Iterator[Unit | ClaimSet]:
    """Stream an 837P file from disk; memory holds one transaction set at a time."""
    return iter_claim_sets(read_units(read_chunks(path), source=path))


def read_claim_text(text: str, *, source: str | None = None) -> list[Unit | ClaimSet]:
    return list(iter_claim_sets(read_units([text], source=source)))
