"""Denials from the store, aggregated in SQL: each denial with its rule and basis, and by rule."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.codes.lists import title
from mohsedi.store import models as m

A, CP, SP, REM, RK = (
    m.Adjustment.__table__,
    m.ClaimPayment.__table__,
    m.ServicePayment.__table__,
    m.Remittance.__table__,
    m.Remark.__table__,
)


@dataclass(frozen=True)
class Period:
    since: date | None
    until: date | None


def denial_rows(engine: Engine, period: Period, payer: str | None = None) -> list[dict[str, Any]]:
    """One row per denied line and reason; a reversal (CLP02 = 22) nets out against what it reverses."""
    amount = sa.func.sum(A.c.amount).label("amount")
    # One expression object each, with a literal: PostgreSQL matches GROUP BY expressions by text.
    procedure = sa.func.coalesce(SP.c.procedure, sa.literal_column("''"))
    modifiers = sa.func.coalesce(SP.c.modifiers, sa.literal_column("''"))
    query = (
        sa.select(
            REM.c.payer_id,
            CP.c.patient_control_number,
            SP.c.line_id,
            procedure.label("procedure"),
            modifiers.label("modifiers"),
            A.c.group_code,
            A.c.carc,
            A.c.rule,
            A.c.basis,
            sa.func.max(sa.case((A.c.fixed.is_(True), 1), else_=0)).label("fixed"),
            amount,
            sa.func.min(A.c.service_payment_id).label("service_payment_id"),
            sa.func.min(A.c.claim_payment_id).label("claim_payment_id"),
            sa.func.min(REM.c.payment_date).label("payment_date"),
        )
        .select_from(A.join(CP, CP.c.id == A.c.claim_payment_id).join(REM, REM.c.id == CP.c.remittance_id))
        .outerjoin(SP, SP.c.id == A.c.service_payment_id)
        .where(A.c.is_denial.is_(True))
        .group_by(
            REM.c.payer_id,
            CP.c.patient_control_number,
            SP.c.line_id,
            procedure,
            modifiers,
            A.c.group_code,
            A.c.carc,
            A.c.rule,
            A.c.basis,
        )
        .having(amount != 0)
        .order_by(REM.c.payer_id, CP.c.patient_control_number, SP.c.line_id, A.c.carc)
    )
    if period.since:
        query = query.where(REM.c.payment_date >= period.since)
    if period.until:
        query = query.where(REM.c.payment_date <= period.until)
    if payer:
        query = query.where(REM.c.payer_id == payer)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        remarks = _remarks(conn, rows)
    out = []
    for r in rows:
        codes = remarks.get(("sp", r.service_payment_id), []) if r.service_payment_id else []
        codes = codes + [c for c in remarks.get(("cp", r.claim_payment_id), []) if c not in codes]
        out.append(
            {
                "payer": r.payer_id,
                "claim": r.patient_control_number,
                "line_id": r.line_id,
                "procedure": r.procedure or None,
                "modifiers": [x for x in r.modifiers.split(",") if x],
                "group": r.group_code,
                "carc": r.carc,
                "rarc": codes,
                "reason": "; ".join(
                    t for t in [title("carc", r.carc), *(title("rarc", c) for c in codes)] if t
                ),
                "amount": str(Decimal(r.amount).quantize(Decimal("0.01"))),
                "rule": r.rule,
                "basis": r.basis or "unexplained",
                "fixed": bool(r.fixed) if r.basis == "fired" else None,
                "payment_date": r.payment_date.isoformat() if r.payment_date else None,
            }
        )
    return out


def _remarks(conn, rows) -> dict[tuple[str, int], list[str]]:
    sp_ids = sorted({r.service_payment_id for r in rows if r.service_payment_id})
    cp_ids = sorted({r.claim_payment_id for r in rows})
    out: dict[tuple[str, int], list[str]] = defaultdict(list)
    for i in range(0, len(sp_ids), 500):
        for sp, code in conn.execute(
            sa.select(RK.c.service_payment_id, RK.c.code).where(RK.c.service_payment_id.in_(sp_ids[i : i + 500]))
        ):
            if code not in out[("sp", sp)]:
                out[("sp", sp)].append(code)
    for i in range(0, len(cp_ids), 500):
        for cp, code in conn.execute(
            sa.select(RK.c.claim_payment_id, RK.c.code).where(
                RK.c.claim_payment_id.in_(cp_ids[i : i + 500]), RK.c.service_payment_id.is_(None)
            )
        ):
            if code not in out[("cp", cp)]:
                out[("cp", cp)].append(code)
    return out


def denial_report(engine: Engine, period: Period, payer: str | None = None) -> dict[str, Any]:
    """The contract's JSON: the period, every denial, and denials by rule with money at stake."""
    denials = denial_rows(engine, period, payer)
    by_rule: dict[str | None, dict[str, Any]] = {}
    for d in denials:
        entry = by_rule.setdefault(d["rule"], {"rule": d["rule"], "count": 0, "amount": Decimal("0")})
        entry["count"] += 1
        entry["amount"] += Decimal(d["amount"])
    ranked = sorted(by_rule.values(), key=lambda e: (-e["amount"], e["rule"] or "~"))
    return {
        "period": {
            "since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
        },
        "denials": denials,
        "by_rule": [{**e, "amount": str(e["amount"])} for e in ranked],
    }
