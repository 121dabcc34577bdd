"""The denial report as one self-contained HTML file: tables and inline SVG charts (matplotlib).

Nothing is fetched when it opens: no scripts, fonts or images from elsewhere. Charts are SVG
with text kept as text, so the file prints sharply and stays searchable.
"""

from __future__ import annotations

import html
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: render to memory
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

# Payer ids and names, claim numbers and codes come from outside the practice: every chart text
# is drawn as plain text, never as math ($...$) nor through LaTeX, so none can crash or garble a chart.
plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "font.size": 10,
        "font.family": "sans-serif",
        "text.parse_math": False,
        "text.usetex": False,
    }
)
PALETTE = ["#1f5f8b", "#e07b39", "#3a9a5b", "#b5443c", "#7a5ba6", "#8c6d4f", "#c45fa0", "#6f6f6f"]

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem;
       color: #1d1d1f; max-width: 1100px; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
     border-bottom: 2px solid #1f5f8b; padding-bottom: .2rem; }
.meta { color: #555; margin-top: 0; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }
.card { border: 1px solid #d0d7de; border-radius: 6px; padding: .6rem 1rem; min-width: 9rem; }
.card .v { font-size: 1.35rem; font-weight: 600; } .card .k { color: #555; font-size: .85rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; font-size: .88rem; }
th, td { border-bottom: 1px solid #e1e4e8; padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f6f9; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { margin: .5rem 0 1rem; } .chart svg { max-width: 100%; height: auto; }
.empty { color: #666; font-style: italic; }
.note { background: #fff6e0; border-left: 4px solid #e07b39; padding: .5rem .8rem; margin: .6rem 0; }
@media print { body { margin: 1cm; } h2 { break-after: avoid; } .chart, table, .cards { break-inside: avoid; } }
"""


def _svg(fig: plt.Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _amount(row: dict) -> float:
    return float(Decimal(row["amount"]))


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def rule_label(rule: str, title: str | None) -> str:
    """A rule's code with its title, so a chart reads without the catalog at hand."""
    return f"{rule}: {_short(title)}" if title else rule


def payer_label(payer: str, name: str | None) -> str:
    return f"{_short(name, 36)} ({payer})" if name else payer


def chart_by_rule(rows: list[dict]) -> str:
    rows = rows[:15]
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2))
    labels = [rule_label(r["rule"], r.get("title")) for r in rows][::-1]
    values = [_amount(r) for r in rows][::-1]
    colors = ["#b5443c" if label.startswith("unexplained") else PALETTE[0] for label in labels]
    ax.barh(labels, values, color=colors)
    ax.set_xlabel("denied amount ($)")
    ax.set_title("Denials by rule (money at stake)")
    for y, v in enumerate(values):
        ax.text(v, y, f" ${v:,.0f}", va="center", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def chart_weekly(rows: list[dict], top: int = 5) -> str:
    """Stacked bars per week on a date axis: weeks with no denials stay empty (gaps are gaps);
    the top rules by money, the rest together."""
    rows = [r for r in rows if r.get("week") and r["week"] != "None"]
    if not rows:
        return ""
    totals: dict[str, float] = defaultdict(float)
    titles: dict[str, str] = {}
    for r in rows:
        totals[r["rule"]] += _amount(r)
        titles[r["rule"]] = r.get("title") or ""
    leaders = [rule for rule, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    weeks = sorted({date.fromisoformat(r["week"]) for r in rows})
    series: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for r in rows:
        series[r["rule"] if r["rule"] in leaders else "other rules"][date.fromisoformat(r["week"])] += _amount(r)
    order = [name for name in leaders if name in series] + (["other rules"] if "other rules" in series else [])
    fig, ax = plt.subplots(figsize=(8, 3.8))
    bottom = [0.0] * len(weeks)
    # A bar covers its week, Monday to Friday: the axis counts days, so a missing week is a gap.
    centers = [w + timedelta(days=3) for w in weeks]
    for i, name in enumerate(order):
        values = [series[name].get(w, 0.0) for w in weeks]
        color = "#9aa4ad" if name == "other rules" else PALETTE[i % len(PALETTE)]
        label = (
            name
            if name == "other rules"
            else rule_label(
                name,
                titles.get(name),
            )
        )
        # Dates go through matplotlib's units registry; its stubs only say float.
        ax.bar(centers, values, bottom=bottom, label=label, color=color, width=5)  # type: ignore[arg-type]
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_xlim(weeks[0] - timedelta(days=7), weeks[-1] + timedelta(days=14))  # type: ignore[arg-type]
    locator = mdates.AutoDateLocator(minticks=3, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_title(f"Denied amount by week of payment, top {len(leaders)} rules")
    ax.set_ylabel("$ denied")
    ax.set_xlabel("week of payment (BPR16)")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(0, -0.22), ncol=1)
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def chart_by_payer(rows: list[dict]) -> str:
    rows = rows[:12]
    if not rows:
        return ""
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(rows) + 1.2))
    labels = [payer_label(r["payer"], r.get("payer_name")) for r in rows][::-1]
    ax.barh(labels, [_amount(r) for r in rows][::-1], color=PALETTE[1])
    ax.set_xlabel("denied amount ($)")
    ax.set_title("Denials by payer")
    ax.spines[["top", "right"]].set_visible(False)
    return _svg(fig)


def _table(rows: list[dict], columns: list[tuple[str, str]], *, limit: int | None = None) -> str:
    if not rows:
        return '<p class="empty">None.</p>'
    shown = rows[:limit] if limit else rows
    numeric = {"count", "amount", "claims"}
    head = "".join(f'<th class="{"num" if key in numeric else ""}">{html.escape(label)}</th>' for key, label in columns)
    body = []
    for r in shown:
        cells = []
        for key, _ in columns:
            value = r.get(key)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            text = "" if value is None else str(value)
            if isinstance(value, bool):
                text = "yes" if value else "no"
            if key == "amount" and text:
                text = f"${Decimal(text):,.2f}"
            cells.append(f'<td class="{"num" if key in numeric else ""}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="empty">{len(rows) - len(shown)} more not shown.</p>' if len(shown) < len(rows) else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def render_html(report: dict[str, Any], *, generated: datetime | None = None) -> str:
    totals = report["totals"]
    period = report["period"]
    when = (generated or datetime.now()).strftime("%Y-%m-%d %H:%M")
    cards = "".join(
        f'<div class="card"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'
        for k, v in [
            ("claims paid or denied", str(totals["claims"])),
            ("billed", f"${Decimal(totals['billed']):,.2f}"),
            ("paid", f"${Decimal(totals['paid']):,.2f}"),
            ("denied", f"${Decimal(totals['denied']):,.2f}"),
            ("denial rate (by amount)", totals["denial_rate"]),
            ("denied lines", str(totals["denials"])),
            ("remitted (BPR02)", f"${Decimal(totals.get('remitted', '0')):,.2f}"),
            ("provider adjustments (PLB)", f"${Decimal(totals.get('provider_adjustments', '0')):,.2f}"),
            ("patient responsibility", f"${Decimal(totals.get('patient_responsibility', '0')):,.2f}"),
        ]
    )
    notes = "".join(
        f'<p class="note">{html.escape(n)}</p>'
        for n in [*report.get("notes", []), *filter(None, [report.get("code_texts_note")])]
    )
    weekly = chart_weekly(report["weekly"]) or '<p class="empty">No dated denials in this period.</p>'
    rule_columns = [("rule", "rule"), ("title", "what it checks"), ("count", "denials"), ("amount", "amount")]
    sections = [
        (
            "Denials by rule",
            '<div class="chart">'
            + chart_by_rule(report["by_rule"])
            + "</div>"
            + _table(report["by_rule"], rule_columns),
        ),
        ("Weekly trend", '<div class="chart">' + weekly + "</div>"),
        (
            "By payer",
            '<div class="chart">'
            + chart_by_payer(report["by_payer"])
            + "</div>"
            + _table(
                report["by_payer"],
                [("payer_name", "payer"), ("payer", "payer id"), ("count", "denials"), ("amount", "amount")],
            ),
        ),
        (
            "By procedure code",
            _table(report["by_procedure"], [("procedure", "code"), ("count", "denials"), ("amount", "amount")]),
        ),
        (
            "By reason (CARC)",
            _table(
                report["by_carc"],
                [("group", "group"), ("carc", "CARC"), ("title", "reason"), ("count", "denials"), ("amount", "amount")],
            ),
        ),
        (
            "By remark (RARC)",
            _table(
                report["by_rarc"], [("rarc", "RARC"), ("title", "remark"), ("count", "denials"), ("amount", "amount")]
            ),
        ),
        (
            "Unexplained: denials no rule predicts yet",
            _table(
                report["unexplained"],
                [
                    ("group", "group"),
                    ("carc", "CARC"),
                    ("title", "reason"),
                    ("procedure", "code"),
                    ("count", "denials"),
                    ("amount", "amount"),
                ],
            ),
        ),
        ("Fired but sent anyway", _table(report["fired_sent_anyway"], rule_columns)),
        ("Fixed but still denied", _table(report["fixed_still_denied"], rule_columns)),
        (
            "Patient responsibility (not denials of the claim)",
            _table(
                report.get("patient_responsibility", []),
                [
                    ("group", "group"),
                    ("carc", "CARC"),
                    ("title", "reason"),
                    ("not_covered", "not covered"),
                    ("count", "adjustments"),
                    ("amount", "amount"),
                ],
            ),
        ),
        (
            "Remittances (payment totals as BPR02)",
            _table(
                report.get("remittances", []),
                [
                    ("payment_date", "paid on"),
                    ("payer_name", "payer"),
                    ("payer", "payer id"),
                    ("check_number", "check/EFT"),
                    ("claims", "claims"),
                    ("amount", "amount"),
                    ("complete", "complete"),
                ],
                limit=200,
            ),
        ),
        (
            "Balancing (ERA001-ERA005)",
            _table(
                report.get("balancing", []),
                [
                    ("rule", "finding"),
                    ("title", "what"),
                    ("payer_name", "payer"),
                    ("check_number", "check/EFT"),
                    ("claim", "claim"),
                    ("message", "detail"),
                ],
                limit=200,
            ),
        ),
        (
            "Provider-level adjustments (PLB)",
            _table(
                report.get("provider_adjustments", []),
                [
                    ("payment_date", "paid on"),
                    ("payer_name", "payer"),
                    ("check_number", "check/EFT"),
                    ("reason", "reason"),
                    ("reference", "reference"),
                    ("claim", "recouped claim"),
                    ("amount", "amount"),
                ],
                limit=200,
            ),
        ),
        (
            "Every denial",
            _table(
                [{**d, "payer_label": payer_label(d["payer"], d.get("payer_name"))} for d in report["denials"]],
                [
                    ("payer_label", "payer"),
                    ("claim", "claim"),
                    ("line_id", "line"),
                    ("service_date", "service date"),
                    ("payment_date", "paid on"),
                    ("check_number", "check/EFT"),
                    ("procedure", "code"),
                    ("modifiers", "modifiers"),
                    ("group", "group"),
                    ("carc", "CARC"),
                    ("rarc", "RARC"),
                    ("reason", "reason"),
                    ("amount", "amount"),
                    ("rule", "rule"),
                    ("rule_title", "rule checks"),
                    ("basis", "basis"),
                ],
                limit=500,
            ),
        ),
    ]
    front = report.get("front_end_rejections")
    if front:
        sections += [(f"Front-end rejections: {title}", content) for title, content in rejection_sections(front)]
    body = "".join(f"<h2>{html.escape(title)}</h2>{content}" for title, content in sections)
    span = f"{period['since'] or 'the first remittance'} to {period['until'] or 'today'}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mohsedi denial report {html.escape(span)}</title><style>{CSS}</style></head><body>"
        f'<h1>Denial root causes</h1><p class="meta">Payments from {html.escape(span)}'
        + (f", payer {html.escape(report['payer'])}" if report.get("payer") else "")
        + f'. Generated {when} by mohsedi.</p>{notes}<div class="cards">{cards}</div>{body}</body></html>\n'
    )


# ---------------------------------------------------------------- rejections (999, 277CA)


def rejection_sections(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The rejection report's sections, also shown at the end of the denial report."""
    t = report["totals"]
    cards = "".join(
        f'<div class="card"><div class="v">{html.escape(v)}</div><div class="k">{html.escape(k)}</div></div>'
        for k, v in [
            ("acknowledged (999 sets + 277CA claims)", str(t["acknowledged"])),
            ("rejected", str(t["rejected"])),
            ("rejection rate", t["rejection_rate"]),
            ("billed in rejections", f"${Decimal(t['amount_rejected']):,.2f}"),
        ]
    )
    rate = [("kind", "kind"), ("acknowledged", "acknowledged"), ("rejected", "rejected"), ("rejection_rate", "rate")]
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in report.get("notes", []))
    return [
        ("totals", notes + f'<div class="cards">{cards}</div>'),
        (
            "by rule",
            _table(
                report["by_rule"],
                [("rule", "rule"), ("title", "what it checks"), ("count", "count"), ("amount", "amount")],
            ),
        ),
        (
            "by status code",
            _table(
                report["by_status"],
                [
                    ("kind", "kind"),
                    ("status", "status"),
                    ("description", "meaning"),
                    ("count", "count"),
                    ("amount", "amount"),
                ],
            ),
        ),
        (
            "by payer (999: the clearinghouse)",
            _table(report["by_payer"], [("payer", "payer"), *rate, ("amount", "amount")]),
        ),
        ("by file sent", _table(report["by_file"], [("file", "file"), *rate, ("amount", "amount")])),
        (
            "unexplained: rejections no rule predicts yet",
            _table(
                report["unexplained"],
                [
                    ("kind", "kind"),
                    ("claim", "claim"),
                    ("status", "status"),
                    ("description", "meaning"),
                    ("amount", "amount"),
                ],
            ),
        ),
        (
            "every rejection",
            _table(
                report["rejections"],
                [
                    ("kind", "kind"),
                    ("payer", "payer"),
                    ("claim", "claim"),
                    ("set_control", "set"),
                    ("status", "status"),
                    ("description", "meaning"),
                    ("errors", "errors"),
                    ("lines", "lines"),
                    ("amount", "amount"),
                    ("rule", "rule"),
                    ("rule_title", "rule checks"),
                    ("basis", "basis"),
                ],
                limit=500,
            ),
        ),
    ]


def render_rejections_html(report: dict[str, Any], *, generated: datetime | None = None) -> str:
    period = report["period"]
    when = (generated or datetime.now()).strftime("%Y-%m-%d %H:%M")
    rows = [{**r, "lines": [f"{ln['line_id']} {ln['status']}" for ln in r["lines"]]} for r in report["rejections"]]
    body = "".join(
        f"<h2>{html.escape(title.capitalize())}</h2>{content}"
        for title, content in rejection_sections({**report, "rejections": rows})
    )
    span = f"{period['since'] or 'the first acknowledgment'} to {period['until'] or 'today'}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>mohsedi rejection report {html.escape(span)}</title><style>{CSS}</style></head><body>"
        f'<h1>Front-end rejections (999, 277CA)</h1><p class="meta">Acknowledgments from {html.escape(span)}'
        + (f", payer {html.escape(report['payer'])}" if report.get("payer") else "")
        + f". Generated {when} by mohsedi.</p>{body}</body></html>\n"
    )
