"""Look-back audit: today's rules over the claims stored for a period, and the money at stake."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.codes.lists import title
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import get_rule
from mohsedi.store import models as m
from mohsedi.store.link import predict

C, SL = m.Claim.__table__, m.ServiceLine.__table__


def audit(
    engine: Engine, days: int, *, today: date | None = None, options: RuleOptions | None = None
) -> dict[str, Any]:
    """What today's rules would catch in the current claims with service in the last ``days`` days."""
    today = today or (options or RuleOptions()).current_date()  # --today / $MOHSEDI_TODAY, as the rules
    since = today - timedelta(days=days)
    with engine.connect() as conn:
        claims = {
            row.id: row
            for row in conn.execute(
                sa.select(C.c.id, C.c.patient_control_number, C.c.payer_id, C.c.total_charge).where(
                    C.c.superseded_by_id.is_(None), C.c.date_to >= since, C.c.date_from <= today
                )
            )
        }
        ids = sorted(claims)
        charges: dict[tuple[int, int | None], Decimal] = {}
        for i in range(0, len(ids), 500):
            for row in conn.execute(
                sa.select(SL.c.claim_id, SL.c.line_number, SL.c.charge).where(SL.c.claim_id.in_(ids[i : i + 500]))
            ):
                charges[(row.claim_id, row.line_number)] = Decimal(str(row.charge or 0))
        found = predict(conn, ids, options)
    by_rule: dict[str, dict[str, Any]] = defaultdict(lambda: {"claims": set(), "findings": 0, "amount": Decimal(0)})
    findings = []
    for claim_id, items in found.items():
        claim = claims[claim_id]
        counted: set[tuple[str, int | None]] = set()
        for f in items:
            entry = by_rule[f["rule"]]
            entry["claims"].add(claim_id)
            entry["findings"] += 1
            key = (f["rule"], f["line_number"])
            if key not in counted:
                counted.add(key)
                if f["line_number"] is None:
                    entry["amount"] += Decimal(str(claim.total_charge or 0))
                else:
                    entry["amount"] += charges.get((claim_id, f["line_number"]), Decimal(0))
            findings.append(
                {
                    "claim": claim.patient_control_number,
                    "payer": claim.payer_id,
                    "line": f["line_number"],
                    "line_id": f["line_id"],
                    "rule": f["rule"],
                    "severity": f["severity"],
                    "fix": f["fix"],
                    "message": f["message"].strip(),
                }
            )
    rows = []
    for rule, e in by_rule.items():
        predicts = get_rule(rule).predictions_json()
        rows.append(
            {
                "rule": rule,
                "title": get_rule(rule).title,
                "claims": len(e["claims"]),
                "findings": e["findings"],
                "amount": str(e["amount"].quantize(Decimal("0.01"))),
                "predicts": "; ".join(f"{p['group']}-{p['carc']} {title('carc', p['carc'])}" for p in predicts),
            }
        )
    rows.sort(key=lambda r: (-Decimal(r["amount"]), r["rule"]))
    return {
        "period": {"since": since.isoformat(), "until": today.isoformat(), "days": days},
        "claims": len(claims),
        "by_rule": rows,
        "findings": sorted(findings, key=lambda f: (f["claim"], f["line"] or 0, f["rule"])),
    }
