"""Read 999 and 277CA transaction sets, placed by the guide walker, into acknowledgments."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mohsedi.acks.model import (
    IMPLEMENTATION_277CA,
    IMPLEMENTATION_999,
    ClaimAck,
    ClaimStatus,
    ElementError,
    FunctionalAck,
    LineStatus,
    SegmentError,
    SetAcknowledgment,
    Status,
)
from mohsedi.errors import X12Error
from mohsedi.guide.compile import NODES
from mohsedi.guide.loops import to_date, to_decimal
from mohsedi.x12.envelope import Envelope, TransactionSet, Unit
from mohsedi.x12.segments import Segment

# ST01 and its guide (GS08/ST03) tell the kinds apart.
KINDS = {("999", IMPLEMENTATION_999): "999", ("277", IMPLEMENTATION_277CA): "277CA"}


@dataclass(slots=True)
class AckSet:
    transaction: TransactionSet
    kind: str  # "999" or "277CA"
    ack: FunctionalAck | ClaimAck | None = None
    error: X12Error | None = None


def kind_of(ts: TransactionSet) -> str | None:
    return KINDS.get((ts.transaction_type, ts.implementation))


def _fingerprint(kind: str, sender: str, segments: list[Segment]) -> str:
    """What the acknowledgment says, without ST/SE: the same one re-sent in a new envelope (new
    ISA13, GS06, ST02) has the same fingerprint; element separators are normalized."""
    digest = hashlib.sha256(f"{kind}|{sender}".encode())
    for seg in segments:
        if seg.id in ("ST", "SE"):
            continue
        digest.update(b"\x1e")
        digest.update("\x1f".join(seg.elements).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def _statuses(stc: Segment) -> list[Status]:
    out = []
    for index in (1, 10, 11):
        parts = stc.components(index)
        if parts and parts[0]:
            out.append(Status(parts[0], parts[1] if len(parts) > 1 else "", parts[2] if len(parts) > 2 else ""))
    return out


def _element_position(ik4: Segment) -> str:
    """IK401 (element position, component position) as the guide names it: "02", "01-2"."""
    parts = ik4.components(1)
    if not parts or not parts[0].isdigit():
        return ik4.element(1)
    text = f"{int(parts[0]):02d}"
    return f"{text}-{parts[1]}" if len(parts) > 1 and parts[1] else text


def read_999(ts: TransactionSet, gs: Segment | None) -> FunctionalAck:
    ak1 = ak9 = None
    sets: list[SetAcknowledgment] = []
    current: SetAcknowledgment | None = None
    error: SegmentError | None = None
    for seg in ts.segments:
        sid = seg.id
        if sid == "AK1":
            ak1 = seg
        elif sid == "AK2":
            current = SetAcknowledgment(seg.element(1), seg.element(2), seg.element(3), "", [])
            sets.append(current)
            error = None
        elif sid == "IK3" and current is not None:
            error = SegmentError(seg.element(1), seg.element(2), seg.element(3), seg.element(4))
            current.errors.append(error)
        elif sid == "IK4" and error is not None:
            error.elements.append(ElementError(_element_position(seg), seg.element(2), seg.element(3)))
        elif sid == "IK5" and current is not None:
            current.status = seg.element(1)
            current.codes = [seg.element(i) for i in range(2, 7) if seg.element(i)]
            current = error = None
        elif sid == "AK9":
            ak9 = seg
    sender = gs.element(2) if gs is not None else ""
    return FunctionalAck(
        functional_id=ak1.element(1) if ak1 else "",
        group_control=ak1.element(2) if ak1 else "",
        version=ak1.element(3) if ak1 else "",
        group_status=ak9.element(1) if ak9 else "",
        sets=sets,
        sender=sender,
        created=to_date(gs.element(4)) if gs is not None else None,
        fingerprint=_fingerprint("999", sender, ts.segments),
    )


def read_277ca(ts: TransactionSet, gs: Segment | None) -> ClaimAck:
    payer_name = payer_id = ""
    created = None
    npi: str | None = None
    claims: list[ClaimStatus] = []
    claim: ClaimStatus | None = None
    line: LineStatus | None = None
    nodes = NODES
    for seg in ts.segments:
        loop = nodes[seg.node].loop if seg.node >= 0 else ""
        sid = seg.id
        if sid == "BHT":
            created = to_date(seg.element(4))
        elif loop == "2100A" and sid == "NM1":
            payer_name, payer_id = seg.element(3), seg.element(9)
        elif loop == "2100C" and sid == "NM1":
            npi = seg.element(9) if seg.element(8) == "XX" else None
        elif loop in ("2000C", "2000B", "2000A") and sid == "HL":
            claim = line = None
        elif loop == "2200D" and sid == "TRN":
            claim = ClaimStatus(seg.element(2), [], None, None, None, npi)
            claims.append(claim)
            line = None
        elif loop == "2200D" and sid == "STC" and claim is not None:
            claim.statuses.extend(_statuses(seg))
            if claim.status_date is None:
                claim.status_date = to_date(seg.element(2))
                claim.charge = to_decimal(seg.element(4))
        elif loop == "2200D" and sid == "REF" and claim is not None and seg.element(1) == "1K":
            claim.payer_claim_control_number = seg.element(2)
        elif loop == "2220D" and claim is not None:
            if sid == "SVC":
                procedure = seg.components(1)
                line = LineStatus(
                    procedure=procedure[1] if len(procedure) > 1 else "",
                    modifiers=[m for m in procedure[2:6] if m],
                    charge=to_decimal(seg.element(2)),
                    line_id=None,
                    statuses=[],
                    status_date=None,
                )
                claim.lines.append(line)
            elif line is not None and sid == "STC":
                line.statuses.extend(_statuses(seg))
                line.status_date = to_date(seg.element(2))
            elif line is not None and sid == "REF" and seg.element(1) == "FJ":
                line.line_id = seg.element(2)
    sender = gs.element(2) if gs is not None else ""
    return ClaimAck(
        payer_name=payer_name,
        payer_id=payer_id,
        claims=claims,
        sender=sender,
        created=created,
        fingerprint=_fingerprint("277CA", sender, ts.segments),
    )


def read_ack(ts: TransactionSet, gs: Segment | None) -> AckSet:
    kind = kind_of(ts) or ""
    if ts.error is not None or ts.placement_errors:
        return AckSet(ts, kind, error=ts.problems()[0])
    if kind == "999":
        return AckSet(ts, kind, read_999(ts, gs))
    if kind == "277CA":
        return AckSet(ts, kind, read_277ca(ts, gs))
    first = ts.segments[0]
    return AckSet(
        ts,
        kind,
        error=X12Error(
            f"transaction set {ts.control_number} is {ts.transaction_type or '?'} {ts.implementation or '?'}, "
            f"not a 999 ({IMPLEMENTATION_999}) or 277CA ({IMPLEMENTATION_277CA})",
            segment=first.number,
            offset=first.offset,
            segment_id=first.id,
        ),
    )


def iter_ack_sets(units: Iterable[Unit]) -> Iterator[Unit | AckSet]:
    gs = None
    for unit in units:
        if isinstance(unit, Envelope):
            if unit.segment.id == "GS":
                gs = unit.segment
            yield unit
        else:
            yield read_ack(unit, unit.gs or gs)
