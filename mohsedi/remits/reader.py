"""Read 835 transaction sets into remittances, one transaction set at a time."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.guide.compile import NODES
from mohsedi.guide.loops import date_or_range, to_date, to_decimal
from mohsedi.remits.model import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    Remittance,
    ServicePayment,
)
from mohsedi.x12.envelope import Envelope, TransactionSet, Unit
from mohsedi.x12.segments import Segment, read_chunks

IMPLEMENTATION_835 = "005010X221A1"
ZERO = Decimal("0")
ONE = Decimal("1")
MOA_REMARK_ELEMENTS = (3, 4, 5, 6, 7)
MIA_REMARK_ELEMENTS = (5, 20, 21, 22, 23)
# Segments are padded once to this many elements, instead of a bounds check per element read.
PAD = ("",) * 8
PAD2 = ("", "")
# Amounts and dates repeat across a remittance; Decimal and date are immutable, so one object
# per distinct text is shared (a C-level cache, bounded).
_decimal = functools.lru_cache(maxsize=8192)(to_decimal)
_date = functools.lru_cache(maxsize=4096)(to_date)


@dataclass(slots=True)
class RemitSet:
    transaction: TransactionSet
    remittance: Remittance | None = None
    error: X12Error | None = None


def read_adjustments(cas: Segment, level: str) -> list[Adjustment]:
    """CAS01 group, then up to six reason/amount/quantity triplets."""
    return list(_adjustments(cas.text, cas.delimiters.element, level))


@functools.lru_cache(maxsize=8192)
def _adjustments(text: str, element: str, level: str) -> tuple[Adjustment, ...]:
    """A CAS segment's adjustments, made once per distinct text and level (they are frozen)."""
    return tuple(
        Adjustment(group, reason, amount, quantity, level) for group, reason, amount, quantity in _cas(text, element)
    )


@functools.lru_cache(maxsize=8192)
def _cas(text: str, element: str) -> tuple[tuple[str, str, Decimal, Decimal | None], ...]:
    """A CAS segment's triplets as (group, reason, amount, quantity), read once per distinct text:
    a remittance repeats the same few adjustments over and over."""
    elements = text.split(element)
    count = min(len(elements), 20)
    e = [*elements, *PAD2]  # a triplet's amount and quantity may be left off at the end
    group = e[1] if count > 1 else ""
    out = []
    for i in range(2, count, 3):
        reason = e[i]
        if not reason:
            continue
        amount = _decimal(e[i + 1])
        out.append((group, reason, amount if amount is not None else ZERO, _decimal(e[i + 2])))
    return tuple(out)


def read_plb(seg: Segment) -> list[ProviderAdjustment]:
    out = []
    for i in range(3, 15, 2):
        reason = seg.components(i)
        if not reason:
            continue
        amount = to_decimal(seg.element(i + 1))
        out.append(
            ProviderAdjustment(
                provider_id=seg.element(1),
                fiscal_date=to_date(seg.element(2)),
                reason=reason[0],
                reference=reason[1] if len(reason) > 1 else "",
                amount=amount if amount is not None else Decimal("0"),
            )
        )
    return out


@functools.lru_cache(maxsize=4096)
def _composite(value: str, component: str) -> tuple[str, str, tuple[str, ...]]:
    """SVC01 or SVC06 as (qualifier, code, modifiers): the same few texts recur across a remittance."""
    parts = value.split(component) if value else []
    return (
        parts[0] if parts else "",
        parts[1] if len(parts) > 1 else "",
        tuple(m for m in parts[2:6] if m),
    )


@functools.lru_cache(maxsize=8192)
def _svc(
    text: str, element: str, component: str
) -> tuple[str, str, tuple[str, ...], Decimal | None, Decimal | None, Decimal | None, str | None, tuple[str, ...]]:
    """SVC read once per distinct text (the same codes and amounts recur across a remittance):
    SVC01 as qualifier, code and modifiers, SVC02 charge, SVC03 paid, SVC05 units (blank means
    1), SVC06's code and modifiers when the payer adjudicated another code than the one billed."""
    e = text.split(element)
    if len(e) < 7:  # padded once to SVC06, instead of a bounds check per element read
        e += PAD
    qualifier, procedure, modifiers = _composite(e[1], component)
    original_procedure: str | None = None
    original_modifiers: tuple[str, ...] = ()
    if e[6]:
        _, code, original_modifiers = _composite(e[6], component)
        original_procedure = code or None
    units = e[5]
    return (
        qualifier,
        procedure,
        modifiers,
        _decimal(e[2]),
        _decimal(e[3]),
        _decimal(units) if units else ONE,
        original_procedure,
        original_modifiers,
    )


def _claim_payment(clp: Segment) -> ClaimPayment:
    e = clp.elements
    if len(e) < 8:
        e = e + PAD
    return ClaimPayment(
        e[1],
        e[2],
        _decimal(e[3]),
        _decimal(e[4]),
        _decimal(e[5]),
        e[6],
        e[7],
        [],
        [],
        None,
        None,
        [],
        clp,
        [clp],
    )


