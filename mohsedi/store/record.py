"""Claims out: what `check` and `fix` saw, stored so that remittances can be linked to them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.rules.base import Finding
from mohsedi.rules.engine import Applied, Document
from mohsedi.store import models as m
from mohsedi.store.acks import link_pending_acks
from mohsedi.store.db import bulk_insert, insert_returning_ids, text_for_store
from mohsedi.store.link import link_pending
from mohsedi.store.privacy import installation_secret, keyed_hash
from mohsedi.x12.envelope import Envelope
from mohsedi.x12.segments import encode


@dataclass
class RecordedFile:
    path: str
    claims: int
    already_stored: bool


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def record_documents(
    engine: Engine,
    docs: Sequence[Document],
    findings: Sequence[Finding],
    applied: Sequence[Applied],
    command: str,
) -> list[RecordedFile]:
    """Store each readable document's claims, lines and findings; one transaction per file."""
    secret = installation_secret()
    out = []
    by_source: dict[str, list[Finding]] = {}
    for f in findings:
        by_source.setdefault(f.source or "", []).append(f)
    fixed_keys = {(a.source, a.rule, a.claim, a.line) for a in applied}
    for doc in docs:
        if doc.error is not None:
            continue
        data = encode(doc.emit())
        sha = hashlib.sha256(data).hexdigest()
        with engine.begin() as conn:
            exists = conn.execute(
                sa.select(m.StoredFile.id).where(m.StoredFile.kind == "837P", m.StoredFile.sha256 == sha)
            ).first()
            if exists:
                out.append(RecordedFile(doc.source, 0, True))
                continue
            claim_ids = _record_one(conn, doc, data, sha, by_source.get(doc.source, []), fixed_keys, command, secret)
            out.append(RecordedFile(doc.source, len(claim_ids), False))
        pcns = {text_for_store(c.patient_control_number) for c in doc.claims()}
        link_pending(engine, pcns=pcns)
        link_pending_acks(engine, pcns=pcns)
    return out


def _record_one(
    conn: Connection,
    doc: Document,
    data: bytes,
    sha: str,
    findings: list[Finding],
    fixed_keys: set[tuple],
    command: str,
    secret: bytes,
) -> list[int]:
    now = _now()
    isa = next((u.segment for u in doc.units if isinstance(u, Envelope) and u.segment.id == "ISA"), None)
    gs_controls = [u.segment.element(6) for u in doc.units if isinstance(u, Envelope) and u.segment.id == "GS"]
    file_id = insert_returning_ids(
        conn,
        m.StoredFile.__table__,
        [
            {
                "kind": "837P",
                "name": doc.source[-500:],
                "sha256": sha,
                "size": len(data),
                "interchange_control": isa.element(13) if isa else None,
                "group_controls": ",".join(gs_controls)[:200],
                "command": command,
                "stored_at": now,
            }
        ],
    )[0]
    claims = doc.claims()
    claim_rows = []
    for ordinal, claim in enumerate(claims):
        dates = claim.service_dates
        claim_rows.append(
            {
                "file_id": file_id,
                "ordinal": ordinal,
                "patient_control_number": claim.patient_control_number,
                "payer_id": claim.payer_id,
                "billing_npi": claim.billing_npi,
                "rendering_npi": claim.rendering_npi,
                "member_hash": keyed_hash(claim.subscriber.member_id if claim.subscriber else "", secret),
                "patient_key": keyed_hash(claim.patient_key, secret),
                "date_from": dates[0] if dates else None,
                "date_to": dates[-1] if dates else None,
                "total_charge": claim.total_charge,
                "place_of_service": claim.place_of_service[:2],
                "frequency": claim.frequency[:1],
                "diagnoses": ",".join(d.code for d in claim.diagnoses)[:400],
                "clia_number": claim.clia_number,
                "prior_authorization": claim.prior_authorization,
                "payer_claim_control_number": claim.payer_claim_control_number,
                "superseded_by_id": None,
                "checked_at": now,
            }
        )
    claim_ids = insert_returning_ids(conn, m.Claim.__table__, claim_rows)
    bulk_insert(conn, m.SentSet.__table__, sent_set_rows(doc, file_id))
    line_rows = []
    finding_rows = []
    first_by_pcn: dict[str, tuple[int, object]] = {}
    for claim_id, claim in zip(claim_ids, claims, strict=True):
        first_by_pcn.setdefault(claim.patient_control_number, (claim_id, claim))
        for line in claim.lines:
            line_rows.append(
                {
                    "claim_id": claim_id,
                    "line_number": line.number,
                    "line_id": line.line_id,
                    "procedure": line.procedure,
                    "modifiers": ",".join(line.modifiers),
                    "units": line.units,
                    "charge": line.charge,
                    "date_from": line.date_from,
                    "date_to": line.date_to,
                    "pointers": ",".join(str(p) for p in line.diagnosis_pointers),
                    "diagnoses": ",".join(line.diagnoses)[:100],
                }
            )
    for f in findings:
        owner = first_by_pcn.get(f.claim or "")
        if owner is None:
            continue  # envelope findings belong to no claim
        claim_id, claim = owner
        procedure = None
        for line in claim.lines:  # type: ignore[attr-defined]
            if (f.line_id and line.line_id == f.line_id) or (not f.line_id and line.number == f.line):
                procedure = line.procedure
                break
        finding_rows.append(
            {
                "claim_id": claim_id,
                "line_number": f.line,
                "line_id": f.line_id,
                "procedure": procedure,
                "rule": f.rule,
                "severity": f.severity.value,
                "fix_safety": f.fix_safety.value,
                "fixed": (doc.source, f.rule, f.claim, f.line) in fixed_keys,
                "fix_description": f.fix.description[:300] if f.fix else None,
                "message": f.message,
                "data_release": f.data_release[:120] if f.data_release else None,
            }
        )
    bulk_insert(conn, m.ServiceLine.__table__, line_rows)
    bulk_insert(conn, m.StoredFinding.__table__, finding_rows)
    _supersede(conn, claim_ids, claims)
    return claim_ids


