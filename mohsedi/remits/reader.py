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
from mohsedi.x12.envelope import TransactionSet, Unit
from mohsedi.x12.segments import Segment, read_chunks

IMPLEMENTATION_835 = "005010X221A1"
ZERO = Decimal("0")
ONE = Decimal("1")
MOA_REMARK_ELEMENTS = (3, 4, 5, 6, 7)
MIA_REMARK_ELEMENTS = (5, 20, 21, 22, 23)
# Segments are padded once to this many elements, instead of a bounds check per element read.
PAD = [""] * 24
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
    e = cas.elements + PAD
    group = e[1]
    out = []
    for i in range(2, 20, 3):
        reason = e[i]
        if not reason:
            continue
        amount = _decimal(e[i + 1])
        out.append(Adjustment(group, reason, amount if amount is not None else ZERO, _decimal(e[i + 2]), level))
    return out


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


def _service(svc: Segment) -> ServicePayment:
    e = svc.elements + PAD
    component = svc.delimiters.component
    procedure = e[1].split(component) if e[1] else []
    original = e[6].split(component) if e[6] else []
    units = e[5]
    return ServicePayment(
        qualifier=procedure[0] if procedure else "",
        procedure=procedure[1] if len(procedure) > 1 else "",
        modifiers=[m for m in procedure[2:6] if m],
        charge=_decimal(e[2]),
        paid=_decimal(e[3]),
        units=_decimal(units) if units else ONE,
        original_procedure=(original[1] or None) if len(original) > 1 else None,
        original_modifiers=[m for m in original[2:6] if m],
        date_from=None,
        date_to=None,
        line_id=None,
        adjustments=[],
        remarks=[],
        amounts={},
        svc=svc,
        segments=[svc],
    )


def _claim_payment(clp: Segment) -> ClaimPayment:
    e = clp.elements + PAD
    return ClaimPayment(
        patient_control_number=e[1],
        status=e[2],
        charge=_decimal(e[3]),
        paid=_decimal(e[4]),
        patient_responsibility=_decimal(e[5]),
        filing_indicator=e[6],
        payer_claim_control_number=e[7],
        adjustments=[],
        remarks=[],
        date_from=None,
        date_to=None,
        services=[],
        clp=clp,
        segments=[clp],
    )


def _service_segment(service: ServicePayment, seg: Segment) -> None:
    """A segment of loop 2110 after its SVC."""
    sid = seg.id
    service.segments.append(seg)
    if sid == "CAS":
        service.adjustments.extend(read_adjustments(seg, "line"))
        return
    e = seg.elements
    qual = e[1] if len(e) > 1 else ""
    value = e[2] if len(e) > 2 else ""
    if sid == "DTM":
        if qual == "472":
            service.date_from = service.date_to = _date(value)
        elif qual == "150":
            service.date_from = _date(value)
            if service.date_to is None:
                service.date_to = service.date_from
        elif qual == "151":
            service.date_to = _date(value)
    elif sid == "REF" and qual == "6R" and service.line_id is None:
        service.line_id = value
    elif sid == "LQ" and qual == "HE" and value:
        service.remarks.append(value)
    elif sid == "AMT":
        amount = _decimal(value)
        if amount is not None:
            service.amounts[qual] = amount


def _claim_segment(payment: ClaimPayment, seg: Segment) -> None:
    """A segment of loop 2100 (or one of its name loops) after its CLP."""
    sid = seg.id
    payment.segments.append(seg)
    if sid == "CAS":
        payment.adjustments.extend(read_adjustments(seg, "claim"))
    elif sid == "MOA":
        payment.remarks.extend(seg.element(i) for i in MOA_REMARK_ELEMENTS if seg.element(i))
    elif sid == "MIA":
        payment.remarks.extend(seg.element(i) for i in MIA_REMARK_ELEMENTS if seg.element(i))
    elif sid == "DTM":
        qual = seg.element(1)
        if qual == "232":
            payment.date_from = _date(seg.element(2))
        elif qual == "233":
            payment.date_to = _date(seg.element(2))


_LOOPS: list[str] = []


def _loop_table() -> list[str]:
    """Every guide node's loop id, indexed by node: one list index per segment in the hot loop."""
    global _LOOPS
    if len(_LOOPS) != len(NODES):  # guides compile lazily, so NODES may have grown
        _LOOPS = [node.loop for node in NODES]
    return _LOOPS


# With this many placement errors the walker stopped recording them: read nothing of the set.
PLACEMENT_ERROR_CAP = 20


def read_remittance(ts: TransactionSet) -> RemitSet:
    """One 835 transaction set in a single pass, dispatching on each segment's loop.

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
    loops = _loop_table()
    for seg in ts.segments:
        # A misplaced segment keeps the node of the one before it (see place_units).
        loop = loops[seg.node]
        sid = seg.id
        if misplaced and seg.number in misplaced:
            if payment is None or not loop.startswith(("2100", "2110")):
                return RemitSet(ts, error=misplaced[seg.number])
            dropped.setdefault(id(payment), misplaced[seg.number])
        if loop == "2110" and payment is not None:
            if sid == "SVC":
                service = _service(seg)
                payment.services.append(service)
                payment.segments.append(seg)
            elif service is not None:
                payment.segments.append(seg)
                _service_segment(service, seg)
            continue
        if loop == "2100" and sid == "CLP":
            payment = _claim_payment(seg)
            service = None
            claims.append(payment)
            continue
        if payment is not None and loop.startswith("2100"):
            _claim_segment(payment, seg)
            continue
        if loop in ("2000", "ST_LOOP", "HEADER", "DETAIL", "FOOTER") or not loop.startswith("2"):
            payment = service = None
        if sid == "BPR" and bpr is None:
            bpr = seg
        elif sid == "TRN" and trn is None:
            trn = seg
        elif sid == "N1" and loop == "1000A":
            payer = seg
        elif sid == "N1" and loop == "1000B":
            payee = seg
        elif sid == "REF" and loop == "1000A" and seg.element(1) == "2U":
            payer_ref = seg.element(2)
        elif sid == "PLB":
            plbs.extend(read_plb(seg))
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


def iter_remit_sets(units: Iterable[Unit]) -> Iterator[Unit | RemitSet]:
    for unit in units:
        yield read_remittance(unit) if isinstance(unit, TransactionSet) else unit


def read_remit_file(path: str) -> Iterator[Unit | RemitSet]:
    return iter_remit_sets(read_units(read_chunks(path), source=path))


def read_remit_text(text: str, *, source: str | None = None) -> list[Unit | RemitSet]:
    return list(iter_remit_sets(read_units([text], source=source)))


__all__ = ["RemitSet", "date_or_range", "read_remit_file", "read_remit_text", "read_remittance"]
