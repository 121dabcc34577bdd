"""Read 837P transaction sets into claims, streaming one transaction set at a time."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

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
from mohsedi.guide.compile import CLAIM_837P_FAMILY, CLAIM_837P_VERSION, NODES
from mohsedi.guide.loops import date_or_range, to_decimal
from mohsedi.x12.envelope import Envelope, TransactionSet, Unit
from mohsedi.x12.segments import Segment, read_chunks

IMPLEMENTATION_837P = CLAIM_837P_VERSION


@dataclass(slots=True)
class ClaimSet:
    """One 837P transaction set read into claims; ``error`` set means it is quarantined."""

    transaction: TransactionSet
    claims: list[Claim] = field(default_factory=list)
    error: X12Error | None = None


# What a segment means to the claim reader, by its guide node: (loop, last path step) -> role.
# The guide tells qualified segments apart (2400/DTP[472], 2400/REF[6R]), so one lookup per
# segment replaces qualifier checks.
# A line's roles come first, numbered as the slots read_claim_set keeps them in.
(
    SV1,
    DTP_472,
    REF_6R,
    LINE_RENDERING,
    LX,
    HI,
    CLAIM_REF,
    CLAIM_RENDERING,
    CLM,
    HL_A,
    HL_B,
    HL_C,
    SE,
    PROVIDER_NM1,
    PROVIDER_REF,
    SBR,
    SUBSCRIBER_NM1,
    PAYER_NM1,
    PAT,
) = range(1, 20)
ROLE_BY_STEP = {
    ("2000A", "HL"): HL_A,
    ("2010AA", "NM1"): PROVIDER_NM1,
    ("2010AA", "REF[EI]"): PROVIDER_REF,
    ("2000B", "HL"): HL_B,
    ("2000B", "SBR"): SBR,
    ("2010BA", "NM1"): SUBSCRIBER_NM1,
    ("2010BB", "NM1"): PAYER_NM1,
    ("2000C", "HL"): HL_C,
    ("2000C", "PAT"): PAT,
    ("2300", "CLM"): CLM,
    ("2310B", "NM1"): CLAIM_RENDERING,
    ("2400", "LX"): LX,
    ("2400", "SV1"): SV1,
    ("2400", "DTP[472]"): DTP_472,
    ("2400", "REF[6R]"): REF_6R,
    ("2420A", "NM1"): LINE_RENDERING,
    ("ST_LOOP", "SE"): SE,
}
ROLE_BY_SEGMENT = {("2300", "HI"): HI, ("2300", "REF"): CLAIM_REF}  # any qualifier
DIAGNOSIS_QUALIFIERS = frozenset({"ABK", "ABF", "BK", "BF"})  # not BP (anesthesia) or BG (condition)
_ROLES: dict[int, int] = {}
PAD8 = [""] * 8
PAD10 = [""] * 10
# Amounts and dates repeat across a batch; Decimal and date are immutable, so one object per
# distinct text is shared (a C-level cache, bounded).
_decimal = functools.lru_cache(maxsize=8192)(to_decimal)
_date_or_range = functools.lru_cache(maxsize=4096)(date_or_range)


def role_of(node: int) -> int:
    role = _ROLES.get(node)
    if role is None:
        guide_node = NODES[node]
        step = guide_node.path.rsplit("/", 1)[-1]
        role = ROLE_BY_STEP.get((guide_node.loop, step)) or ROLE_BY_SEGMENT.get((guide_node.loop, guide_node.id), 0)
        _ROLES[node] = role
    return role


_ROLE_TABLE: list[int] = []


def role_table() -> list[int]:
    """Every guide node's role, indexed by node: one list index per segment in the hot loop."""
    global _ROLE_TABLE
    if len(_ROLE_TABLE) != len(NODES):  # guides compile lazily, so NODES may have grown
        _ROLE_TABLE = [role_of(i) for i in range(len(NODES))]
    return _ROLE_TABLE