# What a segment means to the remittance reader, by its loop and segment id: loop 2110 (a
# service payment), loop 2100 (a claim payment), or outside both (which closes the open claim
# payment). The roles of each loop are numbered together, so one comparison finds the loop.
(
    SVC,
    LINE_CAS,
    LINE_DTM,
    LINE_REF,
    LINE_LQ,
    LINE_AMT,
    LINE_OTHER,  # the last role of loop 2110
    CLP,
    CLAIM_CAS,
    CLAIM_MOA,
    CLAIM_MIA,
    CLAIM_DTM,
    CLAIM_OTHER,  # the last role of loop 2100
    BPR,
    TRN,
    PAYER_N1,
    PAYEE_N1,
    PAYER_REF,
    PLB,
    OUTSIDE,
) = range(1, 21)
LINE_ROLES = {"SVC": SVC, "CAS": LINE_CAS, "DTM": LINE_DTM, "REF": LINE_REF, "LQ": LINE_LQ, "AMT": LINE_AMT}
CLAIM_ROLES = {"CAS": CLAIM_CAS, "MOA": CLAIM_MOA, "MIA": CLAIM_MIA, "DTM": CLAIM_DTM}
OUTSIDE_ROLES = {
    ("BPR", ""): BPR,
    ("TRN", ""): TRN,
    ("N1", "1000A"): PAYER_N1,
    ("N1", "1000B"): PAYEE_N1,
    ("REF", "1000A"): PAYER_REF,
    ("PLB", ""): PLB,
}


@functools.lru_cache(maxsize=1024)
def role_of(loop: str, seg_id: str) -> int:
    """The role of a segment with this id in this loop (every loop other than 2100/2110 is outside)."""
    if loop == "2110":
        return LINE_ROLES.get(seg_id, LINE_OTHER)
    if loop.startswith("2100"):
        return CLP if seg_id == "CLP" and loop == "2100" else CLAIM_ROLES.get(seg_id, CLAIM_OTHER)
    return OUTSIDE_ROLES.get((seg_id, ""), 0) or OUTSIDE_ROLES.get((seg_id, loop), OUTSIDE)


_LOOPS: list[str] = []
_ROLES: list[int] = []


def _tables() -> tuple[list[str], list[int]]:
    """Every guide node's loop id and role, indexed by node: one list index per segment in the hot loop."""
    global _LOOPS, _ROLES
    if len(_LOOPS) != len(NODES):  # guides compile lazily, so NODES may have grown
        _LOOPS = [node.loop for node in NODES]
        _ROLES = [role_of(node.loop, node.id) for node in NODES]
    return _LOOPS, _ROLES


# With this many placement errors the walker stopped recording them: read nothing of the set.
PLACEMENT_ERROR_CAP = 20


