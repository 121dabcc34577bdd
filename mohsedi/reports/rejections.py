"""Front-end rejections from the store: 999 sets and 277CA claims rejected, each with its rule and
basis, and the rejection rate by file, payer, status code and rule.

Counted once: a 277CA claim is one rejection however many STC composites or rejected lines it
carries (its lines are listed with it); a 999 set is one rejection, its money the charges of the
claims it held. The period is the date the acknowledgment was made (GS04 of a 999, BHT04 of a
277CA).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.acks.model import CATEGORY_TEXT, SET_STATUS
from mohsedi.reports.denials import UNEXPLAINED_TITLE, Period, rule_titles
from mohsedi.store import models as m

ACK, SS, SE_, CS = (
    m.Acknowledgment.__table__,
    m.SetStatus.__table__,
    m.SetError.__table__,
    m.ClaimStatusRow.__table__,
)
SENT, C, F, CT = m.SentSet.__table__, m.Claim.__table__, m.StoredFile.__table__, m.CodeText.__table__
ZERO = Decimal("0.00")


def _money(value: Decimal | None) -> str:
    return str((value or ZERO).quantize(Decimal("0.01")))


def _in_period(query: sa.Select, period: Period) -> sa.Select:
    if period.since:
        query = query.where(ACK.c.received >= period.since)
    if period.until:
        query = query.where(ACK.c.received <= period.until)
    return query


def _status_texts(conn) -> dict[str, str]:
    """Claim status code -> X12's text, when the user imported the list (X12 owns it; not shipped)."""
    return {
        code: text for code, text in conn.execute(sa.select(CT.c.code, CT.c.description).where(CT.c.list_name == "csc"))
    }


def describe(category: str, code: str, texts: dict[str, str]) -> str:
    parts = [CATEGORY_TEXT.get(category, category)]
    if code and texts.get(code):
        parts.append(texts[code])
    return "; ".join(parts)


def _set_rows(conn, period: Period) -> list[dict[str, Any]]:
    """Every 999 set status of the period, with the file it answers and its claims' charges."""
    query = _in_period(
        sa.select(
            SS.c.id,
            SS.c.set_control,
            SS.c.status,
            SS.c.rejected,
            SS.c.rule,
            SS.c.basis,
            SS.c.sent_set_id,
            ACK.c.sender,
            ACK.c.group_control,
            ACK.c.received,
            F.c.name.label("sent_file"),
            SENT.c.file_id,
            SENT.c.first_ordinal,
            SENT.c.claims,
        )
        .select_from(
            SS.join(ACK, ACK.c.id == SS.c.acknowledgment_id)
            .outerjoin(SENT, SENT.c.id == SS.c.sent_set_id)
            .outerjoin(F, F.c.id == SENT.c.file_id)
        )
        .order_by(ACK.c.received, SS.c.id),
        period,
    )
    rows = [dict(r._mapping) for r in conn.execute(query)]
    for r in rows:
        r["amount"] = ZERO
        r["payers"] = []
        if r["file_id"] is not None:
            claims = conn.execute(
                sa.select(C.c.total_charge, C.c.payer_id).where(
                    C.c.file_id == r["file_id"],
                    C.c.ordinal >= r["first_ordinal"],
                    C.c.ordinal < r["first_ordinal"] + r["claims"],
                )
            ).all()
            r["amount"] = sum((c.total_charge or ZERO for c in claims), ZERO)
            r["payers"] = sorted({c.payer_id for c in claims})
    errors: dict[int, list[str]] = defaultdict(list)
    ids = [r["id"] for r in rows if r["rejected"]]
    for i in range(0, len(ids), 500):
        for e in conn.execute(sa.select(SE_).where(SE_.c.set_status_id.in_(ids[i : i + 500])).order_by(SE_.c.id)):
            text = f"{e.segment_id} at {e.segment_position}: segment error {e.segment_code}"
            if e.element_position:
                text += f", element {e.segment_id}{e.element_position} ({e.element_reference}) error {e.element_code}"
            errors[e.set_status_id].append(text)
    for r in rows:
        r["errors"] = errors.get(r["id"], [])
    return rows