def read_line(
    segments: list[Segment],
    claim_diagnoses: list[Diagnosis],
    sv1: Segment | None,
    dtp: Segment | None,
    ref6r: Segment | None,
    rendering: Segment | None,
) -> ServiceLine:
    """Loop 2400 from its segments (LX first) and the first of each segment a rule reads.

    The segments by role were picked out by the one pass over the set in ``read_claim_set``.
    """
    lx = segments[0]
    if sv1 is not None:
        delimiters = sv1.delimiters
        qualifier, procedure, mods, charge, unit_basis, units, place, pointers = _sv1(
            sv1.text, delimiters.element, delimiters.component
        )
        count = len(claim_diagnoses)
        diagnoses = [claim_diagnoses[p - 1].code for p in pointers if 1 <= p <= count]
    else:
        qualifier = procedure = unit_basis = place = ""
        mods = pointers = ()
        charge = units = None
        diagnoses = []
    date_from = date_to = None
    if dtp is not None:
        dtp_elements = dtp.elements
        if len(dtp_elements) > 3:
            date_from, date_to = _date_or_range(dtp_elements[2], dtp_elements[3])
    lx_elements = lx.elements
    number = lx_elements[1] if len(lx_elements) > 1 else ""
    line_id = None
    if ref6r is not None:
        ref_elements = ref6r.elements
        line_id = ref_elements[2] if len(ref_elements) > 2 else ""
    rendering_npi = None
    if rendering is not None:
        nm1 = rendering.elements
        rendering_npi = nm1[9] if len(nm1) > 9 else ""
    return ServiceLine(
        int(number) if number.isdigit() else None,
        qualifier,
        procedure,
        list(mods),
        charge,
        unit_basis,
        units,
        place,
        list(pointers),
        diagnoses,
        date_from,
        date_to,
        line_id,
        rendering_npi,
        lx,
        sv1,
        segments,
    )


@functools.lru_cache(maxsize=8192)
def _sv1(
    text: str, element: str, component: str
) -> tuple[str, str, tuple[str, ...], Decimal | None, str, Decimal | None, str, tuple[int, ...]]:
    """SV1 read once per distinct text (a batch bills the same few codes and fees over and over):
    SV101 as qualifier, code and modifiers, SV102 charge, SV103 unit basis, SV104 units, SV105
    place of service, SV107 diagnosis pointers."""
    sv = text.split(element)
    if len(sv) < 8:  # padded once to SV107, instead of a bounds check per element read
        sv += PAD8
    qualifier, procedure, modifiers = _composite_procedure(sv[1], component)
    return (
        qualifier,
        procedure,
        modifiers,
        _decimal(sv[2]),
        sv[3],
        _decimal(sv[4]),
        sv[5],
        _pointers(sv[7], component),
    )


@functools.lru_cache(maxsize=4096)
def _composite_procedure(value: str, component: str) -> tuple[str, str, tuple[str, ...]]:
    """SV101 as (qualifier, code, modifiers): the same few texts recur across a batch.

    Codes come out as payers match them (trimmed, upper case): how they are written is X12005's
    finding, so a fix that only cleans the text never changes what another rule sees.
    """
    parts = value.split(component)
    return (
        parts[0] if parts else "",
        parts[1].strip().upper() if len(parts) > 1 else "",
        tuple(m.strip().upper() for m in parts[2:6] if m.strip()),
    )


@functools.lru_cache(maxsize=1024)
def _pointers(value: str, component: str) -> tuple[int, ...]:
    """SV107 diagnosis pointers as numbers (what is not a number is left out)."""
    return tuple(int(p) for p in value.split(component) if p.isdigit())


