"""Denials from the store, aggregated in SQL: each denial with its rule and basis, and by rule."""

from __future__ import annotations

from collections import defaultdict
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from mohsedi.codes.denials import NOT_COVERED_FOR_PATIENT, PATIENT_GROUP
from mohsedi.remits.balance import BALANCING
from mohsedi.store import models as m
from mohsedi.store.editdata import CodeTitles, code_titles
from mohsedi.store.facts import incomplete_claims

# The titles of the report being built: the official X12 text when the store holds it (imported
# with `mohsedi data import codes`), else mohsedi's own short titles.
_TITLES: ContextVar[CodeTitles | None] = ContextVar("titles", default=None)


def title(list_name: str, code: str) -> str:
    return (_TITLES.get() or CodeTitles()).title(list_name, code)


A, CP, SP, REM, RK, PLB, RF, C = (
    m.Adjustment.__table__,
    m.ClaimPayment.__table__,
    m.ServicePayment.__table__,
    m.Remittance.__table__,
    m.Remark.__table__,
    m.ProviderAdjustment.__table__,
    m.RemitFinding.__table__,
    m.Claim.__table__,
)
UNEXPLAINED_TITLE = "no rule predicts this denial yet"


def rule_titles() -> dict[str, str]:
    """Rule code -> title, for the catalog's rules and the 835 balancing findings."""
    from mohsedi.rules.registry import all_rules

    titles = {r.code: r.title for r in all_rules()}
    titles.update({code: t for code, (_, t) in BALANCING.items()})
    return titles


