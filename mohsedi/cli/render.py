"""Renderers: findings and rules as table, JSON or CSV text. No I/O beyond returning strings."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from typing import Any

import click

from mohsedi.rules.base import Rule, Severity
from mohsedi.rules.batch import FileReport
from mohsedi.rules.registry import get_rule

SEVERITY_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}


def _predicts(code: str) -> list[dict[str, Any]]:
    try:
        return get_rule(code).predictions_json()
    except KeyError:
        return []


def report_json(reports: list[FileReport], *, fixing: bool) -> dict[str, Any]:
    files = []
    for r in reports:
        entry: dict[str, Any] = {
            "path": r.path,
            "claims": r.claims,
            "findings": [f.as_json(_predicts(f.rule)) for f in r.findings],
            "errors": ([r.error.describe()] if r.error else []) + [q.describe() for q in r.quarantined],
            "notices": r.notices,
        }
        if fixing:
            entry["output"] = r.output
            entry["applied"] = [
                {"rule": a.rule, "claim": a.claim, "line": a.line, "description": a.description} for a in r.applied
            ]
        files.append(entry)
    return {"files": files, "summary": summary_counts(reports)}


def summary_counts(reports: list[FileReport]) -> dict[str, int]:
    counts = Counter(f.severity.value for r in reports for f in r.findings)
    return {
        "files": len(reports),
        "claims": sum(r.claims for r in reports),
        "errors": counts.get("error", 0),
        "warnings": counts.get("warning", 0),
        "info": counts.get("info", 0),
        "fixes_applied": sum(len(r.applied) for r in reports),
        "unreadable": sum(1 for r in reports if r.error) + sum(len(r.quarantined) for r in reports),
    }


def report_csv(reports: list[FileReport]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["path", "claim", "line", "line_id", "rule", "severity", "fix", "message", "fix_description"])
    for r in reports:
        if r.error:
            writer.writerow([r.path, "", "", "", "", "error", "none", r.error.describe(), ""])
        for q in r.quarantined:
            writer.writerow([r.path, "", "", "", "", "error", "none", q.describe(), ""])
        for f in r.findings:
            writer.writerow(
                [
                    r.path,
                    f.claim or "",
                    f.line if f.line is not None else "",
                    f.line_id or "",
                    f.rule,
                    f.severity.value,
                    f.fix_safety.value,
                    f.message,
                    f.fix.description if f.fix else "",
                ]
            )
    return buf.getvalue()


def report_table(reports: list[FileReport], *, color: bool, fixing: bool) -> str:
    out: list[str] = []

    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if color else text

    for r in reports:
        header = f"{r.path}: {r.claims} claim{'s' if r.claims != 1 else ''}"
        if fixing and r.output:
            header += f" -> {r.output}"
        out.append(style(header, bold=True))
        if r.error:
            out.append("  " + style("unreadable: ", fg="red", bold=True) + r.error.describe())
        for q in r.quarantined:
            out.append("  " + style("transaction set left out: ", fg="red", bold=True) + q.describe())
        for notice in r.notices:
            out.append("  " + style("note: ", fg="yellow") + notice)
        for a in r.applied:
            where = f"line {a.line}" if a.line is not None else "claim"
            out.append(f"  fixed  {a.claim or '-':<14} {where:<8} {a.rule:<8} {a.description}")
        current = object()
        for f in r.findings:
            if f.claim != current:
                current = f.claim
                out.append("  " + style(f"claim {f.claim}" if f.claim else "envelope", underline=True))
            where = f"line {f.line}" if f.line is not None else "claim"
            sev = style(f"{f.severity.value:<7}", fg=SEVERITY_COLORS[f.severity.value])
            offer = ""
            if f.fix is not None:
                offer = f"  [{f.fix_safety.value} fix: {f.fix.description}]"
            elif f.fix_safety.value == "manual":
                offer = "  [manual]"
            data = f" (judged by {f.data_release})" if f.data_release else ""
            out.append(f"    {where:<8} {f.rule:<8} {sev} {f.message}{data}{offer}")
    s = summary_counts(reports)
    line = (
        f"{s['files']} file(s), {s['claims']} claim(s): {s['errors']} error(s), "
        f"{s['warnings']} warning(s), {s['info']} info, {s['fixes_applied']} fix(es) applied"
    )
    if s["unreadable"]:
        line += f", {s['unreadable']} unreadable file(s) or transaction set(s)"
    out.append(style(line, bold=True))
    return "\n".join(out) + "\n"


def render_reports(reports: list[FileReport], fmt: str, *, color: bool, fixing: bool) -> str:
    if fmt == "json":
        return json.dumps(report_json(reports, fixing=fixing), indent=2) + "\n"
    if fmt == "csv":
        return report_csv(reports)
    return report_table(reports, color=color, fixing=fixing)


def rule_json(r: Rule) -> dict[str, Any]:
    return {
        "code": r.code,
        "name": r.name,
        "title": r.title,
        "severity": r.severity.value,
        "fix": r.fix_safety.value,
        "scope": r.scope.value,
        "predicts": r.predictions_json(),
        "rejects": list(r.rejects),
        "sources": [{"title": s.title, "reference": s.reference, "verified": s.verified} for s in r.sources],
        "verified": r.verified,
        "suppresses": list(r.suppresses),
        "docs": {"what": r.docs.what, "why": r.docs.why, "example": r.docs.example, "fix": r.docs.fix},
    }


def rules_table(rules: list[Rule]) -> str:
    lines = [f"{'code':<8} {'severity':<8} {'fix':<7} title"]
    for r in rules:
        mark = "" if r.verified else "  (unverified source)"
        lines.append(f"{r.code:<8} {r.severity.value:<8} {r.fix_safety.value:<7} {r.title}{mark}")
    return "\n".join(lines) + "\n"


def rules_csv(rules: list[Rule]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["code", "name", "severity", "fix", "scope", "title", "predicts", "verified"])
    for r in rules:
        predicts = " ".join(
            f"{p['group']}-{p['carc']}" + (f"/{','.join(p['rarc'])}" if p["rarc"] else "") for p in r.predictions_json()
        )
        writer.writerow(
            [r.code, r.name, r.severity.value, r.fix_safety.value, r.scope.value, r.title, predicts, r.verified]
        )
    return buf.getvalue()


def _rejection_label(declared: str) -> str:
    return "999 (transaction set rejected)" if declared == "999" else f"277CA {declared}"


def explain(r: Rule) -> str:
    predicts = r.predictions_json()
    denial = (
        "; ".join(
            f"{p['group']}-{p['carc']}" + (f" with {', '.join(p['rarc'])}" if p["rarc"] else "") for p in predicts
        )
        if predicts
        else "no payer denial (front-end, traceability or compliance)"
    )
    refs = "\n".join(
        f"  - {s.title} [{s.reference}]"
        + ("" if s.verified else " (UNVERIFIED: probable, not confirmed in a primary source)")
        for s in r.sources
    )
    return (
        f"{r.code} ({r.name}): {r.title}\n"
        f"severity: {r.severity.value}   fix: {r.fix_safety.value}   scope: {r.scope.value}\n\n"
        f"What it checks\n  {r.docs.what}\n\n"
        f"Why it matters\n  {r.docs.why}\n  Predicted denial: {denial}\n"
        + (
            f"  Predicted front-end rejection: {', '.join(_rejection_label(x) for x in r.rejects)}\n"
            if r.rejects
            else ""
        )
        + "\n"
        f"Example\n  {r.docs.example}\n\n"
        f"Fix safety\n  {r.docs.fix}\n\n"
        f"References\n{refs}\n"
        + (f"\nCovers (silences on the same line): {', '.join(r.suppresses)}\n" if r.suppresses else "")
    )


def severity_at_or_above(reports: list[FileReport], threshold: str) -> bool:
    if threshold == "never":
        return False
    rank = Severity(threshold).rank
    return any(f.severity.rank >= rank for r in reports for f in r.findings)


Column = tuple[str, str, int]  # key, heading, width (negative: right-aligned)


def _section(heading: str, rows: list[dict], columns: list[Column]) -> list[str]:
    out = ["", heading]
    if not rows:
        return [*out, "  none"]

    def cell(text: str, width: int) -> str:
        return f"{text:<{width}}" if width > 0 else f"{text:>{-width}}"

    out.append(("  " + " ".join(cell(label, width) for _, label, width in columns)).rstrip())
    for r in rows:
        values = []
        for key, _, width in columns:
            value = r.get(key)
            text = ", ".join(value) if isinstance(value, list) else ("" if value is None else str(value))
            values.append(cell(text, width))
        out.append("  " + " ".join(values).rstrip())
    return out


RULE_COLUMNS: list[Column] = [("rule", "rule", 12), ("count", "denials", -8), ("amount", "amount", -12)]


def denials_table(data: dict[str, Any]) -> str:
    period = data["period"]
    t = data["totals"]
    lines = [
        f"Denials, payments {period['since'] or 'from the start'} .. {period['until'] or 'today'}",
        *(f"  note: {n}" for n in data.get("notes", [])),
        f"  billed {t['billed']}  paid {t['paid']}  denied {t['denied']} ({t['denial_rate']} of billed)  "
        f"{t['denials']} denied line(s) on {t['claims']} claim payment(s)",
        f"  remitted (BPR02) {t.get('remitted', '0.00')} in {t.get('remittances', 0)} payment(s)  "
        f"provider adjustments (PLB) {t.get('provider_adjustments', '0.00')}  "
        f"patient responsibility {t.get('patient_responsibility', '0.00')}",
    ]
    lines += _section("By rule", data["by_rule"], [*RULE_COLUMNS, ("title", "  what it checks", 50)])
    lines += _section(
        "By payer", data["by_payer"], [("payer", "payer", 12), *RULE_COLUMNS[1:], ("payer_name", "  name", 36)]
    )
    lines += _section("By procedure", data["by_procedure"], [("procedure", "code", 12), *RULE_COLUMNS[1:]])
    reason = [("group", "grp", 4), ("carc", "CARC", 6)]
    lines += _section("By reason", data["by_carc"], [*reason, *RULE_COLUMNS[1:], ("title", "  reason", 40)])
    lines += _section("By remark", data["by_rarc"], [("rarc", "RARC", 7), *RULE_COLUMNS[1:], ("title", "  remark", 40)])
    lines += _section(
        "Unexplained (no rule predicts these yet)",
        data["unexplained"],
        [*reason, ("procedure", "code", 8), *RULE_COLUMNS[1:], ("title", "  reason", 40)],
    )
    lines += _section("Fired but sent anyway", data["fired_sent_anyway"], RULE_COLUMNS)
    lines += _section("Fixed but still denied", data["fixed_still_denied"], RULE_COLUMNS)
    lines += _section(
        "Balancing (ERA001-ERA005)",
        data.get("balancing", []),
        [("rule", "finding", 7), ("payer", "payer", 10), ("check_number", "check/EFT", 14), ("message", "detail", 60)],
    )
    lines += _section(
        "Provider-level adjustments (PLB)",
        data.get("provider_adjustments", []),
        [
            ("payer", "payer", 10),
            ("check_number", "check/EFT", 14),
            ("reason", "why", 4),
            ("reference", "reference", 16),
            ("claim", "claim", 12),
            ("amount", "amount", -10),
        ],
    )
    lines += _section(
        "Patient responsibility (not denials)",
        data.get("patient_responsibility", []),
        [("carc", "CARC", 5), ("count", "count", -6), ("amount", "amount", -12), ("title", "  reason", 40)],
    )
    lines += _section(
        "Every denial",
        data["denials"],
        [
            ("payer", "payer", 8),
            ("claim", "claim", 12),
            ("line_id", "line", 14),
            ("service_date", "service", 10),
            ("payment_date", "paid on", 10),
            ("check_number", "check/EFT", 14),
            ("procedure", "code", 6),
            ("modifiers", "mods", 6),
            ("group", "grp", 4),
            ("carc", "CARC", 5),
            ("rarc", "RARC", 8),
            ("amount", "amount", -10),
            ("rule", " rule", 8),
            ("basis", "basis", 12),
        ],
    )
    front = data.get("front_end_rejections")
    if front:
        lines += ["", "Front-end rejections (999, 277CA)", *(f"  note: {n}" for n in front.get("notes", []))]
        lines += rejection_sections(front)
    return "\n".join(lines) + "\n"


def audit_table(data: dict[str, Any]) -> str:
    p = data["period"]
    lines = [f"Audit: {data['claims']} stored claim(s) with service {p['since']} .. {p['until']}, today's rules"]
    lines += _section(
        "What would be caught now, by rule",
        data["by_rule"],
        [
            ("rule", "rule", 8),
            ("claims", "claims", -7),
            ("findings", "findings", -9),
            ("amount", "at stake", -12),
            ("predicts", "  predicted denial", 50),
        ],
    )
    lines += _section(
        "Findings",
        data["findings"],
        [
            ("claim", "claim", 12),
            ("line", "line", -4),
            ("rule", " rule", 9),
            ("severity", "severity", 8),
            ("message", "message", 60),
        ],
    )
    return "\n".join(lines) + "\n"


def audit_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["claim", "payer", "line", "line_id", "rule", "severity", "fix", "message"])
    for f in data["findings"]:
        writer.writerow(
            [
                f["claim"],
                f["payer"],
                f["line"] or "",
                f["line_id"] or "",
                f["rule"],
                f["severity"],
                f["fix"],
                f["message"],
            ]
        )
    return buf.getvalue()


def denials_csv(data: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["payer", "claim", "line_id", "procedure", "modifiers", "group", "carc", "rarc", "amount", "rule", "basis"]
    )
    for d in data["denials"]:
        writer.writerow(
            [
                d["payer"],
                d["claim"],
                d["line_id"] or "",
                d["procedure"] or "",
                " ".join(d["modifiers"]),
                d["group"],
                d["carc"],
                " ".join(d["rarc"]),
                d["amount"],
                d["rule"] or "",
                d["basis"],
            ]
        )
    return buf.getvalue()


# ---------------------------------------------------------------- rejections (999, 277CA)

REJECTION_COLUMNS: list[Column] = [("count", "rejected", -9), ("amount", "amount", -12)]
RATE_COLUMNS: list[Column] = [
    ("kind", "kind", 6),
    ("acknowledged", "acked", -6),
    ("rejected", "rejected", -9),
    ("rejection_rate", "rate", -7),
    ("amount", "amount", -12),
]


def rejection_sections(data: dict[str, Any]) -> list[str]:
    """The rejection report's sections as table lines (also the denial report's rejections part)."""
    t = data["totals"]
    lines = [
        f"  {t['acknowledged']} acknowledged ({t['sets_acknowledged']} set(s) by 999, "
        f"{t['claims_acknowledged']} claim(s) by 277CA), {t['rejected']} rejected ({t['rejection_rate']}), "
        f"{t['amount_rejected']} of {t['amount_acknowledged']} billed",
    ]
    lines += _section(
        "By rule", data["by_rule"], [("rule", "rule", 12), *REJECTION_COLUMNS, ("title", "  what it checks", 50)]
    )
    lines += _section(
        "By status code",
        data["by_status"],
        [("kind", "kind", 6), ("status", "status", 9), *REJECTION_COLUMNS, ("description", "  meaning", 50)],
    )
    lines += _section("By payer (999: the clearinghouse)", data["by_payer"], [("payer", "payer", 14), *RATE_COLUMNS])
    lines += _section("By file sent", data["by_file"], [("file", "file", 40), *RATE_COLUMNS])
    lines += _section(
        "Unexplained (no rule predicts these yet)",
        data["unexplained"],
        [
            ("kind", "kind", 6),
            ("claim", "claim", 12),
            ("status", "status", 9),
            ("amount", "amount", -10),
            ("description", "  meaning", 44),
        ],
    )
    # One row per rejection (its money counted once); a 277CA's rejected lines named beside it.
    rows = [
        {**r, "set": r.get("set_control") or "", "lines": [f"{ln['line_id']} {ln['status']}" for ln in r["lines"]]}
        for r in data["rejections"]
    ]
    lines += _section(
        "Every rejection",
        rows,
        [
            ("kind", "kind", 6),
            ("payer", "payer", 12),
            ("claim", "claim", 12),
            ("set", "set", 5),
            ("line_id", "line", 14),
            ("status", "status", 9),
            ("amount", "amount", -10),
            ("rule", " rule", 8),
            ("basis", "basis", 12),
            ("lines", "lines rejected", 24),
            ("description", "meaning", 40),
        ],
    )
    return lines


def rejections_table(data: dict[str, Any]) -> str:
    period = data["period"]
    lines = [
        "Front-end rejections (999, 277CA), acknowledged "
        f"{period['since'] or 'from the start'} .. {period['until'] or 'today'}",
        *(f"  note: {n}" for n in data.get("notes", [])),
        *rejection_sections(data),
    ]
    return "\n".join(lines) + "\n"


def rejections_csv(data: dict[str, Any]) -> str:
    """One row per rejection: its amount counted once, its rejected lines in one column."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        ["kind", "payer", "claim", "set", "status", "description", "amount", "rule", "basis", "lines", "errors"]
    )
    for r in data["rejections"]:
        writer.writerow(
            [
                r["kind"],
                r["payer"],
                r["claim"] or "",
                r.get("set_control") or "",
                r["status"],
                r["description"],
                r["amount"],
                r["rule"] or "",
                r["basis"],
                " ".join(f"{ln['line_id']}={ln['status']}" for ln in r["lines"]),
                "; ".join(r.get("errors", [])),
            ]
        )
    return buf.getvalue()