def _claim_rows(conn, period: Period) -> list[dict[str, Any]]:
    """Every 277CA claim of the period: its claim-level statuses with its rejected lines."""
    query = _in_period(
        sa.select(
            CS.c.id,
            CS.c.acknowledgment_id,
            CS.c.patient_control_number,
            CS.c.line_id,
            CS.c.procedure,
            CS.c.category,
            CS.c.code,
            CS.c.entity,
            CS.c.amount,
            CS.c.payer_claim_control_number,
            CS.c.rejected,
            CS.c.rule,
            CS.c.basis,
            CS.c.claim_id,
            ACK.c.payer_id,
            ACK.c.payer_name,
            ACK.c.received,
            ACK.c.file_id.label("ack_file_id"),
            F.c.name.label("sent_file"),
        )
        .select_from(
            CS.join(ACK, ACK.c.id == CS.c.acknowledgment_id)
            .outerjoin(C, C.c.id == CS.c.claim_id)
            .outerjoin(F, F.c.id == C.c.file_id)
        )
        .order_by(ACK.c.received, CS.c.id),
        period,
    )
    claims: dict[tuple[int, str], dict[str, Any]] = {}
    for r in conn.execute(query):
        key = (r.acknowledgment_id, r.patient_control_number)
        claim = claims.get(key)
        if claim is None:
            claim = claims[key] = {"statuses": [], "lines": [], "row": None}
        if r.line_id is None and r.procedure is None:
            claim["statuses"].append(r)
            if claim["row"] is None or (r.rejected and not claim["row"].rejected):
                claim["row"] = r
        else:
            claim["lines"].append(r)
    return [c for c in claims.values() if c["row"] is not None]


def rejection_report(engine: Engine, period: Period, payer: str | None = None) -> dict[str, Any]:
    titles = rule_titles()
    with engine.connect() as conn:
        texts = _status_texts(conn)
        sets = _set_rows(conn, period)
        claims = _claim_rows(conn, period)
        ack_files = dict(conn.execute(sa.select(F.c.id, F.c.name).where(F.c.kind.in_(("999", "277CA")))).all())
    rejections: list[dict[str, Any]] = []
    acknowledged: list[dict[str, Any]] = []  # one per set or claim: for the rates
    for s in sets:
        # A 999 comes from the clearinghouse: its sender stands where a payer would.
        who = s["sender"]
        if payer and payer != who and payer not in s["payers"]:
            continue
        file = s["sent_file"] or f"(not found: group {s['group_control']} set {s['set_control']})"
        acknowledged.append(
            {"kind": "999", "file": file, "payer": who, "rejected": s["rejected"], "amount": s["amount"]}
        )
        if not s["rejected"]:
            continue
        rejections.append(
            {
                "kind": "999",
                "payer": who,
                "payer_name": None,
                "file": s["sent_file"],
                "group_control": s["group_control"],
                "set_control": s["set_control"],
                "claim": None,
                "line_id": None,
                "status": s["status"],
                "description": SET_STATUS.get(s["status"], s["status"]),
                "errors": s["errors"],
                "amount": _money(s["amount"]),
                "rule": s["rule"],
                "rule_title": titles.get(s["rule"], "") if s["rule"] else UNEXPLAINED_TITLE,
                "basis": s["basis"] or "unexplained",
                "linked": s["sent_set_id"] is not None,
                "received": s["received"].isoformat() if s["received"] else None,
                "lines": [],
            }
        )
    for c in claims:
        r = c["row"]
        if payer and payer != r.payer_id:
            continue
        file = r.sent_file or f"(claim not found; {ack_files.get(r.ack_file_id, '?')})"
        amount = r.amount or ZERO
        acknowledged.append(
            {"kind": "277CA", "file": file, "payer": r.payer_id, "rejected": r.rejected, "amount": amount}
        )
        if not r.rejected:
            continue
        rejections.append(
            {
                "kind": "277CA",
                "payer": r.payer_id,
                "payer_name": r.payer_name or None,
                "file": r.sent_file,
                "claim": r.patient_control_number,
                "line_id": None,
                "status": f"{r.category}:{r.code}" if r.code else r.category,
                "entity": r.entity or None,
                "description": describe(r.category, r.code, texts),
                "other_statuses": [f"{s.category}:{s.code}" for s in c["statuses"] if s.id != r.id],
                "amount": _money(amount),
                "rule": r.rule,
                "rule_title": titles.get(r.rule, "") if r.rule else UNEXPLAINED_TITLE,
                "basis": r.basis or "unexplained",
                "linked": r.claim_id is not None,
                "received": r.received.isoformat() if r.received else None,
                "lines": [
                    {
                        "line_id": ln.line_id,
                        "procedure": ln.procedure,
                        "status": f"{ln.category}:{ln.code}" if ln.code else ln.category,
                        "description": describe(ln.category, ln.code, texts),
                        "amount": _money(ln.amount),
                        "rule": ln.rule,
                        "basis": ln.basis or ("unexplained" if ln.rejected else None),
                    }
                    for ln in c["lines"]
                ],
            }
        )
    return {
        "period": {
            "since": period.since.isoformat() if period.since else None,
            "until": period.until.isoformat() if period.until else None,
        },
        "payer": payer,
        "totals": _totals(acknowledged),
        "rejections": rejections,
        "by_rule": _by(rejections, lambda r: r["rule"] or "unexplained", "rule", titles),
        "by_file": _rates(acknowledged, "file"),
        "by_payer": _rates(acknowledged, "payer"),
        "by_status": _by_status(rejections),
        "unexplained": [r for r in rejections if r["basis"] == "unexplained"],
        "notes": _notes(acknowledged, rejections, texts),
    }


