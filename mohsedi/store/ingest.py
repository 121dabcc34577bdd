"""Remittances in: 835 files into the store, one transaction per file, then linked."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.errors import X12Error
from mohsedi.remits.model import Remittance
from mohsedi.remits.reader import read_remit_file
from mohsedi.store import models as m
from mohsedi.store.db import bulk_insert, describe_db_error, insert_returning_ids, text_for_store, write_transaction
from mohsedi.store.limits import StoreFinding, fit_remittance
from mohsedi.store.link import is_denial, link_claim_payments
from mohsedi.x12.envelope import Envelope


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
    findings: list[StoreFinding] = field(default_factory=list)


def ingest_paths(
    engine: Engine, paths: Sequence[str], *, progress: Callable[[str], None] | None = None
) -> list[IngestReport]:
    reports = []
    for path in paths:
        reports.append(ingest_file(engine, path))
        if progress:
            progress(path)
    return reports


def _hash_file(path: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def ingest_file(engine: Engine, path: str) -> IngestReport:
    """Read and store one 835 file; a file already stored (same bytes) changes nothing.

    The file streams one transaction set at a time inside a single database transaction:
    memory stays bounded, and a file that fails part-way leaves no rows.
    """
    report = IngestReport(path)
    try:
        sha, size = _hash_file(path)
    except OSError as exc:
        report.error = X12Error(f"cannot read the file: {exc.strerror or exc}", source=path)
        return report
    try:
        with write_transaction(engine) as conn:
            if conn.execute(
                sa.select(m.StoredFile.id).where(m.StoredFile.kind == "835", m.StoredFile.sha256 == sha)
            ).first():
                report.already_stored = True
                return report
            file_id = insert_returning_ids(
                conn,
                m.StoredFile.__table__,
                [
                    {
                        "kind": "835",
                        "name": path[-500:],
                        "sha256": sha,
                        "size": size,
                        "interchange_control": None,
                        "group_controls": None,
                        "command": "ingest",
                        "stored_at": datetime.now().replace(microsecond=0),
                    }
                ],
            )[0]
            isa13, gs06 = None, []
            claim_payment_ids: list[int] = []
            for unit in read_remit_file(path):
                if isinstance(unit, Envelope):
                    report.segments += 1
                    if unit.segment.id == "ISA" and isa13 is None:
                        isa13 = unit.segment.element(13)
                    elif unit.segment.id == "GS":
                        gs06.append(unit.segment.element(6))
                    continue
                report.segments += len(unit.transaction.segments)
                if unit.error is not None:
                    report.quarantined.append(unit.error.located(path))
                elif unit.remittance is not None:
                    remittance, too_long = fit_remittance(unit.remittance)
                    report.findings += too_long
                    if remittance is not None:
                        claim_payment_ids += _store_remittance(conn, file_id, sha, remittance, report)
            conn.execute(
                sa.update(m.StoredFile.__table__)
                .where(m.StoredFile.__table__.c.id == file_id)
                .values(
                    interchange_control=text_for_store(isa13) if isa13 else None,
                    group_controls=text_for_store(",".join(gs06))[:200],
                )
            )
            link_claim_payments(conn, claim_payment_ids)
    except X12Error as exc:  # unreadable from the start or at a later ISA: nothing is kept
        return IngestReport(path, error=exc.located(path))
    except sa.exc.SQLAlchemyError as exc:
        return store_refusal(engine, path, sha, exc)
    return report


def store_refusal(engine: Engine, path: str, sha: str, exc: sa.exc.SQLAlchemyError) -> IngestReport:
    """What a database error means for this one file (the batch goes on): the same file stored
    meanwhile by another process (it won the race: nothing to do), or a one-line refusal that
    never shows the SQL or its values."""
    if isinstance(exc, sa.exc.IntegrityError):
        try:
            with engine.connect() as conn:
                if conn.execute(
                    sa.select(m.StoredFile.id).where(m.StoredFile.kind == "835", m.StoredFile.sha256 == sha)
                ).first():
                    return IngestReport(path, already_stored=True)
        except sa.exc.SQLAlchemyError:
            pass
    problem = f"the store refused the file, nothing of it was stored: {describe_db_error(exc)}"
    return IngestReport(path, error=X12Error(problem, source=path))


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
    bulk_insert(conn, m.Adjustment.__table__, adjustments)
    bulk_insert(conn, m.Remark.__table__, remarks)
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
