"""Claims out: what `check` and `fix` saw, stored so that remittances can be linked to them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.errors import X12Error
from mohsedi.files import sha256_file
from mohsedi.rules.base import Finding
from mohsedi.rules.engine import Applied
from mohsedi.store import models as m
from mohsedi.store.acks import link_pending_acks
from mohsedi.store.db import bulk_insert, insert_returning_ids, text_for_store, write_transaction
from mohsedi.store.limits import StoreFinding, fit_claims, line_clia
from mohsedi.store.link import link_pending
from mohsedi.store.privacy import SecretError, fingerprint, installation_secret, keyed_hash
from mohsedi.x12.envelope import Envelope


@dataclass
class RecordedFile:
    path: str
    claims: int
    already_stored: bool
    quarantined: list[X12Error] = field(default_factory=list)  # transaction sets that could not be read
    findings: list[StoreFinding] = field(default_factory=list)  # claims that could not be stored (STORE001)


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def record_file(
    engine: Engine,
    path: str,
    source: str,
    findings: Sequence[Finding],
    applied: Sequence[Applied],
    command: str,
    *,
    name: str | None = None,
) -> RecordedFile:
    """Store an 837P file as written, read one transaction set at a time, so memory holds one set
    and not the file (``fix`` records every file it writes, of any size). ``source`` is the name
    its findings and fixes carry (the input's). A file that cannot be read, or is cut short,
    raises X12Error and stores nothing; a transaction set that cannot be read is left out and
    listed. ``name`` is the name stored for the file when it is not ``source`` (standard input,
    read through a temporary file, is stored as "-")."""
    from mohsedi.claims.reader import iter_claim_sets
    from mohsedi.guide import read_units
    from mohsedi.x12.segments import read_chunks

    sha, size = sha256_file(path)
    units = iter_claim_sets(read_units(read_chunks(path), source=source))
    mine = [f for f in findings if (f.source or "") == source]
    fixed_keys = {(a.source, a.rule, a.claim, a.line) for a in applied}
    secret = store_secret(engine)
    try:
        return _record_units(engine, source, sha, size, units, mine, fixed_keys, command, secret, name or source)
    except sa.exc.IntegrityError:
        # Another process stored the same file between our look and our insert (PostgreSQL; on
        # SQLite the write lock taken up front makes the look final).
        with engine.connect() as conn:
            if not conn.execute(
                sa.select(m.StoredFile.id).where(m.StoredFile.kind == "837P", m.StoredFile.sha256 == sha)
            ).first():
                raise
        return RecordedFile(source, 0, True)


def _record_units(
    engine: Engine,
    source: str,
    sha: str,
    size: int,
    units: Iterable[object],
    findings: list[Finding],
    fixed_keys: set[tuple],
    command: str,
    secret: bytes,
    name: str,
) -> RecordedFile:
    """One file in one transaction, its transaction sets stored as they come."""
    too_long: list[StoreFinding] = []
    with write_transaction(engine) as conn:
        exists = conn.execute(
            sa.select(m.StoredFile.id).where(m.StoredFile.kind == "837P", m.StoredFile.sha256 == sha)
        ).first()
        if exists:
            return RecordedFile(source, 0, True)
        now = _now()
        file_id = insert_returning_ids(
            conn,
            m.StoredFile.__table__,
            [
                {
                    "kind": "837P",
                    "name": name[-500:],
                    "sha256": sha,
                    "size": size,
                    "interchange_control": None,
                    "group_controls": "",
                    "command": command,
                    "stored_at": now,
                }
            ],
        )[0]
        pending: dict[str, list[Finding]] = {}
        for f in findings:
            pending.setdefault(f.claim or "", []).append(f)  # envelope findings (no claim) belong to none
        state = _FileState(file_id, now, source, fixed_keys, secret, pending)
        isa = None
        gs_controls: list[str] = []
        quarantined: list[X12Error] = []
        sent_sets: list[dict[str, Any]] = []
        last = ""
        for unit in units:
            if isinstance(unit, Envelope):
                last = unit.segment.id
                if unit.segment.id == "ISA" and isa is None:
                    isa = unit.segment
                elif unit.segment.id == "GS":
                    gs_controls.append(unit.segment.element(6))
                continue
            error = getattr(unit, "error", None)
            if error is not None:
                quarantined.append(error.located(source))
                continue
            claims = getattr(unit, "claims", None)
            if claims:
                claims, left_out = fit_claims(claims)
                too_long += left_out
            first = state.claims
            if claims:
                _record_claims(conn, state, claims)
            # The set as sent (GS06, ST02, its claims' ordinals), so a 999 naming it finds them.
            sent_sets.append(
                {
                    "file_id": file_id,
                    "group_control": text_for_store(gs_controls[-1] if gs_controls else "")[:9],
                    "set_control": text_for_store(unit.transaction.control_number)[:9],  # type: ignore[attr-defined]
                    "first_ordinal": first,
                    "claims": state.claims - first,
                }
            )
        if last != "IEA":  # raised inside the transaction: nothing of the file is kept
            raise X12Error("the file is cut short (it does not end with IEA); nothing was stored", source=source)
        conn.execute(
            sa.update(m.StoredFile.__table__)
            .where(m.StoredFile.__table__.c.id == file_id)
            .values(interchange_control=isa.element(13) if isa else None, group_controls=",".join(gs_controls)[:200])
        )
        bulk_insert(conn, m.SentSet.__table__, sent_sets)
        _supersede(conn, file_id)
    # What was waiting for these claims (by their CLM01s, read from the store: a file's claims
    # are never held in memory together).
    link_pending(engine, file_id=file_id)
    link_pending_acks(engine, file_id=file_id)
    return RecordedFile(source, state.claims, False, quarantined, too_long)


SECRET_KEY = "secret_fingerprint"


def store_secret(engine: Engine) -> bytes:
    """The installation secret, checked against the one the store's hashes were made with. The
    first recording keeps its fingerprint (a store filled before fingerprints adopts the secret
    in use then: nothing else can be known). A missing secret is not made anew for a store that
    has one: that would give every patient a second key."""
    meta = m.StoreMeta.__table__
    query = sa.select(meta.c.value).where(meta.c.key == SECRET_KEY)
    with engine.connect() as conn:
        known: str | None = conn.execute(query).scalar()
    secret = installation_secret(create=known is None)
    mine = fingerprint(secret)
    if known is None:
        try:
            with write_transaction(engine) as conn:
                known = conn.execute(query).scalar()
                if known is None:
                    conn.execute(sa.insert(meta).values(key=SECRET_KEY, value=mine))
                    known = mine
        except sa.exc.IntegrityError:  # another process recorded its fingerprint first (PostgreSQL)
            with engine.connect() as conn:
                known = conn.execute(query).scalar()
    if known != mine:
        raise SecretError(
            f"the installation secret in use (fingerprint {mine[:12]}) is not the one this store's member and "
            f"patient hashes were made with (fingerprint {(known or '')[:12]}): use that secret ($MOHSEDI_SECRET or "
            "$MOHSEDI_SECRET_FILE), or a store of its own for this secret"
        )
    return secret


@dataclass
class _FileState:
    file_id: int
    now: datetime
    source: str
    fixed_keys: set[tuple]
    secret: bytes
    pending: dict[str, list[Finding]]  # findings by claim, stored with the first claim of that CLM01
    claims: int = 0  # claims stored so far: the next one's ordinal


def _record_claims(conn: Connection, state: _FileState, claims: list) -> None:
    claim_rows: list[dict[str, Any]] = []
    for claim in claims:
        dates = claim.service_dates
        claim_rows.append(
            {
                "file_id": state.file_id,
                "ordinal": state.claims + len(claim_rows),
                "patient_control_number": claim.patient_control_number,
                "payer_id": claim.payer_id,
                "billing_npi": claim.billing_npi,
                "rendering_npi": claim.rendering_npi,
                "member_hash": keyed_hash(claim.subscriber.member_id if claim.subscriber else "", state.secret),
                "patient_key": keyed_hash(claim.patient_key, state.secret),
                "date_from": dates[0] if dates else None,
                "date_to": dates[-1] if dates else None,
                "total_charge": claim.total_charge,
                "place_of_service": claim.place_of_service[:2],
                "frequency": claim.frequency[:1],
                "diagnoses": ",".join(d.code for d in claim.diagnoses),
                "diagnosis_qualifiers": ",".join(d.qualifier for d in claim.diagnoses),
                "facility_qualifier": claim.facility_qualifier,
                "facts": m.FACTS,
                "clia_number": claim.clia_number,
                "prior_authorization": claim.prior_authorization,
                "payer_claim_control_number": claim.payer_claim_control_number,
                "superseded_by_id": None,
                "checked_at": state.now,
            }
        )
    claim_ids = insert_returning_ids(conn, m.Claim.__table__, claim_rows)
    line_rows = []
    finding_rows = []
    state.claims += len(claim_ids)
    for claim_id, claim in zip(claim_ids, claims, strict=True):
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
                    "diagnoses": ",".join(line.diagnoses)[:100],  # for people reading the table
                    "qualifier": line.qualifier,
                    "unit_basis": line.unit_basis,
                    "place_of_service": line.place_of_service,
                    "rendering_npi": line.rendering_npi,
                    "clia_number": line_clia(line),
                }
            )
        for f in state.pending.pop(claim.patient_control_number, []):
            procedure = None
            for line in claim.lines:
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
                    "fixed": (state.source, f.rule, f.claim, f.line) in state.fixed_keys,
                    "fix_description": f.fix.description[:300] if f.fix else None,
                    "message": f.message,
                    "data_release": f.data_release[:120] if f.data_release else None,
                }
            )
    bulk_insert(conn, m.ServiceLine.__table__, line_rows)
    bulk_insert(conn, m.StoredFinding.__table__, finding_rows)


def _supersede(conn: Connection, file_id: int) -> None:
    """A claim recorded again (same billing NPI and CLM01: a corrected claim) replaces the earlier
    ones of earlier files: each points to the newest of this file. Claims of one file never
    supersede each other (CLM01 is often a reused account number). One statement in the database,
    the file's newest claims grouped once: a correlated subquery per claim grew with the square
    of the file's claims on PostgreSQL."""
    table = m.Claim.__table__
    newest = (
        sa.select(table.c.billing_npi, table.c.patient_control_number, sa.func.max(table.c.id).label("id"))
        .where(table.c.file_id == file_id)
        .group_by(table.c.billing_npi, table.c.patient_control_number)
        .subquery("newest")
    )
    conn.execute(
        sa.update(table)
        .where(
            table.c.billing_npi == newest.c.billing_npi,
            table.c.patient_control_number == newest.c.patient_control_number,
            table.c.superseded_by_id.is_(None),
            table.c.file_id != file_id,
            table.c.id < newest.c.id,
        )
        .values(superseded_by_id=newest.c.id)
    )


def has_claims(engine: Engine) -> bool:
    """Whether any claim was recorded (by check, fix or record): without one, no denial can be
    linked to its line or traced to a rule."""
    with engine.connect() as conn:
        return conn.execute(sa.select(m.Claim.id).limit(1)).first() is not None