def sent_set_rows(doc: Document, file_id: int) -> list[dict]:
    """Each transaction set's GS06 and ST02 with the run of claim ordinals it holds (claims are
    numbered in file order across sets), so that a 999 naming a set finds its claims."""
    rows = []
    group = ""
    ordinal = 0
    for unit in doc.units:
        if isinstance(unit, Envelope):
            if unit.segment.id == "GS":
                group = unit.segment.element(6)
            continue
        ts = unit.transaction
        count = len(unit.claims)
        rows.append(
            {
                "file_id": file_id,
                "group_control": text_for_store(group)[:9],
                "set_control": text_for_store(ts.control_number)[:9],
                "first_ordinal": ordinal,
                "claims": count,
            }
        )
        ordinal += count
    return rows


def _supersede(conn: Connection, claim_ids: list[int], claims: list) -> None:
    """A later version of a claim (same billing NPI and CLM01; a corrected claim) replaces the earlier."""
    newest = {}
    for claim_id, claim in zip(claim_ids, claims, strict=True):
        newest[(text_for_store(claim.billing_npi), text_for_store(claim.patient_control_number))] = claim_id
    pcns = sorted({pcn for _, pcn in newest})
    updates = []
    table = m.Claim.__table__
    for i in range(0, len(pcns), 500):
        rows = conn.execute(
            sa.select(table.c.id, table.c.billing_npi, table.c.patient_control_number).where(
                table.c.patient_control_number.in_(pcns[i : i + 500]),
                table.c.superseded_by_id.is_(None),
                table.c.id.not_in(claim_ids) if len(claim_ids) < 900 else sa.true(),
            )
        ).all()
        for old_id, npi, pcn in rows:
            new_id = newest.get((npi, pcn))
            if new_id is not None and old_id < new_id:
                updates.append({"old": old_id, "new": new_id})
    if updates:
        conn.execute(
            sa.update(table).where(table.c.id == sa.bindparam("old")).values(superseded_by_id=sa.bindparam("new")),
            updates,
        )