def rule_title(code: str | None) -> str:
    if not code or code == "unexplained":
        return UNEXPLAINED_TITLE
    return rule_titles().get(code, "")


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
            # The original's check or EFT number: a reversal and correction come under later ones.
            sa.func.min(REM.c.trace_number).label("trace_number"),
            sa.func.max(REM.c.payer_name).label("payer_name"),
            sa.func.min(sa.func.coalesce(SP.c.date_from, CP.c.date_from)).label("service_date"),
            sa.func.max(SP.c.adjudicated_procedure).label("adjudicated_procedure"),
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
    query = _filtered(query, period, payer)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
        remarks = _remarks(conn, rows)
    out = []
    titles = rule_titles()
    for r in rows:
        codes = remarks.get(("sp", r.service_payment_id), []) if r.service_payment_id else []
        codes = codes + [c for c in remarks.get(("cp", r.claim_payment_id), []) if c not in codes]
        out.append(
            {
                "payer": r.payer_id,
                "payer_name": r.payer_name or None,
                "claim": r.patient_control_number,
                "line_id": r.line_id,
                "procedure": r.procedure or None,
                "modifiers": [x for x in r.modifiers.split(",") if x],
                "group": r.group_code,
                "carc": r.carc,
                "rarc": codes,
                "carc_title": title("carc", r.carc),
                "rarc_titles": [title("rarc", c) for c in codes],
                "reason": "; ".join(t for t in [title("carc", r.carc), *(title("rarc", c) for c in codes)] if t),
                "amount": str(Decimal(r.amount).quantize(Decimal("0.01"))),
                "rule": r.rule,
                "rule_title": titles.get(r.rule, "") if r.rule else UNEXPLAINED_TITLE,
                "basis": r.basis or "unexplained",
                "fixed": bool(r.fixed) if r.basis == "fired" else None,
                "service_date": r.service_date.isoformat() if r.service_date else None,
                "payment_date": r.payment_date.isoformat() if r.payment_date else None,
                "check_number": r.trace_number or None,
                "adjudicated_procedure": r.adjudicated_procedure,
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


# ---------------------------------------------------------------- the root-cause report


# Which payment a row came in: payer (id and N1*PR name), check/EFT number (TRN02), BPR16.
PAYMENT_COLUMNS = (REM.c.payer_id, REM.c.payer_name, REM.c.trace_number, REM.c.payment_date)


def _payment(r: Any) -> dict[str, Any]:
    return {
        "payer": r.payer_id,
        "payer_name": r.payer_name or None,
        "check_number": r.trace_number,
        "payment_date": r.payment_date.isoformat() if r.payment_date else None,
    }


def _notes(conn, engine: Engine, remittances_in_period: int) -> list[str]:
    """What a manager needs to know before reading the numbers: an empty store names itself."""
    where = engine.url.render_as_string(hide_password=True)
    if conn.execute(sa.select(sa.func.count()).select_from(REM)).scalar() == 0:
        return [
            f"The store {where} holds no remittances yet: read 835 files into it with "
            f"`mohsedi ingest FILE... --db {where}` (a directory of 835s works too)."
        ]
    notes = []
    if remittances_in_period == 0:
        notes.append("No remittance was paid in this period (or for this payer): widen --since/--until or --payer.")
    if conn.execute(sa.select(sa.func.count()).select_from(C)).scalar() == 0:
        notes.append(
            f"No claims are recorded in the store {where}, so no denial can be traced to a rule: run "
            f"`mohsedi check FILE... --db {where}` (or `mohsedi fix`) on the 837P files you send, "
            "then `mohsedi link`."
        )
    incomplete = incomplete_claims(conn)
    if incomplete:
        notes.append(
            f"{incomplete} claim(s) were recorded before the store kept every fact rules read (a line's own place "
            "of service, rendering provider and CLIA number; diagnosis qualifiers): denials on them were traced "
            "with what was stored, and a rule needing a missing fact did not predict."
        )
    return notes


# A reversal (CLP02 = 22) repeats its adjustments with negative amounts: counts net them too.
NET_COUNT = sa.func.sum(sa.case((A.c.amount > 0, 1), (A.c.amount < 0, -1), else_=0))


def _filtered(query: sa.Select, period: Period, payer: str | None) -> sa.Select:
    if period.since:
        query = query.where(REM.c.payment_date >= period.since)
    if period.until:
        query = query.where(REM.c.payment_date <= period.until)
    if payer:
        query = query.where(REM.c.payer_id == payer)
    return query


def _denials_from() -> sa.FromClause:
    return (
        A.join(CP, CP.c.id == A.c.claim_payment_id)
        .join(REM, REM.c.id == CP.c.remittance_id)
        .outerjoin(SP, SP.c.id == A.c.service_payment_id)
    )


def _week_start(engine: Engine) -> sa.ColumnElement:
    """Monday of the payment date's week, per dialect."""
    if engine.dialect.name == "postgresql":
        return sa.cast(sa.func.date_trunc("week", REM.c.payment_date), sa.Date)
    return sa.func.date(REM.c.payment_date, "weekday 0", "-6 days")


def _money(value: object) -> str:
    return str(Decimal(str(value or 0)).quantize(Decimal("0.01")))


def _grouped(conn, period: Period, payer: str | None, *keys: sa.ColumnElement, where=None) -> list[dict]:
    query = sa.select(*keys, NET_COUNT.label("count"), sa.func.sum(A.c.amount).label("amount")).select_from(
        _denials_from()
    )
    query = query.where(A.c.is_denial.is_(True))
    if where is not None:
        query = query.where(where)
    query = _filtered(query.group_by(*keys), period, payer).having(sa.func.sum(A.c.amount) != 0)
    rows = []
    for row in conn.execute(query):
        data = dict(row._mapping)
        data["amount"] = _money(data["amount"])
        rows.append(data)
    return largest_first(rows)


def largest_first(rows: list[dict]) -> list[dict]:
    """Largest amount first; ties in a fixed order (by the row's values), because a database
    returns groups in no set order and PostgreSQL's varies from run to run."""
    return sorted(rows, key=lambda r: (-Decimal(r["amount"]), str(list(r.values()))))


def root_cause_report(engine: Engine, period: Period, payer: str | None = None) -> dict[str, Any]:
    """The weekly manager's report: totals, denials by rule, payer, code, reason, week; the queue
    of unexplained denials; rules that fired and were sent anyway; fixes that still denied."""
    titles = code_titles(engine)
    token = _TITLES.set(titles)
    try:
        report = _root_cause_report(engine, period, payer)
    finally:
        _TITLES.reset(token)
    # Which texts the CARC/RARC titles are: said beside the report's notes, in every format.
    report["code_texts"] = "official" if titles.official else "short"
    if not titles.official:
        report["code_texts_note"] = CODE_TEXTS_NOTE
    return report


CODE_TEXTS_NOTE = (
    "CARC and RARC texts are mohsedi's short titles: import the official X12 lists with "
    "`mohsedi data import codes FILE` to show their descriptions."
)


def _root_cause_report(engine: Engine, period: Period, payer: str | None) -> dict[str, Any]:
    with engine.connect() as conn:
        totals_query = _filtered(
            sa.select(
                sa.func.coalesce(sa.func.sum(CP.c.charge), 0).label("billed"),
                sa.func.coalesce(sa.func.sum(CP.c.paid), 0).label("paid"),
                # A reversal takes back the claim payment it reverses: net, not one more claim.
                sa.func.coalesce(sa.func.sum(sa.case((CP.c.is_reversal.is_(True), -1), else_=1)), 0).label("claims"),
            ).select_from(CP.join(REM, REM.c.id == CP.c.remittance_id)),
            period,
            payer,
        )
        billed, paid, claims = conn.execute(totals_query).one()
        denied_query = _filtered(
            sa.select(sa.func.coalesce(sa.func.sum(A.c.amount), 0), NET_COUNT)
            .select_from(_denials_from())
            .where(A.c.is_denial.is_(True)),
            period,
            payer,
        )
        denied, denial_count = conn.execute(denied_query).one()
        rule = sa.func.coalesce(A.c.rule, "unexplained").label("rule")
        procedure = sa.func.coalesce(SP.c.procedure, sa.literal_column("'(claim)'")).label("procedure")
        week = _week_start(engine).label("week")
        remitted, remittances = conn.execute(
            _filtered(
                sa.select(
                    sa.func.coalesce(
                        sa.func.sum(sa.case((REM.c.credit_debit == "D", -REM.c.amount), else_=REM.c.amount)), 0
                    ),
                    sa.func.count(REM.c.id),
                ),
                period,
                payer,
            )
        ).one()
        patient_query = _filtered(
            sa.select(A.c.carc.label("carc"), NET_COUNT.label("count"), sa.func.sum(A.c.amount).label("amount"))
            .select_from(_denials_from())
            .where(A.c.group_code == PATIENT_GROUP)
            .group_by(A.c.carc),
            period,
            payer,
        ).having(sa.func.sum(A.c.amount) != 0)
        patient = [
            {
                "group": PATIENT_GROUP,
                "carc": r.carc,
                "title": title("carc", r.carc),
                "not_covered": r.carc in NOT_COVERED_FOR_PATIENT,
                "count": r.count,
                "amount": _money(r.amount),
            }
            for r in conn.execute(patient_query)
        ]
        patient.sort(key=lambda r: (not r["not_covered"], -Decimal(r["amount"]), r["carc"]))
        rarc_query = _filtered(
            sa.select(RK.c.code.label("rarc"), NET_COUNT.label("count"), sa.func.sum(A.c.amount).label("amount"))
            .select_from(_denials_from().join(RK, RK.c.service_payment_id == A.c.service_payment_id))
            .where(A.c.is_denial.is_(True))
            .group_by(RK.c.code),
            period,
            payer,
        ).having(sa.func.sum(A.c.amount) != 0)
        by_rarc = [
            {"rarc": r.rarc, "title": title("rarc", r.rarc), "count": r.count, "amount": _money(r.amount)}
            for r in conn.execute(rarc_query)
        ]
        remittance_rows = [
            {
                **_payment(r),
                "amount": _money(-r.amount if r.credit_debit == "D" else r.amount),
                "claims": r.claims,
                "complete": bool(r.complete),
            }
            for r in conn.execute(
                _filtered(
                    sa.select(
                        *PAYMENT_COLUMNS,
                        REM.c.amount,
                        REM.c.credit_debit,
                        REM.c.complete,
                        sa.select(sa.func.count(CP.c.id))
                        .where(CP.c.remittance_id == REM.c.id)
                        .scalar_subquery()
                        .label("claims"),
                    ).order_by(REM.c.payment_date, REM.c.payer_id, REM.c.trace_number, REM.c.id),
                    period,
                    payer,
                )
            )
        ]
        payer_names = {r["payer"]: r["payer_name"] or "" for r in remittance_rows}
        balancing = [
            {
                "rule": r.rule,
                "title": rule_title(r.rule),
                "severity": r.severity,
                **_payment(r),
                "claim": r.claim,
                "line_id": r.line_id,
                "message": r.message,
            }
            for r in conn.execute(
                _filtered(
                    sa.select(
                        RF.c.rule,
                        RF.c.severity,
                        RF.c.claim,
                        RF.c.line_id,
                        RF.c.message,
                        *PAYMENT_COLUMNS,
                    )
                    .select_from(RF.join(REM, REM.c.id == RF.c.remittance_id))
                    .order_by(REM.c.payment_date, REM.c.id, RF.c.id),
                    period,
                    payer,
                )
            )
        ]
        linked = CP.alias("recouped")
        plbs = [
            {
                **_payment(r),
                "provider": r.provider_id,
                "reason": r.reason,
                "reference": r.reference or None,
                "amount": _money(r.amount),
                "claim": r.claim,
            }
            for r in conn.execute(
                _filtered(
                    sa.select(
                        PLB.c.provider_id,
                        PLB.c.reason,
                        PLB.c.reference,
                        PLB.c.amount,
                        *PAYMENT_COLUMNS,
                        linked.c.patient_control_number.label("claim"),
                    )
                    .select_from(
                        PLB.join(REM, REM.c.id == PLB.c.remittance_id).outerjoin(
                            linked, linked.c.id == PLB.c.claim_payment_id
                        )
                    )
                    .order_by(REM.c.payment_date, REM.c.id, PLB.c.id),
                    period,
                    payer,
                )
            )
        ]
        notes = _notes(conn, engine, remittances)
        report = {
            "period": {
                "since": period.since.isoformat() if period.since else None,
                "until": period.until.isoformat() if period.until else None,
            },
            "denials": denial_rows(engine, period, payer),
            "totals": {
                "claims": claims,
                "billed": _money(billed),
                "paid": _money(paid),
                "denied": _money(denied),
                "denials": denial_count or 0,
                "denial_rate": f"{(Decimal(str(denied)) / Decimal(str(billed)) * 100):.1f}%" if billed else "0.0%",
                "remittances": remittances,
                "remitted": _money(remitted),
                "provider_adjustments": _money(sum((Decimal(p["amount"]) for p in plbs), Decimal(0))),
                "patient_responsibility": _money(sum((Decimal(p["amount"]) for p in patient), Decimal(0))),
            },
            "remittances": remittance_rows,
            "balancing": balancing,
            "provider_adjustments": plbs,
            "patient_responsibility": patient,
            "notes": notes,
            "by_rule": [{**r, "title": rule_title(r["rule"])} for r in _grouped(conn, period, payer, rule)],
            "by_payer": [
                {**r, "payer_name": payer_names.get(r["payer"], "")}
                for r in _grouped(conn, period, payer, REM.c.payer_id.label("payer"))
            ],
            "by_procedure": _grouped(conn, period, payer, procedure),
            "by_carc": [
                {**r, "title": title("carc", r["carc"]), "group_title": title("group", r["group"])}
                for r in _grouped(conn, period, payer, A.c.group_code.label("group"), A.c.carc.label("carc"))
            ],
            "by_rarc": largest_first(by_rarc),
            # Undated payments (no BPR16) have no week: they are counted in the totals, not charted.
            "weekly": [
                {**r, "week": str(r["week"])[:10], "title": rule_title(r["rule"])}
                for r in sorted(
                    _grouped(conn, period, payer, week, rule, where=REM.c.payment_date.is_not(None)),
                    key=lambda r: (str(r["week"]), r["rule"]),
                )
            ],
            "unexplained": [
                {**r, "title": title("carc", r["carc"])}
                for r in _grouped(
                    conn,
                    period,
                    payer,
                    A.c.group_code.label("group"),
                    A.c.carc.label("carc"),
                    procedure,
                    where=A.c.basis == "unexplained",
                )
            ],
            "fired_sent_anyway": [
                {**r, "title": rule_title(r["rule"])}
                for r in _grouped(
                    conn, period, payer, rule, where=sa.and_(A.c.basis == "fired", sa.not_(A.c.fixed.is_(True)))
                )
            ],
            "fixed_still_denied": [
                {**r, "title": rule_title(r["rule"])}
                for r in _grouped(conn, period, payer, rule, where=sa.and_(A.c.basis == "fired", A.c.fixed.is_(True)))
            ],
        }
    return report