def patient_key(subscriber: Subscriber | None, patient: Patient | None) -> str:
    """Tells patients apart within a batch without keeping who they are (never stored as is)."""
    parts = [subscriber.payer_id, subscriber.member_id] if subscriber else ["", ""]
    if patient is not None:
        # A dependent: the patient loop's own values, independent of delimiters.
        parts += ["\x1e".join(s.elements) for s in patient.segments if s.id in ("NM1", "DMG")]
    return hashlib.blake2b("\x1f".join(parts).encode("utf-8", "surrogateescape"), digest_size=10).hexdigest()


def read_claim(
    segments: list[Segment],
    header: list[Segment],
    lines_found: list[list],
    provider: BillingProvider | None,
    subscriber: Subscriber | None,
    patient: Patient | None,
) -> Claim:
    """Loop 2300 from its segments (CLM first).

    ``header``: its HI, REF and 2310B NM1 segments before the first line; ``lines_found``: per
    line, [LX index in ``segments``, SV1, DTP*472, REF*6R, 2420A NM1] (first of each, or None).
    """
    clm = segments[0]
    diagnoses: list[Diagnosis] = []
    refs: dict[str, str] = {}
    rendering_npi = None
    for seg in header:
        role = _ROLES[seg.node]
        if role == HI:
            delimiters = seg.delimiters
            for qualifier, code in _hi(seg.text, delimiters.element, delimiters.component):
                diagnoses.append(Diagnosis(qualifier, code))
        elif role == CLAIM_REF:
            e = seg.elements
            if len(e) < 3:
                e = e + PAD8
            refs.setdefault(e[1], e[2])
        elif role == CLAIM_RENDERING:
            e = seg.elements
            rendering_npi = (e[9] if len(e) > 9 else "") or None
    if len(lines_found) == 1:  # the common case: one line, to the end of the claim
        lines = [read_line(segments[lines_found[0][0] :], diagnoses, *lines_found[0][1:])]
    else:
        bounds = [found[0] for found in lines_found] + [len(segments)]
        lines = [
            read_line(segments[bounds[k] : bounds[k + 1]], diagnoses, *found[1:])
            for k, found in enumerate(lines_found)
        ]
    clm_elements = clm.elements
    if len(clm_elements) < 6:  # padded once to CLM05, instead of a bounds check per element read
        clm_elements = clm_elements + PAD8
    problems = []
    total = _decimal(clm_elements[2])
    if total is None:
        problems.append(f"CLM02 {clm_elements[2]!r} is not an amount")
    for line in lines:
        if line.charge is None and line.sv1 is not None:
            problems.append(f"SV102 {line.sv1.element(2)!r} on line {line.number} is not an amount")
    place, facility, frequency = _clm05(clm_elements[5], clm.delimiters.component)
    return Claim(
        clm_elements[1],
        total,
        place,
        facility,
        frequency,
        diagnoses,
        refs.get("G1"),
        refs.get("X4"),
        refs.get("F8"),
        rendering_npi,
        lines,
        provider,
        subscriber,
        patient,
        patient_key(subscriber, patient),
        clm,
        segments,
        problems,
    )


@functools.lru_cache(maxsize=4096)
def _hi(text: str, element: str, component: str) -> tuple[tuple[str, str], ...]:
    """The diagnoses of an HI segment as (qualifier, code), read once per distinct text."""
    out = []
    for value in text.split(element)[1:]:
        qualifier, _, code = value.partition(component)
        if qualifier in DIAGNOSIS_QUALIFIERS and code:
            out.append((qualifier, code.partition(component)[0].strip().upper()))
    return tuple(out)


@functools.lru_cache(maxsize=1024)
def _clm05(value: str, component: str) -> tuple[str, str, str]:
    """CLM05 as (place of service, facility code qualifier, frequency)."""
    parts = value.split(component) if value else []
    return (
        parts[0] if parts else "",
        parts[1] if len(parts) > 1 else "",
        parts[2] if len(parts) > 2 else "",
    )


