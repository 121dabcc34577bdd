"""Read 837P transaction sets into claims, streaming one transaction set at a time."""

from __future__ import annotations

import functools
import hashlib
import re
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
PAD8 = ("",) * 8
PAD10 = ("",) * 10
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


@functools.lru_cache(maxsize=8192)
def _sv1(
    text: str, element: str, component: str
) -> tuple[
    str, str, tuple[str, ...], Decimal | None, str, Decimal | None, str, tuple[int, ...], tuple[int, ...], int, int
]:
    """SV1 read once per distinct text (a batch bills the same few codes and fees over and over):
    SV101 as qualifier, code and modifiers, SV102 charge, SV103 unit basis, SV104 units, SV105
    place of service, SV107 diagnosis pointers; then the pointers as indexes into the claim's
    diagnoses, and the least and greatest pointer (1 and 0 when there is none)."""
    sv = text.split(element)
    if len(sv) < 8:  # padded once to SV107, instead of a bounds check per element read
        sv += PAD8
    qualifier, procedure, modifiers = _composite_procedure(sv[1], component)
    pointers = _pointers(sv[7], component)
    return (
        qualifier,
        procedure,
        modifiers,
        _decimal(sv[2]),
        sv[3],
        _decimal(sv[4]),
        sv[5],
        pointers,
        tuple(p - 1 for p in pointers),
        min(pointers, default=1),
        max(pointers, default=0),
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
    # As a plan over one list: the claim's segments, None (what -1 picks), then the ones named.
    look: list[Segment | None] = [*segments, None]
    roles = role_table()
    by_role: dict[int, list[int]] = {HI: [], CLAIM_REF: [], CLAIM_RENDERING: []}
    for seg in header:
        by_role[roles[seg.node]].append(len(look))
        look.append(seg)
    header_plan = (tuple(by_role[HI]), tuple(by_role[CLAIM_REF]), tuple(by_role[CLAIM_RENDERING]))
    lines_plan = []
    bounds = [found[0] for found in lines_found] + [len(segments)]
    for k, found in enumerate(lines_found):
        picks = []
        for seg in found[1:]:
            if seg is None:
                picks.append(len(segments))  # the None
            else:
                picks.append(len(look))
                look.append(seg)
        lines_plan.append((bounds[k], bounds[k + 1], *picks))
    return _claim(segments, look, header_plan, lines_plan, provider, subscriber, patient)


def _claim(
    segments: list[Segment],
    look: list[Segment | None],
    header_plan: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
    lines_plan: Iterable[tuple[int, int, int, int, int, int]],
    provider: BillingProvider | None,
    subscriber: Subscriber | None,
    patient: Patient | None,
) -> Claim:
    """read_claim's work from a plan: ``header_plan`` as the indexes in ``look`` of the HI, the REF
    and the 2310B NM1 segments before the first line, each in order; ``lines_plan`` per line as
    (LX index, end) in ``segments`` and the indexes in ``look`` of its first SV1, DTP*472, REF*6R
    and 2420A NM1 (-1, which picks the None after the claim's segments, when it has none)."""
    clm = segments[0]
    his, refs_at, renderings = header_plan
    diagnoses: list[Diagnosis] = []
    codes: tuple[str, ...] = ()
    for index in his:
        seg = look[index]
        assert seg is not None
        delimiters = seg.delimiters
        found, found_codes = _hi(seg.text, delimiters.element, delimiters.component)
        diagnoses += found
        codes += found_codes
    refs: dict[str, str] = {}
    for index in refs_at:
        seg = look[index]
        assert seg is not None
        e = seg.elements
        if len(e) < 3:
            e = e + PAD8
        refs.setdefault(e[1], e[2])
    rendering_npi = None
    for index in renderings:
        seg = look[index]
        assert seg is not None
        e = seg.elements
        rendering_npi = (e[9] if len(e) > 9 else "") or None
    clm_elements = clm.elements
    if len(clm_elements) < 6:  # padded once to CLM05, instead of a bounds check per element read
        clm_elements = clm_elements + PAD8
    problems = []
    total = _decimal(clm_elements[2])
    if total is None:
        problems.append(f"CLM02 {clm_elements[2]!r} is not an amount")
    # Each line (loop 2400), LX first, from the first of each segment a rule reads.
    lines = []
    count = len(codes)
    for start, end, sv1_at, dtp_at, ref6r_at, rendering_at in lines_plan:
        own = segments[start:end]
        lx = own[0]
        line_number: int | None
        try:  # a try block is free on 3.11 unless it raises: the usual LX01 is one probe
            line_number = _LINE_NUMBERS[lx.elements[1]]
        except (KeyError, IndexError):
            number = lx.element(1)
            line_number = int(number) if number.isdigit() else None
        sv1 = look[sv1_at]
        if sv1 is not None:
            delimiters = sv1.delimiters
            qualifier, procedure, mods, charge, unit_basis, units, line_place, pointers, picks, low, high = _sv1(
                sv1.text, delimiters.element, delimiters.component
            )
            if low >= 1 and high <= count:  # every pointer points at a diagnosis
                line_diagnoses = [codes[picks[0]]] if len(picks) == 1 else [codes[i] for i in picks]
            else:
                line_diagnoses = [codes[p - 1] for p in pointers if 1 <= p <= count]
            if charge is None:
                problems.append(f"SV102 {sv1.element(2)!r} on line {line_number} is not an amount")
        else:
            qualifier = procedure = unit_basis = line_place = ""
            mods = pointers = ()
            charge = units = None
            line_diagnoses = []
        dtp = look[dtp_at]
        date_from = date_to = None
        if dtp is not None:
            dtp_elements = dtp.elements
            if len(dtp_elements) > 3:
                date_from, date_to = _date_or_range(dtp_elements[2], dtp_elements[3])
        ref6r = look[ref6r_at]
        line_id = None if ref6r is None else ref6r.element(2)
        rendering = look[rendering_at]
        line_rendering = None if rendering is None else rendering.element(9)
        lines.append(
            ServiceLine(
                line_number,
                qualifier,
                procedure,
                [*mods],
                charge,
                unit_basis,
                units,
                line_place,
                [*pointers],
                line_diagnoses,
                date_from,
                date_to,
                line_id,
                line_rendering,
                lx,
                sv1,
                own,
            )
        )
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


# LX01 as a number for the line numbers a claim has (1..999); others are read with int().
_LINE_NUMBERS = {str(n): n for n in range(1000)}


@functools.lru_cache(maxsize=4096)
def _hi(text: str, element: str, component: str) -> tuple[tuple[Diagnosis, ...], tuple[str, ...]]:
    """The diagnoses of an HI segment, and their codes, made once per distinct text."""
    out = []
    for value in text.split(element)[1:]:
        qualifier, _, code = value.partition(component)
        if qualifier in DIAGNOSIS_QUALIFIERS and code:
            out.append(Diagnosis(qualifier, code.partition(component)[0].strip().upper()))
    return tuple(out), tuple(d.code for d in out)


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
    # Each segment's role as one byte; the set is then read stretch by stretch, a stretch being
    # an HL's or a claim's own segments up to the next HL, CLM or SE. What a stretch's segments
    # mean depends only on its roles, so the plan of each distinct run of roles is made once
    # (``_plan``) and the segments it names are looked at; the others are not touched.
    roles = role_table()
    kinds = bytes([roles[seg.node] for seg in segs])  # a comprehension: half the cost of two C-level maps on 3.11
    bounds = list(map(_MATCH_START, _STRETCH.finditer(kinds)))
    bounds.append(len(segs))
    start = 0
    for end in bounds:
        if end == start:
            continue
        key = kinds[start:end]
        plan = _PLANS.get(key)
        if plan is None:
            plan = _plan(key)
        kind, header_plan, lines_plan, context_plan = plan
        own = segs[start:end]
        # An HL's own segments are its loop object's (the most specific one open: the one it opens).
        if kind == HL_A:
            provider, subscriber, patient = BillingProvider("", "", own[0], own), None, None
        elif kind == HL_B:
            subscriber, patient = Subscriber("", "", "", "", "", own[0], own), None
        elif kind == HL_C:
            patient = Patient("", own[0], own)
        for offset, role in context_plan:
            e = own[offset].elements
            if len(e) < 10:  # padded once to element 9, instead of a bounds check per element read
                e = e + PAD10
            # The subscriber's first: a claim's own HL is nearly always a subscriber's (2000B).
            if subscriber is not None and role in (SBR, SUBSCRIBER_NM1, PAYER_NM1):
                if role == SBR:
                    subscriber.payer_responsibility = e[1]
                    subscriber.claim_filing_indicator = e[9]
                elif role == SUBSCRIBER_NM1:
                    subscriber.member_id = e[9]
                else:
                    subscriber.payer_id = e[9]
                    subscriber.payer_name = e[3]
            elif role == PROVIDER_NM1 and provider is not None:
                provider.npi = e[9]
            elif role == PROVIDER_REF and provider is not None and not provider.tax_id:
                provider.tax_id = e[2]
            elif role == PAT and patient is not None:
                patient.relationship = e[1]
        if kind == CLM:
            look: list[Segment | None] = [*own, None]  # what a plan's -1 picks: None
            claims.append(_claim(own, look, header_plan, lines_plan, provider, subscriber, patient))
        elif kind not in (HL_A, HL_B, HL_C):  # the SE, or what comes before the first HL
            owner = patient or subscriber or provider
            if owner is not None:
                owner.segments += own
        start = end
    return ClaimSet(ts, claims)


_MATCH_START = re.Match.start
# The roles that end a stretch: CLM, the HLs, SE.
_STRETCH = re.compile(b"[" + bytes([CLM, HL_A, HL_B, HL_C, SE]) + b"]")
PLAN_LIMIT = 50_000  # distinct runs of roles remembered; hostile input must not grow it without bound
_PLANS: dict[bytes, tuple] = {}


def _plan(kinds: bytes) -> tuple[int, tuple, tuple, tuple]:
    """What ``read_claim_set`` reads in a stretch with these roles (its first one's ends the
    stretch before): (that role, the offsets of the claim's HI, REF and 2310B NM1 before its
    first line, as three tuples in order), each line as (LX offset, end, then the offsets of its
    first SV1, DTP*472, REF*6R and 2420A NM1, -1 for none), and the HL loops' segments as
    (offset, role) in order).

    A line's segments before its LX, and a claim's HI/REF/NM1 after its first LX, are not read;
    outside a claim (after an HL or SE) neither are. Offsets are from the stretch's start."""
    kind = kinds[0]
    header: dict[int, list[int]] = {HI: [], CLAIM_REF: [], CLAIM_RENDERING: []}
    lines: list[list[int]] = []
    context: list[tuple[int, int]] = []
    line: list[int] | None = None
    for offset in range(1, len(kinds)):
        role = kinds[offset]
        if not role:
            continue
        if role < LX:  # SV1, DTP*472, REF*6R or 2420A NM1 of a line: the first of each is kept
            if line is not None and line[role + 1] < 0:
                line[role + 1] = offset
        elif role == LX:
            if kind == CLM:
                line = [offset, len(kinds), -1, -1, -1, -1]
                if lines:
                    lines[-1][1] = offset
                lines.append(line)
        elif role <= CLAIM_RENDERING:  # HI, REF, 2310B NM1
            if kind == CLM and line is None:
                header[role].append(offset)
        elif role > SE:  # SBR, PAT and the 2010AA/BA/BB segments
            context.append((offset, role))
    header_plan = (tuple(header[HI]), tuple(header[CLAIM_REF]), tuple(header[CLAIM_RENDERING]))
    plan = (kind, header_plan, tuple(tuple(found) for found in lines), tuple(context))
    if len(_PLANS) < PLAN_LIMIT:
        _PLANS[kinds] = plan
    return plan


def iter_claim_sets(units: Iterable[Unit]) -> Iterator[Envelope | ClaimSet]:
    """Envelope units pass through; each transaction set comes out read into claims."""
    for unit in units:
        yield read_claim_set(unit) if isinstance(unit, TransactionSet) else unit


def read_claim_file(path: str) -> Iterator[Envelope | ClaimSet]:
    """Stream an 837P file from disk; memory holds one transaction set at a time."""
    return iter_claim_sets(read_units(read_chunks(path), source=path))


def read_claim_text(text: str, *, source: str | None = None) -> list[Envelope | ClaimSet]:
    return list(iter_claim_sets(read_units([text], source=source)))
