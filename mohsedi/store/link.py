"""Linking remittances to what was sent, and each denial to the rule that explains it.

- A claim payment (CLP) links to the current stored claim with its CLP01.
- A service payment (SVC) links to a stored line by REF*6R, else by CLP01 plus procedure,
  modifiers and date of service.
- A denial (mohsedi.codes.denials: CO/OA/PI and not a payment adjustment) gets a rule and a basis:
  ``fired`` when that rule reported the line when it was checked (``fixed`` tells whether
  the fix was applied and it was denied all the same), ``predicted`` when the rule, run now
  on the stored claim, predicts this group, CARC and one of its RARCs, else ``unexplained``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from mohsedi.claims.reader import ClaimSet
from mohsedi.rules.base import Rule, Scope
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import Document, check_documents
from mohsedi.rules.registry import all_rules
from mohsedi.store import models as m
from mohsedi.store.db import in_chunks, in_list, write_transaction
from mohsedi.store.facts import rebuild_claims
from mohsedi.x12.envelope import Envelope, TransactionSet

C, SL, F = m.Claim.__table__, m.ServiceLine.__table__, m.StoredFinding.__table__
CP, SP, A, R = (
    m.ClaimPayment.__table__,
    m.ServicePayment.__table__,
    m.Adjustment.__table__,
    m.Remark.__table__,
)


def link_pending(engine: Engine, *, file_id: int | None = None) -> int:
    """Link what is not linked yet: for the CLM01s of a stored 837P file, or all when None;
    returns denials (re)explained."""
    with write_transaction(engine) as conn:
        query = sa.select(CP.c.id).where(
            sa.or_(
                CP.c.claim_id.is_(None),
                CP.c.id.in_(
                    sa.select(A.c.claim_payment_id).where(
                        A.c.is_denial.is_(True), sa.or_(A.c.basis.is_(None), A.c.basis == "unexplained")
                    )
                ),
            )
        )
        if file_id is not None:
            query = query.where(CP.c.patient_control_number.in_(clm01s_of(file_id)))
        return link_claim_payments(conn, [row[0] for row in conn.execute(query)])


def clm01s_of(file_id: int) -> sa.Select:
    """The CLM01s of a stored 837P file, as a subquery (a file's claims are never all in memory)."""
    claim = m.Claim.__table__
    return sa.select(claim.c.patient_control_number).where(claim.c.file_id == file_id)


def link_claim_payments(conn: Connection, claim_payment_ids: list[int]) -> int:
    if not claim_payment_ids:
        return 0
    payments: list[Any] = []
    for chunk in in_chunks(conn, claim_payment_ids):
        payments += conn.execute(
            sa.select(CP.c.id, CP.c.patient_control_number, CP.c.claim_id, m.Remittance.__table__.c.payee_npi)
            .join(m.Remittance.__table__, m.Remittance.__table__.c.id == CP.c.remittance_id)
            .where(in_list(conn, CP.c.id, chunk))
        ).all()
    claim_for = _match_claims(conn, payments)
    updates = [
        {"cp": cp_id, "claim": claim_for[cp_id]} for cp_id, _, old, _ in payments if claim_for.get(cp_id) and not old
    ]
    if updates:
        conn.execute(sa.update(CP).where(CP.c.id == sa.bindparam("cp")).values(claim_id=sa.bindparam("claim")), updates)
    linked = {cp_id: claim_for.get(cp_id) or old for cp_id, _, old, _ in payments}
    _link_lines(conn, linked)
    return _explain_denials(conn, linked)


def _match_claims(conn: Connection, payments: list) -> dict[int, int]:
    """CLP01 -> the current claim; with several, the one billed by the remit's payee NPI, else the newest."""
    pcns = sorted({p[1] for p in payments})
    current: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for chunk in in_chunks(conn, pcns):
        for claim_id, pcn, npi in conn.execute(
            sa.select(C.c.id, C.c.patient_control_number, C.c.billing_npi).where(
                in_list(conn, C.c.patient_control_number, chunk), C.c.superseded_by_id.is_(None)
            )
        ):
            current[pcn].append((claim_id, npi))
    out = {}
    for cp_id, pcn, _, payee_npi in payments:
        candidates = current.get(pcn, [])
        if not candidates:
            continue
        same_npi = [c for c in candidates if c[1] == payee_npi]
        out[cp_id] = max(same_npi or candidates)[0]
    return out


def _link_lines(conn: Connection, linked: dict[int, int | None]) -> None:
    claim_ids = sorted({c for c in linked.values() if c})
    if not claim_ids:
        return
    lines_by_claim: dict[int, list] = defaultdict(list)
    for chunk in in_chunks(conn, claim_ids):
        for row in conn.execute(
            sa.select(SL.c.id, SL.c.claim_id, SL.c.line_id, SL.c.procedure, SL.c.modifiers, SL.c.date_from)
            .where(in_list(conn, SL.c.claim_id, chunk))
            .order_by(SL.c.id)
        ):
            lines_by_claim[row.claim_id].append(row)
    pending: list[Any] = []
    for chunk in in_chunks(conn, sorted(linked)):
        pending += conn.execute(
            sa.select(SP.c.id, SP.c.claim_payment_id, SP.c.line_id, SP.c.procedure, SP.c.modifiers, SP.c.date_from)
            .where(in_list(conn, SP.c.claim_payment_id, chunk), SP.c.service_line_id.is_(None))
            .order_by(SP.c.id)
        ).all()
    updates = []
    used: set[int] = set()
    for sp in pending:
        claim_id = linked.get(sp.claim_payment_id)
        if not claim_id:
            continue
        lines = lines_by_claim.get(claim_id, [])
        match = next((ln for ln in lines if sp.line_id and ln.line_id == sp.line_id), None)
        if match is None:
            match = next(
                (
                    ln
                    for ln in lines
                    if ln.id not in used
                    and ln.procedure == sp.procedure
                    and ln.modifiers == sp.modifiers
                    and (sp.date_from is None or ln.date_from == sp.date_from)
                ),
                None,
            )
        if match is not None:
            used.add(match.id)
            updates.append({"sp": sp.id, "line": match.id})
    if updates:
        conn.execute(
            sa.update(SP).where(SP.c.id == sa.bindparam("sp")).values(service_line_id=sa.bindparam("line")), updates
        )


def _explain_denials(conn: Connection, linked: dict[int, int | None]) -> int:
    denials: list[Any] = []
    for chunk in in_chunks(conn, sorted(linked)):
        denials += conn.execute(
            sa.select(
                A.c.id,
                A.c.claim_payment_id,
                A.c.service_payment_id,
                A.c.group_code,
                A.c.carc,
                SP.c.service_line_id,
            )
            .select_from(A.outerjoin(SP, SP.c.id == A.c.service_payment_id))
            .where(
                in_list(conn, A.c.claim_payment_id, chunk),
                A.c.is_denial.is_(True),
                sa.or_(A.c.basis.is_(None), A.c.basis == "unexplained"),
            )
        ).all()
    if not denials:
        return 0
    remarks = _remarks(conn, sorted({d.claim_payment_id for d in denials}))
    claim_ids = sorted({c for d in denials if (c := linked.get(d.claim_payment_id))})
    lines = _lines(conn, claim_ids)
    stored = _stored_findings(conn, claim_ids)
    predicted = predict(conn, claim_ids)
    rules = {r.code: r for r in all_rules()}
    now = datetime.now().replace(microsecond=0)
    updates: dict[tuple, list[int]] = defaultdict(list)
    for d in denials:
        claim_id = linked.get(d.claim_payment_id)
        codes = remarks.get((d.claim_payment_id, d.service_payment_id), set()) | remarks.get(
            (d.claim_payment_id, None), set()
        )
        rule = basis = None
        fixed = None
        if claim_id:
            line = lines.get(d.service_line_id) if d.service_line_id else None
            for f in _on_target(stored.get(claim_id, []), line, d.service_payment_id is None):
                r = rules.get(f["rule"])
                if r is not None and _predicts(r, d.group_code, d.carc, codes, need_rarc=False):
                    rule, basis, fixed = f["rule"], "fired", f["fixed"]
                    break
            if basis is None:
                for f in _on_target(predicted.get(claim_id, []), line, d.service_payment_id is None):
                    r = rules.get(f["rule"])
                    if r is not None and _predicts(r, d.group_code, d.carc, codes, need_rarc=True):
                        rule, basis = f["rule"], "predicted"
                        break
        updates[(rule, basis or "unexplained", fixed, now if claim_id else None)].append(d.id)
    # One statement per outcome, not per denial: most share one (a file of remits whose
    # claims are not stored yet is all "unexplained").
    for (rule, basis, fixed, linked_at), ids in updates.items():
        for chunk in in_chunks(conn, ids):
            conn.execute(
                sa.update(A)
                .where(in_list(conn, A.c.id, chunk))
                .values(rule=rule, basis=basis, fixed=fixed, linked_at=linked_at)
            )
    return len(denials)


def _predicts(rule: Rule, group: str, carc: str, rarcs: set[str], *, need_rarc: bool) -> bool:
    for p in rule.predicts:
        if p.group == group and carc in p.carcs and (not need_rarc or not p.rarcs or set(p.rarcs) & rarcs):
            return True
    return False


def _on_target(findings: list[dict], line, claim_level: bool) -> list[dict]:
    """Findings that can explain a denial, nearest first: on the denied line (by REF*6R, else
    LX); on another line of the same code (a per-date MUE is reported on the line that crossed
    the limit, the payer denies every line past it); the claim's own (a missing CLIA number
    denies every line). For a claim-level denial, any of the claim's findings."""
    claim_wide = [f for f in findings if f["line_number"] is None]
    if claim_level or line is None:
        return claim_wide + [f for f in findings if f["line_number"] is not None]
    same_line, same_code = [], []
    for f in findings:
        if f["line_number"] is None:
            continue
        by_id = bool(line.line_id and f["line_id"])
        if (f["line_id"] == line.line_id) if by_id else (f["line_number"] == line.line_number):
            same_line.append(f)
        elif f.get("procedure") == line.procedure:
            same_code.append(f)
    return same_line + same_code + claim_wide


def _remarks(conn: Connection, claim_payment_ids: list[int]) -> dict[tuple[int, int | None], set[str]]:
    out: dict[tuple[int, int | None], set[str]] = defaultdict(set)
    for chunk in in_chunks(conn, claim_payment_ids):
        for cp_id, sp_id, code in conn.execute(
            sa.select(R.c.claim_payment_id, R.c.service_payment_id, R.c.code).where(
                in_list(conn, R.c.claim_payment_id, chunk)
            )
        ):
            out[(cp_id, sp_id)].add(code)
    return out


def _lines(conn: Connection, claim_ids: list[int]) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for chunk in in_chunks(conn, claim_ids):
        for row in conn.execute(
            sa.select(SL.c.id, SL.c.line_id, SL.c.line_number, SL.c.procedure).where(
                in_list(conn, SL.c.claim_id, chunk)
            )
        ):
            out[row.id] = row
    return out


def _stored_findings(conn: Connection, claim_ids: list[int]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = defaultdict(list)
    for chunk in in_chunks(conn, claim_ids):
        for row in conn.execute(
            sa.select(F.c.claim_id, F.c.rule, F.c.line_number, F.c.line_id, F.c.procedure, F.c.fixed).where(
                in_list(conn, F.c.claim_id, chunk)
            )
        ):
            out[row.claim_id].append(
                {
                    "rule": row.rule,
                    "line_number": row.line_number,
                    "line_id": row.line_id,
                    "procedure": row.procedure,
                    "fixed": row.fixed,
                }
            )
    return out


# ---------------------------------------------------------------- running rules on stored claims


def predict(conn: Connection, claim_ids: list[int], options: RuleOptions | None = None) -> dict[int, list[dict]]:
    """Today's rules run on the stored claims, rebuilt from their rows (mohsedi.store.facts):
    {claim id: [{rule, line_number, line_id, procedure, severity, message, fix, facts}]}.
    ``facts`` is "incomplete" for a claim recorded before every fact was kept (a rule needing
    what it lacks did not predict), else "complete". Envelope rules need the file: not run."""
    if not claim_ids:
        return {}
    stored = rebuild_claims(conn, claim_ids)
    ids = list(stored.claims)
    # One claim per set: a finding's set says which stored claim it is on, whatever its CLM01.
    units: list[Envelope | ClaimSet] = [ClaimSet(TransactionSet([], None, None), [stored.claims[i]]) for i in ids]
    rules = [r for r in all_rules() if r.scope is not Scope.ENVELOPE]
    wanted = set(claim_ids)
    out: dict[int, list[dict]] = defaultdict(list)
    for loc in check_documents([Document("stored-claims", units)], rules, options or RuleOptions()):
        if loc.unit is None:
            continue
        claim_id = ids[loc.unit]
        if claim_id not in wanted:
            continue
        f = loc.finding
        claim = stored.claims[claim_id]
        procedure = next((ln.procedure for ln in claim.lines if f.line is not None and ln.number == f.line), None)
        out[claim_id].append(
            {
                "rule": f.rule,
                "line_number": f.line,
                "line_id": f.line_id,
                "procedure": procedure,
                "severity": f.severity.value,
                "message": f.message,
                "fix": f.fix_safety.value,
                "facts": "incomplete" if claim_id in stored.incomplete else "complete",
            }
        )
    return out