def _totals(acknowledged: list[dict]) -> dict[str, Any]:
    rejected = [a for a in acknowledged if a["rejected"]]
    return {
        "acknowledged": len(acknowledged),
        "rejected": len(rejected),
        "rejection_rate": _rate(len(rejected), len(acknowledged)),
        "amount_acknowledged": _money(sum((a["amount"] for a in acknowledged), ZERO)),
        "amount_rejected": _money(sum((a["amount"] for a in rejected), ZERO)),
        "sets_acknowledged": sum(1 for a in acknowledged if a["kind"] == "999"),
        "sets_rejected": sum(1 for a in rejected if a["kind"] == "999"),
        "claims_acknowledged": sum(1 for a in acknowledged if a["kind"] == "277CA"),
        "claims_rejected": sum(1 for a in rejected if a["kind"] == "277CA"),
    }


def _rate(part: int, whole: int) -> str:
    return f"{(Decimal(part) * 100 / whole).quantize(Decimal('0.1'))}%" if whole else "0.0%"


def _rates(acknowledged: list[dict], key: str) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for a in acknowledged:
        groups[(a[key] or "?", a["kind"])].append(a)
    out = []
    for (name, kind), items in groups.items():
        rejected = [a for a in items if a["rejected"]]
        out.append(
            {
                key: name,
                "kind": kind,
                "acknowledged": len(items),
                "rejected": len(rejected),
                "rejection_rate": _rate(len(rejected), len(items)),
                "amount": _money(sum((a["amount"] for a in rejected), ZERO)),
            }
        )
    return sorted(out, key=lambda r: (-r["rejected"], r[key], r["kind"]))


def _by(rows: list[dict], key, name: str, titles: dict[str, str]) -> list[dict[str, Any]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[key(r)].append(r)
    out = [
        {
            name: k,
            "title": titles.get(k, "") if k != "unexplained" else UNEXPLAINED_TITLE,
            "count": len(v),
            "amount": _money(sum((Decimal(r["amount"]) for r in v), ZERO)),
        }
        for k, v in groups.items()
    ]
    return sorted(out, key=lambda r: (-r["count"], -Decimal(r["amount"]), r[name]))


def _by_status(rows: list[dict]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["kind"], r["status"])].append(r)
    out = [
        {
            "kind": kind,
            "status": status,
            "description": v[0]["description"],
            "count": len(v),
            "amount": _money(sum((Decimal(r["amount"]) for r in v), ZERO)),
        }
        for (kind, status), v in groups.items()
    ]
    return sorted(out, key=lambda r: (-r["count"], r["kind"], r["status"]))


def _notes(acknowledged: list[dict], rejections: list[dict], texts: dict[str, str]) -> list[str]:
    notes = []
    if not acknowledged:
        notes.append(
            "No 999 or 277CA acknowledgment is stored for this period: read them in with "
            "`mohsedi ingest FILE...` beside the 835s."
        )
    unlinked = [r for r in rejections if not r["linked"]]
    if unlinked:
        notes.append(
            f"{len(unlinked)} rejection(s) name a set or claim the store has not seen: check or fix "
            "the 837P files with the store (--db), then `mohsedi link`."
        )
    if any(r["kind"] == "277CA" for r in rejections) and not texts:
        notes.append(
            "Claim status codes are shown with their category's meaning only: X12 owns the code "
            "texts and they are not shipped."
        )
    return notes
