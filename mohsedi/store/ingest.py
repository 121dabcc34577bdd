"""Remittances in: 835 files into the store, one transaction per file, then linked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.remits.model import Remittance
from mohsedi.remits.reader import RemitSet, iter_remit_sets
from mohsedi.store import models as m
from mohsedi.store.db import insert_returning_ids
from mohsedi.store.link import is_denial, link_claim_payments
from mohsedi.x12.envelope import Envelope
from mohsedi.x12.segments import decode


@dataclass
class IngestReport:
    path: str
    remittances: int = 0
    claim_payments: int = 0
    service_payments: int = 0
    denials: int = 0
    segments: int = 0
    already_stored: bool = False
    error: X12Error | None = None
    quarantined: list[X12Error] = field(default_factory=list)


def ingest_paths(
    engine: Engine, paths: Sequence[str], *, progress: Callable[[str], None] | None = None
) -> list[IngestReport]:
    reports = []
    for path in paths:
        reports.append(ingest_file(engine, path))
        if progress:
            progress(path)
    return reports


def ingest_file(engine: Engine, path: str) -> IngestReport:
    """Read and store one 835 file; a file already stored (same bytes) changes nothing."""
    report = IngestReport(path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        report.error = X12Error(f"cannot read the file: {exc.strerror or exc}", source=path)
        return report
    sha = hashlib.sha256(data).hexdigest()
    try:
        units = list(iter_remit_sets(read_units([decode(data)], source=path)))
    except X12Error as exc:
        report.error = exc.located(path)
        return report
    sets = [u for u in units if isinstance(u, RemitSet)]
    report.quarantined = [s.error.located(path) for s in sets if s.error is not None]
    report.segments = sum(len(u.segments) if isinstance(u, Envelope) else len(u.transaction.segments) for u in units)
    with engine.begin() as conn:  # the whole file or nothing
        if conn.execute(
            sa.select(m.StoredFile.id).where(m.StoredFile.kind == "835", m.StoredFile.sha256 == sha)
        ).first():
            report.already_stored = True
            return report
        isa = next((u.segment for u in units if isinstance(u, Envelope) and u.segment.id == "ISA"), None)
        file_id = insert_returning_ids(
            conn,
            m.StoredFile.__table__,
            [
                {
                    "kind": "835",
                    "name": path[-500:],
                    "sha256": sha,
                    "size": len(data),
                    "interchange_control": isa.element(13) if isa else None,
                    "group_controls": ",".join(
                        u.segment.element(6) for u in units if isinstance(u, Envelope) and u.segment.id == "GS"
                    )[:200],
                    "command": "ingest",
                    "stored_at": datetime.now().replace(microsecond=0),
                }
            ],
        )[0]
        claim_payment_ids: list[int] = []
        for s in sets:
            if s.remittance is None:
                continue
            claim_payment_ids += _store_remittance(conn, file_id, sha, s.remittance, report)
        link_claim_payments(conn, claim_payment_ids)
    return report


def _store_remittance(conn: Connection, file_id: int, sha: str, r: Remittance, report: IngestReport) -> list[int]:
    remittance_id = insert_returning_ids(
        conn,
        m.Remittance.__table__,
        [
            {
                "file_id": file_id,
                "file_sha256": sha,
                "payer_id": r.payer_id,
                "payer_name": r.payer_name[:60],
                "payee_npi": r.payee_npi or None,
                "payee_id": r.payee_id or None,
                "trace_number": r.trace_number,
                "amount": r.amount,
                "credit_debit": r.credit_debit[:1],
                "method": r.method[:3],
                "payment_date": r.payment_date,
            }
        ],
    )[0]
    report.remittances += 1
    cp_ids = insert_returning_ids(
        conn,
        m.ClaimPayment.__table__,
        [
            {
                "remittance_id": remittance_id,
                "patient_control_number": c.patient_control_number,
                "status": c.status,
                "is_reversal": c.is_reversal,
                "charge": c.charge,
                "paid": c.paid,
                "patient_responsibility": c.patient_responsibility,
                "payer_claim_control_number": c.payer_claim_control_number,
                "claim_id": None,
            }
            for c in r.claims
        ],
    )
    report.claim_payments += len(cp_ids)
    sp_rows, sp_owner = [], []
    for cp_id, c in zip(cp_ids, r.claims, strict=True):
        for s in c.services:
            sp_owner.append((cp_id, s))
            sp_rows.append(
                {
                    "claim_payment_id": cp_id,
                    "procedure": s.procedure,
                    "modifiers": ",".join(s.modifiers),
                    "charge": s.charge,
                    "paid": s.paid,
                    "units": s.units,
                    "date_from": s.date_from,
                    "line_id": s.line_id,
                    "service_line_id": None,
                }
            )
    sp_ids = insert_returning_ids(conn, m.ServicePayment.__table__, sp_rows)
    report.service_payments += len(sp_ids)
    adjustments, remarks = [], []
    for cp_id, c in zip(cp_ids, r.claims, strict=True):
        for a in c.adjustments:
            adjustments.append(_adjustment(cp_id, None, a))
        for code in c.remarks:
            remarks.append({"claim_payment_id": cp_id, "service_payment_id": None, "source": "MOA", "code": code})
    for sp_id, (cp_id, s) in zip(sp_ids, sp_owner, strict=True):
        for a in s.adjustments:
            adjustments.append(_adjustment(cp_id, sp_id, a))
        for code in s.remarks:
            remarks.append({"claim_payment_id": cp_id, "service_payment_id": sp_id, "source": "LQ", "code": code})
    if adjustments:
        conn.execute(sa.insert(m.Adjustment.__table__), adjustments)
    if remarks:
        conn.execute(sa.insert(m.Remark.__table__), remarks)
    report.denials += sum(1 for a in adjustments if a["is_denial"])
    return cp_ids


def _adjustment(cp_id: int, sp_id: int | None, a) -> dict:
    return {
        "claim_payment_id": cp_id,
        "service_payment_id": sp_id,
        "level": a.level,
        "group_code": a.group,
        "carc": a.carc,
        "amount": a.amount,
        "quantity": a.quantity,
        "is_denial": is_denial(a.carc),
        "rule": None,
        "basis": None,
        "fixed": None,
        "linked_at": None,
    }