def read_claim_set(ts: TransactionSet) -> ClaimSet:
    """The claims of one 837P transaction set (quarantined when it is not a readable 837P)."""
    # Past this check every segment is placed (node >= 0).
    if not ts.ok:
        return ClaimSet(ts, error=ts.problems()[0])
    # Other labels of the 837P guide (X222A2, a bare X222) are read with A1 and reported (X12008).
    if ts.transaction_type != "837" or not ts.implementation.startswith(CLAIM_837P_FAMILY):
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
    segs = ts.segments
    claims: list[Claim] = []
    provider: BillingProvider | None = None
    subscriber: Subscriber | None = None
    patient: Patient | None = None
    context_start = 0  # where the current HL's own segments begin
    claim_start = -1  # index of the open claim's CLM, -1 when none is open
    header: list[Segment] = []  # the open claim's HI, REF, 2310B NM1 before its first line
    lines_found: list[list] = []  # per line of the open claim: [LX index, SV1, DTP*472, REF*6R, 2420A NM1]
    line: list | None = None
    roles = role_table()

    def close(end: int) -> None:
        nonlocal claim_start
        if claim_start >= 0:
            for found in lines_found:
                found[0] -= claim_start
            claims.append(read_claim(segs[claim_start:end], header, lines_found, provider, subscriber, patient))
            claim_start = -1
        else:
            owner = patient or subscriber or provider
            if owner is not None:
                owner.segments.extend(segs[context_start:end])

    # One pass: each segment's role comes from its guide node, and what a claim or line reads
    # is picked out here, so no segment is looked at twice.
    for i, seg in enumerate(segs):
        role = roles[seg.node]
        if not role:
            continue
        if role < LX:  # SV1, DTP*472, REF*6R or 2420A NM1 of a line: the first of each is kept
            if line is not None and line[role] is None:
                line[role] = seg
        elif role == LX:
            line = [i, None, None, None, None]
            lines_found.append(line)
        elif role <= CLAIM_RENDERING:  # HI, REF, 2310B NM1
            if claim_start >= 0 and line is None:
                header.append(seg)
        elif role == CLM:
            close(i)
            claim_start, header, lines_found, line = i, [], [], None
        elif role <= SE:  # HL or SE
            close(i)
            context_start, line = i, None
            if role == HL_A:
                provider, subscriber, patient = BillingProvider("", "", seg), None, None
            elif role == HL_B:
                subscriber, patient = Subscriber("", "", "", "", "", seg), None
            elif role == HL_C:
                patient = Patient("", seg)
        else:
            e = seg.elements
            if len(e) < 10:  # padded once to element 9, instead of a bounds check per element read
                e = e + PAD10
            if role == PROVIDER_NM1 and provider is not None:
                provider.npi = e[9]
            elif role == PROVIDER_REF and provider is not None and not provider.tax_id:
                provider.tax_id = e[2]
            elif subscriber is not None and role in (SBR, SUBSCRIBER_NM1, PAYER_NM1):
                if role == SBR:
                    subscriber.payer_responsibility = e[1]
                    subscriber.claim_filing_indicator = e[9]
                elif role == SUBSCRIBER_NM1:
                    subscriber.member_id = e[9]
                else:
                    subscriber.payer_id = e[9]
                    subscriber.payer_name = e[3]
            elif role == PAT and patient is not None:
                patient.relationship = e[1]
    close(len(segs))
    return ClaimSet(ts, claims)


def iter_claim_sets(units: Iterable[Unit]) -> Iterator[Envelope | ClaimSet]:
    """Envelope units pass through; each transaction set comes out read into claims."""
    for unit in units:
        yield read_claim_set(unit) if isinstance(unit, TransactionSet) else unit


def read_claim_file(path: str) -> Iterator[Envelope | ClaimSet]:
    """Stream an 837P file from disk; memory holds one transaction set at a time."""
    return iter_claim_sets(read_units(read_chunks(path), source=path))


def read_claim_text(text: str, *, source: str | None = None) -> list[Envelope | ClaimSet]:
    return list(iter_claim_sets(read_units([text], source=source)))
