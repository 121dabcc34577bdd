"""Acknowledgments in: 999 and 277CA files into the store, linked to what was sent.

Same guarantees as 835s (mohsedi.store.ingest): one database transaction per file, a file cut
short stores nothing, and an acknowledgment is stored once. Its identity is what it says (the
set's segments without ST/SE, with the sender: mohsedi.acks.reader), not the file's bytes: the
same acknowledgment re-sent in a new envelope stores nothing new.

Linking (again whenever claims are checked later, see ``link_pending_acks``):
- a 999 set status links to the 837P set sent with that GS06 (AK102) and ST02 (AK202);
- a 277CA claim status links to the current stored claim with its CLM01 (2200D TRN02), and a
  line status to that claim's line with the REF*6R its REF*FJ carries.
A rejection gets a rule and a basis as denials do: ``fired`` when a rule declaring that
rejection (Rule.rejects) reported the claim or line when it was checked, ``predicted`` when
today's rules, run on the stored claim, report it, else ``unexplained``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.acks.model import REJECTED_CATEGORIES, ClaimAck, FunctionalAck
from mohsedi.acks.reader import AckSet, iter_ack_sets
from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.rules.registry import all_rules
from mohsedi.store import models as m
from mohsedi.store.db import bulk_insert, in_list, insert_returning_ids, text_for_store
from mohsedi.store.db import chunks as _chunks
from mohsedi.store.ingest import (
    IngestReport,
    _Envelopes,
    _ReadOnce,
    _refuse_special,
    _RefusedError,
    insert_pending_file,
)
from mohsedi.store.link import _on_target, _stored_findings, clm01s_of, predict
from mohsedi.x12.envelope import Envelope

ACK, SS, SE_, CS = (
    m.Acknowledgment.__table__,
    m.SetStatus.__table__,
    m.SetError.__table__,
    m.ClaimStatusRow.__table__,
)
SENT, C, SL = m.SentSet.__table__, m.Claim.__table__, m.ServiceLine.__table__
ACK_KINDS = ("999", "277CA")


def ingest_ack_file(engine: Engine, path: str) -> IngestReport:
    """Read and store one 999 or 277CA file in one database transaction: all of it or nothing."""
    report = IngestReport(path, kind="999")
    refused = _refuse_special(path)
    if refused is not None:
        report.status, report.error = "refused", refused
        return report
    source = _ReadOnce(path)
    envelopes = _Envelopes(path)
    kinds: list[str] = []
    try:
        with engine.connect() as conn, conn.begin() as transaction:
            _, file_id = insert_pending_file(conn, "999", path)
            ack_ids: list[int] = []
            seen: set[str] = set()
            for unit in iter_ack_sets(read_units(source.chunks(), source=path)):
                if isinstance(unit, Envelope):
                    report.segments += 1
                    envelopes.envelope(unit.segment)
                    continue
                assert isinstance(unit, AckSet)  # every transaction set comes out read as one
                envelopes.transaction(unit.transaction)
                report.segments += len(unit.transaction.segments)
                if unit.kind and unit.kind not in kinds:
                    kinds.append(unit.kind)
                if unit.error is not None or unit.ack is None:
                    if unit.error is not None:
                        report.quarantined.append(unit.error.located(path))
                    continue
                key = unit.ack.fingerprint
                if key in seen or conn.execute(sa.select(ACK.c.id).where(ACK.c.ack_key == key)).first():
                    report.already += 1
                    continue
                seen.add(key)
                ack_ids.append(_store_ack(conn, file_id, unit.kind, unit.ack, report))
            envelopes.close()
            report.kind = "+".join(kinds) or "999"
            sha = source.digest.hexdigest()
            same_bytes = conn.execute(
                sa.select(m.StoredFile.id).where(m.StoredFile.kind.in_(ACK_KINDS), m.StoredFile.sha256 == sha)
            ).first()
            if not ack_ids or same_bytes:
                transaction.rollback()
                if report.already or same_bytes:
                    report.status = "already_stored"
                    report.acknowledgments = report.acknowledged = report.rejected = report.claim_payments = 0
                elif report.quarantined:
                    report.status = "refused"
                    report.error = X12Error("no transaction set could be read; nothing was stored", source=path)
                else:
                    report.status = "refused"
                    report.error = X12Error(
                        "no 999 or 277CA transaction set in the file; nothing was stored", source=path
                    )
                return report
            conn.execute(
                sa.update(m.StoredFile.__table__)
                .where(m.StoredFile.__table__.c.id == file_id)
                .values(
                    kind=kinds[0],
                    sha256=sha,
                    size=source.size,
                    interchange_control=text_for_store(envelopes.isa13) if envelopes.isa13 else None,
                    group_controls=text_for_store(",".join(envelopes.gs06))[:200],
                )
            )
            link_acknowledgments(conn, ack_ids)
    except _RefusedError as refusal:
        return IngestReport(path, kind=report.kind, status="refused", error=refusal.error, segments=report.segments)
    except X12Error as exc:
        return IngestReport(path, kind=report.kind, status="refused", error=exc.located(path))
    except sa.exc.IntegrityError as exc:  # the same acknowledgment stored by a concurrent ingest
        problem = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        return IngestReport(
            path,
            kind=report.kind,
            status="refused",
            error=X12Error(f"the store refused the file: {problem}", source=path),
        )
    except OSError as exc:
        return IngestReport(
            path,
            kind=report.kind,
            status="refused",
            error=X12Error(f"cannot read the file: {exc.strerror or exc}", source=path),
        )
    return report


def _store_ack(conn: Connection, file_id: int, kind: str, ack: FunctionalAck | ClaimAck, report: IngestReport) -> int:
    is_999 = isinstance(ack, FunctionalAck)
    ack_id = insert_returning_ids(
        conn,
        ACK,
        [
            {
                "file_id": file_id,
                "kind": kind,
                "ack_key": ack.fingerprint,
                "sender": ack.sender[:15],
                "payer_id": None if is_999 else ack.payer_id[:80],  # type: ignore[union-attr]
                "payer_name": None if is_999 else ack.payer_name[:60],  # type: ignore[union-attr]
                "group_control": ack.group_control[:9] if is_999 else None,  # type: ignore[union-attr]
                "group_status": ack.group_status[:1] if is_999 else None,  # type: ignore[union-attr]
                "received": ack.created,
            }
        ],
    )[0]
    report.acknowledgments += 1
    if isinstance(ack, FunctionalAck):
        ids = insert_returning_ids(
            conn,
            SS,
            [
                {
                    "acknowledgment_id": ack_id,
                    "set_control": s.control_number[:9],
                    "status": s.status[:1],
                    "codes": ",".join(s.codes)[:20],
                    "rejected": s.rejected,
                    "sent_set_id": None,
                    "rule": None,
                    "basis": None,
                    "linked_at": None,
                }
                for s in ack.sets
            ],
        )
        errors = []
        for set_id, s in zip(ids, ack.sets, strict=True):
            for e in s.errors:
                base = {
                    "set_status_id": set_id,
                    "segment_id": e.segment_id[:3],
                    "segment_position": e.position[:10],
                    "loop": e.loop[:6] or None,
                    "segment_code": e.code[:3],
                }
                if not e.elements:
                    errors.append(base | {"element_position": None, "element_reference": None, "element_code": None})
                for el in e.elements:
                    errors.append(
                        base
                        | {
                            "element_position": el.position[:10],
                            "element_reference": el.reference[:6],
                            "element_code": el.code[:3],
                        }
                    )
        bulk_insert(conn, SE_, errors)
        report.acknowledged += len(ack.sets)
        report.rejected += sum(1 for s in ack.sets if s.rejected)
        return ack_id
    rows = []
    for c in ack.claims:
        for st in c.statuses:
            rows.append(_status_row(ack_id, c.patient_control_number, None, None, c.provider_npi, st, c))
        for line in c.lines:
            for st in line.statuses:
                row = _status_row(ack_id, c.patient_control_number, line.line_id, line.procedure, c.provider_npi, st, c)
                row["amount"], row["status_date"] = line.charge, line.status_date
                rows.append(row)
    bulk_insert(conn, CS, rows)
    report.claim_payments += len(ack.claims)
    report.acknowledged += len(ack.claims)
    report.rejected += sum(1 for c in ack.claims if any(s.category in REJECTED_CATEGORIES for s in c.statuses))
    return ack_id


def _status_row(ack_id, pcn, line_id, procedure, npi, st, claim) -> dict:
    return {
        "acknowledgment_id": ack_id,
        "patient_control_number": pcn[:38],
        "line_id": line_id,
        "procedure": procedure,
        "provider_npi": npi,
        "category": st.category[:3],
        "code": st.code[:5],
        "entity": st.entity[:3],
        "status_date": claim.status_date,
        "amount": claim.charge,
        "payer_claim_control_number": claim.payer_claim_control_number,
        "rejected": st.category in REJECTED_CATEGORIES,
        "claim_id": None,
        "service_line_id": None,
        "rule": None,
        "basis": None,
        "linked_at": None,
    }


# ---------------------------------------------------------------- linking


def link_pending_acks(engine: Engine, *, file_id: int | None = None) -> int:
    """Link again what is not linked or unexplained (after more claims were checked): 999 sets
    not found yet or unexplained, and 277CA statuses of the CLM01s of a stored 837P file (all
    when None)."""
    with engine.begin() as conn:
        sets = sa.select(SS.c.acknowledgment_id).where(sa.or_(SS.c.sent_set_id.is_(None), SS.c.basis == "unexplained"))
        claims = sa.select(CS.c.acknowledgment_id).where(sa.or_(CS.c.claim_id.is_(None), CS.c.basis == "unexplained"))
        if file_id is not None:
            claims = claims.where(CS.c.patient_control_number.in_(clm01s_of(file_id)))
        ids = {row[0] for row in conn.execute(sets)} | {row[0] for row in conn.execute(claims)}
        return link_acknowledgments(conn, sorted(ids))


def link_acknowledgments(conn: Connection, ack_ids: list[int]) -> int:
    if not ack_ids:
        return 0
    now = datetime.now().replace(microsecond=0)
    rules = all_rules()
    explained = _link_sets(conn, ack_ids, rules, now)
    explained += _link_claim_statuses(conn, ack_ids, rules, now)
    return explained


def _claims_of_sets(conn: Connection, sent_ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for chunk in _chunks(sent_ids):
        for sent_id, claim_id in conn.execute(
            sa.select(SENT.c.id, C.c.id)
            .join(C, C.c.file_id == SENT.c.file_id)
            .where(
                in_list(conn, SENT.c.id, chunk),
                C.c.ordinal >= SENT.c.first_ordinal,
                C.c.ordinal < SENT.c.first_ordinal + SENT.c.claims,
            )
        ):
            out[sent_id].append(claim_id)
    return out


def _link_sets(conn: Connection, ack_ids: list[int], rules: list, now: datetime) -> int:
    statuses: list[Any] = []
    for chunk in _chunks(ack_ids):
        statuses += conn.execute(
            sa.select(SS.c.id, SS.c.set_control, SS.c.sent_set_id, SS.c.rejected, SS.c.basis, ACK.c.group_control)
            .join(ACK, ACK.c.id == SS.c.acknowledgment_id)
            .where(in_list(conn, SS.c.acknowledgment_id, chunk))
        ).all()
    links = []
    sent_for: dict[int, int | None] = {}
    for s in statuses:
        sent_id = s.sent_set_id
        if sent_id is None:
            # Control numbers come round again: the newest set sent with them is the one answered.
            sent_id = conn.execute(
                sa.select(sa.func.max(SENT.c.id)).where(
                    SENT.c.group_control == (s.group_control or ""), SENT.c.set_control == s.set_control
                )
            ).scalar()
            if sent_id is not None:
                links.append({"ss": s.id, "sent": sent_id})
        sent_for[s.id] = sent_id
    if links:
        conn.execute(sa.update(SS).where(SS.c.id == sa.bindparam("ss")).values(sent_set_id=sa.bindparam("sent")), links)
    pending = [s for s in statuses if s.rejected and s.basis in (None, "unexplained")]
    if not pending:
        return 0
    claims_of = _claims_of_sets(conn, sorted({sent for s in pending if (sent := sent_for[s.id])}))
    claim_ids = sorted({c for ids in claims_of.values() for c in ids})
    stored = _stored_findings(conn, claim_ids)
    predicted = predict(conn, claim_ids) if claim_ids else {}
    by_code = {r.code: r for r in rules}
    updates = []
    for s in pending:
        sent_id = sent_for[s.id]
        rule, basis = None, "unexplained"
        claims = claims_of.get(sent_id, []) if sent_id else []
        for source, name in ((stored, "fired"), (predicted, "predicted")):
            hit = next(
                (
                    f["rule"]
                    for claim_id in claims
                    for f in source.get(claim_id, [])
                    if f["rule"] in by_code and by_code[f["rule"]].predicts_rejection("999")
                ),
                None,
            )
            if hit:
                rule, basis = hit, name
                break
        updates.append({"ss": s.id, "rule": rule, "basis": basis, "at": now if sent_id else None})
    conn.execute(
        sa.update(SS)
        .where(SS.c.id == sa.bindparam("ss"))
        .values(rule=sa.bindparam("rule"), basis=sa.bindparam("basis"), linked_at=sa.bindparam("at")),
        updates,
    )
    return len(updates)


def _link_claim_statuses(conn: Connection, ack_ids: list[int], rules: list, now: datetime) -> int:
    rows: list[Any] = []
    for chunk in _chunks(ack_ids):
        rows += conn.execute(
            sa.select(
                CS.c.id,
                CS.c.patient_control_number,
                CS.c.line_id,
                CS.c.procedure,
                CS.c.provider_npi,
                CS.c.category,
                CS.c.code,
                CS.c.rejected,
                CS.c.basis,
                CS.c.claim_id,
                CS.c.service_line_id,
            ).where(in_list(conn, CS.c.acknowledgment_id, chunk))
        ).all()
    if not rows:
        return 0
    current: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in _chunks(sorted({r.patient_control_number for r in rows})):
        for claim_id, pcn, npi in conn.execute(
            sa.select(C.c.id, C.c.patient_control_number, C.c.billing_npi).where(
                in_list(conn, C.c.patient_control_number, chunk), C.c.superseded_by_id.is_(None)
            )
        ):
            current[pcn].append((claim_id, npi))
    claim_for: dict[int, int | None] = {}
    for r in rows:
        if r.claim_id:
            claim_for[r.id] = r.claim_id
            continue
        candidates = current.get(r.patient_control_number, [])
        same_npi = [c for c in candidates if r.provider_npi and c[1] == r.provider_npi]
        claim_for[r.id] = max(same_npi or candidates)[0] if candidates else None
    claim_ids = sorted({c for c in claim_for.values() if c})
    lines: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(claim_ids):
        for ln in conn.execute(
            sa.select(SL.c.id, SL.c.claim_id, SL.c.line_id, SL.c.line_number, SL.c.procedure)
            .where(in_list(conn, SL.c.claim_id, chunk))
            .order_by(SL.c.id)
        ):
            lines[ln.claim_id].append(ln)
    line_for: dict[int, Any] = {}
    for r in rows:
        claim_id = claim_for[r.id]
        if not claim_id or r.line_id is None and r.procedure is None:
            continue
        claim_lines = lines.get(claim_id, [])
        match = next((ln for ln in claim_lines if r.line_id and ln.line_id == r.line_id), None)
        if match is None and not r.line_id:
            match = next((ln for ln in claim_lines if ln.procedure == r.procedure), None)
        line_for[r.id] = match
    pending = [r for r in rows if r.rejected and r.basis in (None, "unexplained")]
    target_claims = sorted({claim for r in pending if (claim := claim_for[r.id])})
    stored = _stored_findings(conn, target_claims)
    predicted = predict(conn, target_claims) if target_claims else {}
    by_code = {r.code: r for r in rules}
    pending_ids = {r.id for r in pending}
    links, explanations = [], []
    for r in rows:
        claim_id = claim_for[r.id]
        line = line_for.get(r.id)
        links.append(
            {
                "cs": r.id,
                "claim": claim_id,
                "line": getattr(line, "id", None) or r.service_line_id,
                "at": now if claim_id else None,
            }
        )
        if r.id not in pending_ids:
            continue
        rule, basis = None, "unexplained"
        line_level = r.line_id is not None or r.procedure is not None
        for source, name in ((stored, "fired"), (predicted, "predicted")):
            if not claim_id:
                break
            hit = next(
                (
                    f["rule"]
                    for f in _on_target(source.get(claim_id, []), line, not line_level)
                    if f["rule"] in by_code and by_code[f["rule"]].predicts_rejection("277CA", r.category, r.code)
                ),
                None,
            )
            if hit:
                rule, basis = hit, name
                break
        explanations.append({"cs": r.id, "rule": rule, "basis": basis})
    conn.execute(
        sa.update(CS)
        .where(CS.c.id == sa.bindparam("cs"))
        .values(claim_id=sa.bindparam("claim"), service_line_id=sa.bindparam("line"), linked_at=sa.bindparam("at")),
        links,
    )
    if explanations:
        conn.execute(
            sa.update(CS)
            .where(CS.c.id == sa.bindparam("cs"))
            .values(rule=sa.bindparam("rule"), basis=sa.bindparam("basis")),
            explanations,
        )
    return len(explanations)