def read_remittance(ts: TransactionSet) -> RemitSet:
    """One 835 transaction set in a single pass, dispatching on each segment's role in its loop.

    A segment out of place inside a claim payment (loop 2100/2110) drops that claim payment
    only, recorded in ``Remittance.dropped``; anywhere else it rejects the whole set.
    """
    if ts.error is not None or len(ts.placement_errors) >= PLACEMENT_ERROR_CAP:
        return RemitSet(ts, error=ts.problems()[0])
    misplaced = {e.segment: e for e in ts.placement_errors}
    if ts.transaction_type != "835" or ts.implementation != IMPLEMENTATION_835:
        first = ts.segments[0]
        return RemitSet(
            ts,
            error=X12Error(
                f"transaction set {ts.control_number} is {ts.transaction_type or '?'} "
                f"{ts.implementation or '?'}, not an 835 ({IMPLEMENTATION_835})",
                segment=first.number,
                offset=first.offset,
                segment_id=first.id,
            ),
        )
    bpr = trn = payer = payee = None
    payer_ref = ""
    claims: list[ClaimPayment] = []
    plbs: list[ProviderAdjustment] = []
    payment: ClaimPayment | None = None
    service: ServicePayment | None = None
    dropped: dict[int, X12Error] = {}  # id(claim payment) -> its first misplaced segment
    loops, roles = _tables()
    segs = ts.segments
    # A claim or service payment's segments are one run of the set: sliced out when it closes.
    payment_start = service_start = 0
    for i, seg in enumerate(segs):
        role = roles[seg.node]
        if misplaced and seg.number in misplaced:
            # A misplaced segment keeps the node of the one before it (see place_units): its
            # role is its own id's in that node's loop.
            loop = loops[seg.node]
            if payment is None or not loop.startswith(("2100", "2110")):
                return RemitSet(ts, error=misplaced[seg.number])
            dropped.setdefault(id(payment), misplaced[seg.number])
            role = role_of(loop, seg.id)
        if role <= LINE_OTHER:  # loop 2110
            if role == SVC:
                if payment is None:
                    continue
                if service is not None:
                    service.segments = segs[service_start:i]
                delimiters = seg.delimiters
                qualifier, procedure, modifiers, charge, paid, units, original, original_modifiers = _svc(
                    seg.text, delimiters.element, delimiters.component
                )
                service = ServicePayment(
                    qualifier,
                    procedure,
                    [*modifiers],
                    charge,
                    paid,
                    units,
                    original,
                    [*original_modifiers],
                    None,
                    None,
                    None,
                    [],
                    [],
                    {},
                    seg,
                    [seg],
                )
                service_start = i
                payment.services.append(service)
                continue
            if service is None or role == LINE_OTHER:  # no claim payment open (or no SVC), or not read
                continue
            if role == LINE_CAS:  # read_adjustments(seg, "line"), inlined: one CAS per service line
                service.adjustments += _adjustments(seg.text, seg.delimiters.element, "line")
                continue
            e = seg.elements
            try:  # free on 3.11 unless the segment is short
                qual = e[1]
                value = e[2]
            except IndexError:
                qual, value = (e + PAD2)[1:3]
            if role == LINE_DTM:
                if qual == "472":
                    service.date_from = service.date_to = _date(value)
                elif qual == "150":
                    service.date_from = _date(value)
                    if service.date_to is None:
                        service.date_to = service.date_from
                elif qual == "151":
                    service.date_to = _date(value)
            elif role == LINE_REF:
                if qual == "6R" and service.line_id is None:
                    service.line_id = value
            elif role == LINE_LQ:
                if qual == "HE" and value:
                    service.remarks.append(value)
            else:  # LINE_AMT
                amount = _decimal(value)
                if amount is not None:
                    service.amounts[qual] = amount
            continue
        if service is not None:  # past loop 2110 the open service payment ends
            service.segments = segs[service_start:i]
            service = None
        if role == CLP:
            if payment is not None:
                payment.segments = segs[payment_start:i]
            payment = _claim_payment(seg)
            payment_start = i
            claims.append(payment)
            continue
        if role <= CLAIM_OTHER:  # loop 2100, after its CLP
            if payment is None:
                continue
            if role == CLAIM_CAS:
                payment.adjustments += _adjustments(seg.text, seg.delimiters.element, "claim")
            elif role == CLAIM_MOA:
                payment.remarks.extend(seg.element(i) for i in MOA_REMARK_ELEMENTS if seg.element(i))
            elif role == CLAIM_MIA:
                payment.remarks.extend(seg.element(i) for i in MIA_REMARK_ELEMENTS if seg.element(i))
            elif role == CLAIM_DTM:
                qual = seg.element(1)
                if qual == "232":
                    payment.date_from = _date(seg.element(2))
                elif qual == "233":
                    payment.date_to = _date(seg.element(2))
            continue
        if payment is not None:  # outside loops 2100 and 2110: the open claim payment is closed
            payment.segments = segs[payment_start:i]
            payment = None
        if role == OUTSIDE:
            continue
        if role == BPR:
            if bpr is None:
                bpr = seg
        elif role == TRN:
            if trn is None:
                trn = seg
        elif role == PAYER_N1:
            payer = seg
        elif role == PAYEE_N1:
            payee = seg
        elif role == PAYER_REF:
            if seg.element(1) == "2U":
                payer_ref = seg.element(2)
        elif role == PLB:
            plbs.extend(read_plb(seg))
    if service is not None:
        service.segments = segs[service_start:]
    if payment is not None:
        payment.segments = segs[payment_start:]
    lost = []
    if dropped:
        lost = [(c.patient_control_number, c.paid, dropped[id(c)]) for c in claims if id(c) in dropped]
        claims = [c for c in claims if id(c) not in dropped]
    payee_qual = payee.element(3) if payee else ""
    payee_id = payee.element(4) if payee else ""
    remittance = Remittance(
        amount=to_decimal(bpr.element(2)) if bpr else None,
        credit_debit=bpr.element(3) if bpr else "",
        method=bpr.element(4) if bpr else "",
        payment_date=to_date(bpr.element(16)) if bpr else None,
        trace_number=trn.element(2) if trn else "",
        trace_payer_id=trn.element(3) if trn else "",
        payer_name=payer.element(2) if payer else "",
        payer_id=(payer.element(4) if payer else "") or payer_ref or (trn.element(3) if trn else ""),
        payee_name=payee.element(2) if payee else "",
        payee_npi=payee_id if payee_qual == "XX" else "",
        payee_id_qualifier=payee_qual,
        payee_id=payee_id,
        claims=claims,
        provider_adjustments=plbs,
        segments=ts.segments,
        dropped=lost,
    )
    return RemitSet(ts, remittance)


def iter_remit_sets(units: Iterable[Unit]) -> Iterator[Envelope | RemitSet]:
    for unit in units:
        yield read_remittance(unit) if isinstance(unit, TransactionSet) else unit


def read_remit_file(path: str) -> Iterator[Envelope | RemitSet]:
    return iter_remit_sets(read_units(read_chunks(path), source=path))


def read_remit_text(text: str, *, source: str | None = None) -> list[Envelope | RemitSet]:
    return list(iter_remit_sets(read_units([text], source=source)))


__all__ = ["RemitSet", "date_or_range", "read_remit_file", "read_remit_text", "read_remittance"]
