"""Read 835 transaction sets into remittances, one transaction set at a time."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.guide.compile import CHAINS
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
MOA_REMARK_ELEMENTS = (3, 4, 5, 6, 7)
MIA_REMARK_ELEMENTS = (5, 20, 21, 22, 23)


@dataclass(slots=True)
class RemitSet:
    transaction: TransactionSet
    remittance: Remittance | None = None
    error: X12Error | None = None


def read_adjustments(cas: Segment, level: str) -> list[Adjustment]:
    """CAS01 group, then up to six reason/amount/quantity triplets."""
    group = cas.element(1)
    out = []
    for i in range(6):
        reason = cas.element(2 + 3 * i)
        if not reason:
            continue
        amount = to_decimal(cas.element(3 + 3 * i))
        out.append(
            Adjustment(
                group=group,
                carc=reason,
                amount=amount if amount is not None else Decimal("0"),
                quantity=to_decimal(cas.element(4 + 3 * i)),
                level=level,
            )
        )
    return out


def read_service(segments: list[Segment]) -> ServicePayment:
    svc = segments[0]
    procedure = svc.components(1)
    original = svc.components(6)
    date_from = date_to = None
    line_id = None
    adjustments: list[Adjustment] = []
    remarks: list[str] = []
    amounts: dict[str, Decimal] = {}
    for seg in segments[1:]:
        sid = seg.id
        if sid == "DTM":
            qual, value = seg.element(1), seg.element(2)
            if qual == "472":
                date_from = date_to = to_date(value)
            elif qual == "150":
                date_from = to_date(value)
            elif qual == "151":
                date_to = to_date(value)
        elif sid == "CAS":
            adjustments.extend(read_adjustments(seg, "line"))
        elif sid == "REF" and seg.element(1) == "6R" and line_id is None:
            line_id = seg.element(2)
        elif sid == "LQ" and seg.element(1) == "HE" and seg.element(2):
            remarks.append(seg.element(2))
        elif sid == "AMT":
            amount = to_decimal(seg.element(2))
            if amount is not None:
                amounts[seg.element(1)] = amount
    units = svc.element(5)
    return ServicePayment(
        qualifier=procedure[0] if procedure else "",
        procedure=procedure[1] if len(procedure) > 1 else "",
        modifiers=[m for m in procedure[2:6] if m],
        charge=to_decimal(svc.element(2)),
        paid=to_decimal(svc.element(3)),
        units=to_decimal(units) if units else Decimal("1"),
        original_procedure=original[1] if len(original) > 1 else None,
        date_from=date_from,
        date_to=date_to if date_to is not None else date_from,
        line_id=line_id,
        adjustments=adjustments,
        remarks=remarks,
        amounts=amounts,
        svc=svc,
        segments=segments,
    )


def read_claim_payment(segments: list[Segment]) -> ClaimPayment:
    clp = segments[0]
    adjustments: list[Adjustment] = []
    remarks: list[str] = []
    date_from = date_to = None
    service_groups: list[list[Segment]] = []
    for seg in segments[1:]:
        chain = CHAINS[seg.node]
        if "2110" in chain:
            if seg.id == "SVC":
                service_groups.append([seg])
            elif service_groups:
                service_groups[-1].append(seg)
            continue
        sid = seg.id
        if sid == "CAS":
            adjustments.extend(read_adjustments(seg, "claim"))
        elif sid == "MOA":
            remarks.extend(seg.element(i) for i in MOA_REMARK_ELEMENTS if seg.element(i))
        elif sid == "MIA":
            remarks.extend(seg.element(i) for i in MIA_REMARK_ELEMENTS if seg.element(i))
        elif sid == "DTM":
            if seg.element(1) == "232":
                date_from = to_date(seg.element(2))
            elif seg.element(1) == "233":
                date_to = to_date(seg.element(2))
    return ClaimPayment(
        patient_control_number=clp.element(1),
        status=clp.element(2),
        charge=to_decimal(clp.element(3)),
        paid=to_decimal(clp.element(4)),
        patient_responsibility=to_decimal(clp.element(5)),
        filing_indicator=clp.element(6),
        payer_claim_control_number=clp.element(7),
        adjustments=adjustments,
        remarks=remarks,
        date_from=date_from,
        date_to=date_to,
        services=[read_service(group) for group in service_groups],
        clp=clp,
        segments=segments,
    )


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


def read_remittance(ts: TransactionSet) -> RemitSet:
    # Past this check every segment is placed, so CHAINS[seg.node] below is safe.
    if not ts.ok:
        return RemitSet(ts, error=ts.problems()[0])
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
    claim_groups: list[list[Segment]] = []
    plbs: list[ProviderAdjustment] = []
    for seg in ts.segments:
        chain = CHAINS[seg.node]
        loop = chain[-1] if chain else ""
        sid = seg.id
        if "2100" in chain:
            if sid == "CLP" and loop == "2100":
                claim_groups.append([seg])
            elif claim_groups:
                claim_groups[-1].append(seg)
            continue
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
        claims=[read_claim_payment(group) for group in claim_groups],
        provider_adjustments=plbs,
        segments=ts.segments,
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
