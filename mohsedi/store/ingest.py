"""Remittances in: 835 files into the store, one transaction per file, then linked.

A payment is stored once. Its identity is the payer and the payment trace (TRN02, TRN03) with
the amount and date (mohsedi.remits.balance.payment_key), never the file's bytes: the same ERA
re-sent in a new envelope, with new control numbers or other line endings, adds nothing and
reports ERA004; a file holding new and already-stored payments stores the new ones.

Whole files or nothing: an interchange, group or transaction set that is not closed (ISA with
no IEA, GS with no GE, ST with no SE: a file cut in transfer) refuses the file and stores nothing.
Each file is read once: the hash is taken of the bytes as they are parsed.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.codes.denials import default_payment_adjustments, is_denial
from mohsedi.errors import X12Error
from mohsedi.guide import read_units
from mohsedi.remits.balance import BalanceFinding, balance, payment_key, trace_key
from mohsedi.remits.model import Adjustment, Remittance
from mohsedi.remits.reader import iter_remit_sets
from mohsedi.store import models as m
from mohsedi.store.db import RowWriter, describe_db_error, insert_returning_ids, text_for_store, write_transaction
from mohsedi.store.limits import StoreFinding, fit_remittance
from mohsedi.store.link import link_claim_payments
from mohsedi.x12.envelope import Envelope, TransactionSet
from mohsedi.x12.segments import READ_CHUNK, iter_segments, read_chunks

REM, CP, PLB = m.Remittance.__table__, m.ClaimPayment.__table__, m.ProviderAdjustment.__table__
SP, ADJ, RK = m.ServicePayment.__table__, m.Adjustment.__table__, m.Remark.__table__


@dataclass
class IngestReport:
    path: str
    kind: str = "835"
    status: str = "stored"  # stored, already_stored (nothing new), refused (nothing stored)
    remittances: int = 0  # newly stored
    already: int = 0  # remittances found already stored (ERA004)
    claim_payments: int = 0
    service_payments: int = 0
    denials: int = 0
    acknowledgments: int = 0  # 999/277CA transaction sets newly stored
    acknowledged: int = 0  # 999: transaction sets acknowledged; 277CA: claims acknowledged
    rejected: int = 0  # of those, rejected
    segments: int = 0
    findings: list[BalanceFinding | StoreFinding] = field(default_factory=list)
    error: X12Error | None = None  # the file was refused
    quarantined: list[X12Error] = field(default_factory=list)  # sets or claim payments left out

    @property
    def already_stored(self) -> bool:
        return self.status == "already_stored"


class _RefusedError(Exception):
    def __init__(self, error: X12Error) -> None:
        self.error = error


def expand_inputs(paths: Sequence[str]) -> list[str]:
    """A directory argument means the files in it (not hidden, sorted, not recursive)."""
    out: list[str] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            out += sorted(str(c) for c in p.iterdir() if not c.name.startswith(".") and not c.is_dir())
        else:
            out.append(path)
    return out


def ingest_paths(
    engine: Engine,
    paths: Sequence[str],
    *,
    progress: Callable[[str], None] | None = None,
    payment_adjustments: frozenset[str] | None = None,
) -> list[IngestReport]:
    from mohsedi.store.acks import ingest_ack_file

    reports = []
    for path in expand_inputs(paths):
        if sniff_kind(path) in ("999", "277CA"):
            reports.append(ingest_ack_file(engine, path))
        else:
            reports.append(ingest_file(engine, path, payment_adjustments=payment_adjustments))
        if progress:
            progress(path)
    return reports


def sniff_kind(path: str) -> str | None:
    """The kind of the file's first transaction set, by ST01 and GS08 (ST03): "835", "999",
    "277CA", or None when it cannot be told (the 835 reader then says what is wrong)."""
    from mohsedi.acks.reader import KINDS

    if _refuse_special(path) is not None:
        return None  # a FIFO would block here: ingest_file refuses it with its reason
    try:
        gs08 = ""
        for n, seg in enumerate(iter_segments(read_chunks(path), source=path)):
            if seg.id == "GS":
                gs08 = seg.element(8)
            elif seg.id == "ST":
                st01, version = seg.element(1), seg.element(3) or gs08
                return "835" if st01 == "835" else KINDS.get((st01, version))
            if n > 20:
                return None
    except (X12Error, OSError, UnicodeError):
        return None
    return None


class _ReadOnce:
    """A file's text in chunks, hashing the bytes as they are parsed (one read per file)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.digest = hashlib.sha256()
        self.size = 0

    def chunks(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
        with open(self.path, "rb") as fh:
            while raw := fh.read(READ_CHUNK):
                self.digest.update(raw)
                self.size += len(raw)
                if text := decoder.decode(raw):
                    yield text
            if tail := decoder.decode(b"", final=True):
                yield tail


def _refuse_special(path: str) -> X12Error | None:
    """Only regular files: a FIFO would block, a device never ends."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        return X12Error(f"cannot read the file: {exc.strerror or exc}", source=path)
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file"
        )
        return X12Error(f"refused: {kind}, not a file (give 835 files or a directory of them)", source=path)
    return None


class _Envelopes:
    """Tracks ISA/GS/ST so that a file cut short is refused, naming what is missing."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.isa = None
        self.gs = None
        self.isa13 = None
        self.gs06: list[str] = []

    def _cut(self, what: str, seg) -> _RefusedError:
        return _RefusedError(
            X12Error(
                f"{what}: the file is incomplete (cut in transfer?); nothing was stored",
                source=self.path,
                segment=seg.number if seg is not None else None,
                segment_id=seg.id if seg is not None else None,
            )
        )

    def envelope(self, seg) -> None:
        sid = seg.id
        if sid == "ISA":
            self.close(seg)
            self.isa, self.isa13 = seg, self.isa13 or seg.element(13)
        elif sid == "GS":
            if self.gs is not None:
                raise self._cut(f"group {self.gs.element(6) or '?'} has no GE before the next GS", seg)
            self.gs = seg
            self.gs06.append(seg.element(6))
        elif sid == "GE":
            self.gs = None
        elif sid == "IEA":
            if self.gs is not None:
                raise self._cut(f"group {self.gs.element(6) or '?'} has no GE before IEA", seg)
            self.isa = None

    def transaction(self, ts: TransactionSet) -> None:
        first, last = ts.segments[0], ts.segments[-1]
        if first.id == "ST" and last.id != "SE":
            raise self._cut(f"transaction set {first.element(2) or '?'} has no SE", first)

    def close(self, seg=None) -> None:
        """At the next ISA or the end of the file: everything opened must be closed."""
        if self.gs is not None:
            raise self._cut(f"group {self.gs.element(6) or '?'} has no GE", self.gs)
        if self.isa is not None:
            raise self._cut(f"interchange {self.isa.element(13) or '?'} has no IEA", self.isa)
        if seg is None and self.isa13 is None:
            raise _RefusedError(X12Error("no ISA: not an X12 interchange", source=self.path))


def insert_pending_file(conn: Connection, kind: str, path: str) -> tuple[str, int]:
    """The stored-file row of a file being ingested, under a placeholder hash until the whole file
    has been read (its hash is of the bytes as parsed); returns the placeholder and the row id."""
    pending_sha = f"pending-{uuid.uuid4().hex}"
    row = {
        "kind": kind,
        "name": path[-500:],
        "sha256": pending_sha,
        "size": 0,
        "interchange_control": None,
        "group_controls": None,
        "command": "ingest",
        "stored_at": datetime.now().replace(microsecond=0),
    }
    return pending_sha, insert_returning_ids(conn, m.StoredFile.__table__, [row])[0]


def ingest_file(
    engine: Engine, path: str, *, payment_adjustments: frozenset[str] | None = None, retried: bool = False
) -> IngestReport:
    """Read and store one 835 file in one database transaction: all of it or nothing.

    The file streams one transaction set at a time: memory stays bounded, and a file that
    fails part-way (or turns out cut short at its end) leaves no rows.
    """
    report = IngestReport(path)
    refused = _refuse_special(path)
    if refused is not None:
        report.status, report.error = "refused", refused
        return report
    payment = payment_adjustments if payment_adjustments is not None else default_payment_adjustments()
    source = _ReadOnce(path)
    envelopes = _Envelopes(path)
    try:
        with write_transaction(engine) as conn:
            transaction = conn.get_transaction()
            assert transaction is not None  # inside engine.begin()
            pending_sha, file_id = insert_pending_file(conn, "835", path)
            with RowWriter(conn) as rows:
                claim_payment_ids, remittance_ids = _store_sets(rows, file_id, path, source, envelopes, report, payment)
                rows.flush()
                if problems := rows.verify(m.CHECKED_PER_FILE):
                    raise _RefusedError(
                        X12Error(
                            "the store's check of this file's rows found "
                            + "; ".join(problems)
                            + ": nothing was stored (a mohsedi bug: please report it)",
                            source=path,
                        )
                    )
            sha = source.digest.hexdigest()
            same_bytes = conn.execute(
                sa.select(m.StoredFile.id).where(m.StoredFile.kind == "835", m.StoredFile.sha256 == sha)
            ).first()
            if not remittance_ids or same_bytes:
                transaction.rollback()
                if report.already or same_bytes:
                    report.status = "already_stored"
                    report.remittances = report.claim_payments = report.service_payments = report.denials = 0
                    report.findings = [f for f in report.findings if f.rule == "ERA004"]
                elif report.quarantined:
                    report.status = "refused"
                    report.error = X12Error("no transaction set could be read; nothing was stored", source=path)
                else:
                    report.status = "refused"
                    report.error = X12Error("no 835 transaction set in the file; nothing was stored", source=path)
                return report
            conn.execute(
                sa.update(m.StoredFile.__table__)
                .where(m.StoredFile.__table__.c.id == file_id)
                .values(
                    sha256=sha,
                    size=source.size,
                    interchange_control=text_for_store(envelopes.isa13) if envelopes.isa13 else None,
                    group_controls=text_for_store(",".join(envelopes.gs06))[:200],
                )
            )
            conn.execute(sa.update(REM).where(REM.c.file_id == file_id).values(file_sha256=sha))
            _link_recoupments(conn, remittance_ids)
            link_claim_payments(conn, claim_payment_ids)
    except _RefusedError as refusal:
        return IngestReport(path, status="refused", error=refusal.error, segments=report.segments)
    except X12Error as exc:  # unreadable from the start or at a later ISA: nothing is kept
        return IngestReport(path, status="refused", error=exc.located(path))
    except sa.exc.IntegrityError as exc:
        if not retried:  # another ingest stored the same payment meanwhile: read again, it is already stored
            return ingest_file(engine, path, payment_adjustments=payment_adjustments, retried=True)
        return store_refusal(path, exc)
    except sa.exc.SQLAlchemyError as exc:  # e.g. the store locked past every retry: this file only
        return store_refusal(path, exc)
    except OSError as exc:
        return IngestReport(
            path, status="refused", error=X12Error(f"cannot read the file: {exc.strerror or exc}", source=path)
        )
    return report


def _store_sets(
    rows: RowWriter,
    file_id: int,
    path: str,
    source: _ReadOnce,
    envelopes: _Envelopes,
    report: IngestReport,
    payment: frozenset[str],
) -> tuple[list[int], list[int]]:
    """Read the file's transaction sets and store each payment not stored before; returns the
    stored claim payments' and remittances' ids. Reads of what is stored go to ``rows.lookup``:
    only rows committed by other files can match (a file's own sets differ in their keys by
    their ordinal), so they need not wait for this file's rows to be sent."""
    claim_payment_ids: list[int] = []
    remittance_ids: list[int] = []
    ordinals: Counter[tuple] = Counter()
    for unit in iter_remit_sets(read_units(source.chunks(), source=path)):
        if isinstance(unit, Envelope):
            report.segments += 1
            envelopes.envelope(unit.segment)
            continue
        envelopes.transaction(unit.transaction)
        report.segments += len(unit.transaction.segments)
        if unit.error is not None:
            report.quarantined.append(unit.error.located(path))
            continue
        r = unit.remittance
        if r is None:
            continue
        for pcn, _, problem in r.dropped:
            report.quarantined.append(
                X12Error(
                    f"claim payment {pcn} left out: {problem.message}",
                    source=path,
                    segment=problem.segment,
                    offset=problem.offset,
                    segment_id=problem.segment_id,
                )
            )
        identity = (*trace_key(r), r.amount, r.credit_debit, r.payment_date)
        ordinals[identity] += 1
        key = payment_key(r, ordinals[identity])
        stored, legacy, other = _stored_as(rows.lookup, r, key, file_id)
        if stored or ordinals[identity] <= legacy:
            report.already += 1
            report.findings.append(
                BalanceFinding(
                    "ERA004",
                    None,
                    None,
                    f"payment {r.trace_number or '?'} from {r.payer_name or r.payer_id or '?'} "
                    f"({_money(r.amount)}, {r.payment_date or 'no date'}) was already stored from "
                    "another file: nothing new stored",
                )
            )
            continue
        findings: list[BalanceFinding | StoreFinding] = list(balance(r))
        if other is not None:
            findings.append(
                BalanceFinding(
                    "ERA005",
                    None,
                    None,
                    f"trace {r.trace_number} from {r.payer_id} was stored before with "
                    f"{_money(other.amount)} on {other.payment_date or 'no date'}; this one "
                    f"({_money(r.amount)}, {r.payment_date or 'no date'}) is stored as another payment",
                )
            )
        fitted, too_long = fit_remittance(r)  # balanced as sent; stored without what cannot be kept
        if fitted is None:
            report.findings += too_long
            continue
        findings += too_long
        rid, cp_ids = _store_remittance(rows, file_id, key, fitted, report, payment)
        rows.insert(
            m.RemitFinding.__table__,
            [
                {
                    "remittance_id": rid,
                    "rule": f.rule,
                    "severity": f.severity,
                    "claim": f.claim[:38] if f.claim else None,  # an over-long CLP01 is the finding
                    "line_id": f.line_id[:50] if f.line_id else None,
                    "message": f.message,
                }
                for f in findings
            ],
        )
        report.findings += findings
        claim_payment_ids += cp_ids
        remittance_ids.append(rid)
    envelopes.close()
    return claim_payment_ids, remittance_ids


def store_refusal(path: str, exc: sa.exc.SQLAlchemyError) -> IngestReport:
    """A database error refuses this one file (the batch goes on) in one line that never shows
    the SQL or its values (account numbers)."""
    problem = f"the store refused the file, nothing of it was stored: {describe_db_error(exc)}"
    return IngestReport(path, status="refused", error=X12Error(problem, source=path))


def _stored_as(conn: Connection, r: Remittance, key: str, file_id: int) -> tuple[bool, int, Any]:
    """What is stored already about this payment, in one round trip: whether its key is; how
    many rows stored before migration 0003 match it (they have no payment key nor TRN03, and
    match by payer, TRN02, amount and date, so upgrading and re-reading old files counts
    nothing twice: a payment whose ordinal is within that count is stored); and the amount and
    date of the first payment stored from another file under the same payer and trace (ERA005),
    or None."""
    same_trace = sa.select(REM.c.id).where(
        REM.c.payer_id == text_for_store(r.payer_id),
        REM.c.trace_number == text_for_store(r.trace_number),
        REM.c.trace_payer_id == text_for_store(r.trace_payer_id),
        REM.c.file_id != file_id,
    )
    first = same_trace.order_by(REM.c.id).limit(1).scalar_subquery()
    legacy = sa.select(sa.func.count(REM.c.id)).where(
        REM.c.payment_key.like("legacy:%"),
        REM.c.payer_id == text_for_store(r.payer_id),
        REM.c.trace_number == text_for_store(r.trace_number),
        REM.c.amount.is_(None) if r.amount is None else REM.c.amount == r.amount,
        REM.c.payment_date.is_(None) if r.payment_date is None else REM.c.payment_date == r.payment_date,
    )
    row = conn.execute(
        sa.select(
            sa.exists().where(REM.c.payment_key == key).label("stored"),
            legacy.scalar_subquery().label("legacy"),
            sa.select(REM.c.amount).where(REM.c.id == first).scalar_subquery().label("amount"),
            sa.select(REM.c.payment_date).where(REM.c.id == first).scalar_subquery().label("payment_date"),
            first.label("other"),
        )
    ).one()
    return bool(row.stored), row.legacy or 0, row if row.other is not None else None


def _money(value: Decimal | None) -> str:
    return str((value or Decimal("0")).quantize(Decimal("0.01")))


def _store_remittance(
    rows: RowWriter, file_id: int, key: str, r: Remittance, report: IngestReport, payment: frozenset[str]
) -> tuple[int, list[int]]:
    # Every key the payment's rows need, drawn at once (one round trip on PostgreSQL).
    ids = rows.draw(
        {
            REM: 1,
            CP: len(r.claims),
            SP: sum(len(c.services) for c in r.claims),
            ADJ: sum(len(c.adjustments) + sum(len(s.adjustments) for s in c.services) for c in r.claims),
            RK: sum(len(c.remarks) + sum(len(s.remarks) for s in c.services) for c in r.claims),
        }
    )
    [remittance_id] = ids[REM]
    rows.insert(
        REM,
        [
            {
                "id": remittance_id,
                "file_id": file_id,
                "file_sha256": "",
                "payer_id": r.payer_id,
                "payer_name": r.payer_name[:60],
                "payee_npi": r.payee_npi or None,
                "payee_id": r.payee_id or None,
                "trace_number": r.trace_number,
                "trace_payer_id": r.trace_payer_id or None,
                "payment_key": key,
                "amount": r.amount,
                "credit_debit": r.credit_debit[:1],
                "method": r.method[:3],
                "payment_date": r.payment_date,
                "complete": r.complete,
            }
        ],
    )
    report.remittances += 1
    cp_ids = ids[CP]
    rows.insert(
        CP,
        [
            {
                "id": cp_id,
                "remittance_id": remittance_id,
                "patient_control_number": c.patient_control_number,
                "status": c.status,
                "is_reversal": c.is_reversal,
                "charge": c.charge,
                "paid": c.paid,
                "patient_responsibility": c.patient_responsibility,
                "payer_claim_control_number": c.payer_claim_control_number,
                "date_from": c.date_from or min((s.date_from for s in c.services if s.date_from), default=None),
                "claim_id": None,
            }
            for cp_id, c in zip(cp_ids, r.claims, strict=True)
        ],
    )
    report.claim_payments += len(cp_ids)
    sp_ids = iter(ids[SP])
    sp_rows, sp_owner = [], []
    for cp_id, c in zip(cp_ids, r.claims, strict=True):
        for s in c.services:
            sp_id = next(sp_ids)
            sp_owner.append((sp_id, cp_id, s))
            changed = s.original_procedure is not None
            sp_rows.append(
                {
                    "id": sp_id,
                    "claim_payment_id": cp_id,
                    # Linked on the billed code (SVC06), the adjudicated one kept beside it.
                    "procedure": s.billed_procedure,
                    "modifiers": ",".join(s.billed_modifiers),
                    "adjudicated_procedure": s.procedure if changed else None,
                    "adjudicated_modifiers": ",".join(s.modifiers) if changed else None,
                    "charge": s.charge,
                    "paid": s.paid,
                    "units": s.units,
                    "date_from": s.date_from,
                    "line_id": s.line_id,
                    "service_line_id": None,
                }
            )
    rows.insert(SP, sp_rows)
    report.service_payments += len(sp_rows)
    adjustments, remarks = [], []
    for cp_id, c in zip(cp_ids, r.claims, strict=True):
        for a in c.adjustments:
            adjustments.append(_adjustment(cp_id, None, a, payment))
        for code in c.remarks:
            remarks.append({"claim_payment_id": cp_id, "service_payment_id": None, "source": "MOA", "code": code})
    for sp_id, cp_id, s in sp_owner:
        for a in s.adjustments:
            adjustments.append(_adjustment(cp_id, sp_id, a, payment))
        for code in s.remarks:
            remarks.append({"claim_payment_id": cp_id, "service_payment_id": sp_id, "source": "LQ", "code": code})
    # Keys drawn for these too: the check before commit finds the file's rows by them.
    for table, children in ((ADJ, adjustments), (RK, remarks)):
        rows.insert(table, [{"id": i, **row} for i, row in zip(ids[table], children, strict=True)])
    rows.insert(
        PLB,
        [
            {
                "remittance_id": remittance_id,
                "provider_id": p.provider_id[:50],
                "fiscal_date": p.fiscal_date,
                "reason": p.reason[:2],
                "reference": p.reference[:50],
                "amount": p.amount,
                "claim_payment_id": None,
            }
            for p in r.provider_adjustments
        ],
    )
    # A reversal's adjustments carry negative amounts: counted here they would inflate the
    # file's denials; the report nets them against what they reverse.
    report.denials += sum(1 for a in adjustments if a["is_denial"] and a["amount"] > 0)
    return remittance_id, cp_ids


def _adjustment(cp_id: int, sp_id: int | None, a: Adjustment, payment: frozenset[str]) -> dict:
    return {
        "claim_payment_id": cp_id,
        "service_payment_id": sp_id,
        "level": a.level,
        "group_code": a.group,
        "carc": a.carc,
        "amount": a.amount,
        "quantity": a.quantity,
        "is_denial": is_denial(a.group, a.carc, payment),
        "rule": None,
        "basis": None,
        "fixed": None,
        "linked_at": None,
    }


def _link_recoupments(conn: Connection, remittance_ids: list[int]) -> None:
    """A WO (overpayment recovery) PLB names the claim it takes money back from: its payer claim
    control number (CLP07), else the patient control number (CLP01). Link it to that claim
    payment from the same payer, the latest one that is not a reversal."""
    wo = conn.execute(
        sa.select(PLB.c.id, PLB.c.reference, REM.c.payer_id)
        .join(REM, REM.c.id == PLB.c.remittance_id)
        .where(PLB.c.remittance_id.in_(remittance_ids), PLB.c.reason == "WO", PLB.c.reference != "")
    ).all()
    updates = []
    for plb_id, reference, payer_id in wo:
        base = (
            sa.select(sa.func.max(CP.c.id))
            .join(REM, REM.c.id == CP.c.remittance_id)
            .where(REM.c.payer_id == payer_id, CP.c.is_reversal.is_(False))
        )
        found = conn.execute(base.where(CP.c.payer_claim_control_number == reference)).scalar()
        if found is None:
            found = conn.execute(base.where(CP.c.patient_control_number == reference)).scalar()
        if found is not None:
            updates.append({"plb": plb_id, "cp": found})
    if updates:
        conn.execute(
            sa.update(PLB).where(PLB.c.id == sa.bindparam("plb")).values(claim_payment_id=sa.bindparam("cp")), updates
        )
