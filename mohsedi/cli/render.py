"""Renderers: findings and rules as table, JSON or CSV text.

Findings are written to a sink (a function taking text) one at a time as the writer walks the
reports: a run's findings are never turned into one dict each, nor into one string, and JSON
goes through the C encoder (compact dumps, indented by hand around them). `to_output` is the
sink for a file (written atomically) or standard output. The rest return strings.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import click

from mohsedi.rules.base import Finding, Rule, Severity
from mohsedi.rules.registry import get_rule
from mohsedi.run.report import FileReport, run_notices
from mohsedi.text import printable

Write = Callable[[str], None]

SEVERITY_COLORS = {"error": "red", "warning": "yellow", "info": "cyan"}

# A spreadsheet runs a cell beginning with one of these as a formula (OWASP "CSV injection");
# values from an 835 or a claim come from outside the practice.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell a spreadsheet shows as text: one that would start a formula gets a
    leading quote. Numbers stay numbers, including decimal strings such as "-12.50"."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def csv_lines(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """Every CSV mohsedi writes goes through here, one line at a time."""
    # Rows end in "\n" as before; each is written with "\r\n" as its terminator only so that the
    # csv module quotes a value holding a lone CR (it quotes the terminator's characters alone).
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for cells in ([header], ([csv_cell(v) for v in row] for row in rows)):
        for row in cells:
            buf.seek(0)
            buf.truncate()
            writer.writerow(row)
            yield buf.getvalue()[:-2] + "\n"


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    return "".join(csv_lines(header, rows))


class RuleFacts:
    """What the writers show of a rule beside its findings, looked up once per rule per run."""

    def __init__(self) -> None:
        self._predicts: dict[str, list[dict[str, Any]]] = {}

    def predicts(self, code: str) -> list[dict[str, Any]]:
        """A rule's predictions (callers do not mutate them); [] for a code no rule has."""
        found = self._predicts.get(code)
        if found is None:
            try:
                found = get_rule(code).predictions_json()
            except KeyError:
                found = []
            self._predicts[code] = found
        return found


def _dump(value: Any) -> str:
    return json.dumps(value)  # no indent: the C encoder


def _json_items(items: Iterable[str], indent: str) -> Iterator[str]:
    """A JSON array of already-dumped items, one per line under ``indent``."""
    first = True
    for item in items:
        yield ("[\n" if first else ",\n") + indent + "  " + item
        first = False
    yield "[]" if first else "\n" + indent + "]"


def _file_json(r: FileReport, facts: RuleFacts, *, fixing: bool) -> Iterator[str]:
    pad = "      "
    yield "    {\n" + f'{pad}"path": {_dump(r.path)},\n{pad}"claims": {r.claims},\n{pad}"findings": '
    yield from _json_items((_dump(f.as_json(facts.predicts(f.rule))) for f in r.findings), pad)
    errors = ([r.error.describe()] if r.error else []) + [q.describe() for q in r.quarantined]
    yield f',\n{pad}"errors": {_dump(errors)},\n{pad}"notices": {_dump(r.notices)}'
    if fixing:
        yield f',\n{pad}"output": {_dump(r.output)},\n{pad}"applied": '
        applied = ({"rule": a.rule, "claim": a.claim, "line": a.line, "description": a.description} for a in r.applied)
        yield from _json_items((_dump(a) for a in applied), pad)
    yield "\n    }"


def write_json(reports: list[FileReport], write: Write, *, fixing: bool) -> None:
    """The contract's document ({"files", "notices", "summary"}), a finding at a time."""
    facts = RuleFacts()
    write('{\n  "files": [')
    for n, r in enumerate(reports):
        write(",\n" if n else "\n")
        for piece in _file_json(r, facts, fixing=fixing):
            write(piece)
    write("\n  ]" if reports else "]")
    write(f',\n  "notices": {_dump(run_notices(reports))},\n  "summary": {_dump(summary_counts(reports))}\n}}\n')


def summary_counts(reports: list[FileReport]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for r in reports:  # counted as the sets were checked: the findings are not read again
        counts.update(r.findings.by_severity())
    return {
        "files": len(reports),
        "claims": sum(r.claims for r in reports),
        "errors": counts.get("error", 0),
        "warnings": counts.get("warning", 0),
        "info": counts.get("info", 0),
        "fixes_applied": sum(len(r.applied) for r in reports),
        "unreadable": sum(1 for r in reports if r.error) + sum(len(r.quarantined) for r in reports),
    }


CSV_HEADER = ["path", "claim", "line", "line_id", "rule", "severity", "fix", "message", "fix_description"]


def _csv_rows(reports: list[FileReport]) -> Iterator[list[object]]:
    for r in reports:
        if r.error:
            yield [r.path, "", "", "", "", "error", "none", r.error.describe(), ""]
        for q in r.quarantined:
            yield [r.path, "", "", "", "", "error", "none", q.describe(), ""]
        for f in r.findings:
            yield [
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


def write_csv(reports: list[FileReport], write: Write) -> None:
    for line in csv_lines(CSV_HEADER, _csv_rows(reports)):
        write(line)


def fit(prefix: str, text: str, width: int | None, indent: int | None = None) -> list[str]:
    """``prefix + text``, the text wrapped under itself when the line would pass ``width``
    (``indent``: the visible width of the prefix, when it holds colour codes)."""
    lead = len(prefix) if indent is None else indent
    if width is None or lead + len(text) <= width:
        return [prefix + text]
    room = max(width - lead, 20)
    lines = textwrap.wrap(text, room, break_on_hyphens=False) or [""]
    return [prefix + lines[0], *(" " * lead + line for line in lines[1:])]


def _finding_lines(f: Finding, style: Callable[..., str], width: int | None) -> list[str]:
    p = printable
    where = f"line {f.line}" if f.line is not None else "claim"
    sev = style(f"{f.severity.value:<7}", fg=SEVERITY_COLORS[f.severity.value])
    offer = ""
    if f.fix is not None:
        offer = f"  [{f.fix_safety.value} fix: {p(f.fix.description)}]"
    elif f.fix_safety.value == "manual":
        offer = "  [manual]"
    data = f" (judged by {f.data_release})" if f.data_release else ""
    prefix = f"    {where:<8} {f.rule:<8} "
    return fit(prefix + sev + " ", f"{p(f.message)}{p(data)}{offer}", width, len(prefix) + 8)


def table_lines(reports: list[FileReport], *, color: bool, fixing: bool, width: int | None = None) -> Iterator[str]:
    """Findings grouped by file and claim, a line at a time; with ``width`` (a terminal's), long
    messages wrap."""

    def style(text: str, **kw: Any) -> str:
        return click.style(text, **kw) if color else text

    p = printable  # every value from a file or its name; our own styling is added around them
    for r in reports:
        header = f"{p(r.path)}: {r.claims} claim{'s' if r.claims != 1 else ''}"
        if fixing and r.output:
            header += f" -> {p(r.output)}"
        yield style(header, bold=True)
        if r.error:
            yield "  " + style("unreadable: ", fg="red", bold=True) + r.error.describe()
        for q in r.quarantined:
            yield "  " + style("transaction set left out: ", fg="red", bold=True) + q.describe()
        for notice in r.notices:
            yield from fit("  " + style("note: ", fg="yellow"), p(notice), width, 8)
        for a in r.applied:
            where = f"line {a.line}" if a.line is not None else "claim"
            yield from fit(f"  fixed  {p(a.claim or '-'):<14} {where:<8} {a.rule:<8} ", p(a.description), width)
        current = object()
        for f in r.findings:
            if f.claim != current:
                current = f.claim
                yield "  " + style(f"claim {p(f.claim)}" if f.claim else "envelope", underline=True)
            yield from _finding_lines(f, style, width)
    for notice in run_notices(reports):
        yield from fit(style("note: ", fg="yellow"), p(notice), width, 6)
    s = summary_counts(reports)
    line = (
        f"{s['files']} file(s), {s['claims']} claim(s): {s['errors']} error(s), "
        f"{s['warnings']} warning(s), {s['info']} info, {s['fixes_applied']} fix(es) applied"
    )
    if s["unreadable"]:
        line += f", {s['unreadable']} unreadable file(s) or transaction set(s)"
    yield style(line, bold=True)


def report_table(reports: list[FileReport], *, color: bool, fixing: bool, width: int | None = None) -> str:
    return "".join(line + "\n" for line in table_lines(reports, color=color, fixing=fixing, width=width))


def write_reports(
    reports: list[FileReport], fmt: str, write: Write, *, color: bool, fixing: bool, width: int | None = None
) -> None:
    """The findings report in ``fmt``, handed to ``write`` piece by piece."""
    if fmt == "json":
        write_json(reports, write, fixing=fixing)
    elif fmt == "csv":
        write_csv(reports, write)
    else:
        for line in table_lines(reports, color=color, fixing=fixing, width=width):
            write(line + "\n")


def render_reports(reports: list[FileReport], fmt: str, *, color: bool, fixing: bool, width: int | None = None) -> str:
    out: list[str] = []
    write_reports(reports, fmt, out.append, color=color, fixing=fixing, width=width)
    return "".join(out)


class _Buffered:
    """Pieces gathered into blocks of about 64 KiB before they are written."""

    BLOCK = 1 << 16

    def __init__(self, flush: Write) -> None:
        self.pieces: list[str] = []
        self.size = 0
        self.flush_to = flush

    def write(self, piece: str) -> None:
        self.pieces.append(piece)
        self.size += len(piece)
        if self.size >= self.BLOCK:
            self.flush()

    def flush(self) -> None:
        if self.pieces:
            self.flush_to("".join(self.pieces))
            self.pieces, self.size = [], 0


@contextlib.contextmanager
def to_output(output: str | None) -> Iterator[Write]:
    """A sink for a report: the file ``output`` (written atomically: complete or not at all),
    else standard output."""
    if output:
        from mohsedi.files import atomic_output

        with atomic_output(output) as fh:

            def to_file(text: str) -> None:
                fh.write(text.encode("utf-8", "surrogateescape"))  # bytes read that were not UTF-8, as read

            sink = _Buffered(to_file)
            yield sink.write
            sink.flush()
        return
    sink = _Buffered(lambda text: click.echo(text, nl=False))
    yield sink.write
    sink.flush()


def statistics(reports: list[FileReport]) -> list[dict[str, Any]]:
    """Findings counted per rule, most first (as `ruff check --statistics`)."""
    counts: Counter[str] = Counter()
    for r in reports:
        counts.update(r.findings.by_rule())
    rows = []
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        try:
            rule: Rule | None = get_rule(code)
        except KeyError:
            rule = None
        rows.append(
            {
                "rule": code,
                "count": count,
                "severity": rule.severity.value if rule else "",
                "fix": rule.fix_safety.value if rule else "",
                "title": rule.title if rule else "",
            }
        )
    return rows


def render_statistics(reports: list[FileReport], fmt: str, *, width: int | None = None) -> str:
    rows = statistics(reports)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["rule", "count", "severity", "fix", "title"])
        writer.writerows([r["rule"], r["count"], r["severity"], r["fix"], r["title"]] for r in rows)
        return buf.getvalue()
    digits = max([len(str(r["count"])) for r in rows] + [5])
    out: list[str] = []
    for r in rows:
        prefix = f"{r['count']:>{digits}}  {r['rule']:<8} {r['severity']:<7} {r['fix']:<7} "
        out += fit(prefix, r["title"], width)
    total = sum(r["count"] for r in rows)
    out.append(f"{total:>{digits}}  finding(s) of {len(rows)} rule(s)")
    return "\n".join(out) + "\n"


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
        "status": r.status.value,
        "since": r.since,
        "docs": {
            "what": r.docs.what,
            "why": r.docs.why,
            "example": r.docs.example,
            "fix": r.docs.fix,
            "case": r.docs.case,
        },
    }


def rules_table(rules: list[Rule]) -> str:
    lines = [f"{'code':<8} {'severity':<8} {'fix':<7} title"]
    for r in rules:
        mark = "" if r.verified else "  (unverified source)"
        lines.append(f"{r.code:<8} {r.severity.value:<8} {r.fix_safety.value:<7} {r.title}{mark}")
    return "\n".join(lines) + "\n"


def rules_csv(rules: list[Rule]) -> str:
    rows = []
    for r in rules:
        predicts = " ".join(
            f"{p['group']}-{p['carc']}" + (f"/{','.join(p['rarc'])}" if p["rarc"] else "") for p in r.predictions_json()
        )
        rows.append(
            [r.code, r.name, r.severity.value, r.fix_safety.value, r.scope.value, r.title, predicts, r.verified]
        )
    return csv_text(["code", "name", "severity", "fix", "scope", "title", "predicts", "verified"], rows)


def _rejection_label(declared: str) -> str:
    return "999 (transaction set rejected)" if declared == "999" else f"277CA {declared}"


def explain(r: Rule) -> str:
    from mohsedi.rules.docs import cite, predicted_denials

    denial = predicted_denials(r)
    refs = "\n".join(f"  - {c}" for c in cite(r))
    return (
        f"{r.code} ({r.name}): {r.title}\n"
        f"severity: {r.severity.value}   fix: {r.fix_safety.value}   scope: {r.scope.value}   "
        f"{r.status.value} since {r.since}\n\n"
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
    return any(Severity(s).rank >= rank for r in reports for s, n in r.findings.by_severity().items() if n)


Column = tuple[str, str, int]  # key, heading, width (negative: right-aligned)


def _section(heading: str, rows: list[dict], columns: list[Column], width: int | None = None) -> list[str]:
    """A titled table. Each column is as wide as its widest value (at least its given width), so
    a long claim id never runs into the next column; with ``width`` (a terminal's), the last
    column is cut to fit, marked with an ellipsis."""
    out = ["", heading]
    if not rows:
        return [*out, "  none"]

    def text_of(value: object) -> str:
        return printable(", ".join(value) if isinstance(value, list) else ("" if value is None else str(value)))

    cells = [[text_of(r.get(key)) for key, _, _ in columns] for r in rows]
    sizes = [
        max([abs(given), len(label)] + [len(row[i]) for row in cells]) for i, (_, label, given) in enumerate(columns)
    ]

    def line(values: list[str]) -> str:
        parts = [
            f"{v:<{size}}" if given > 0 else f"{v:>{size}}"
            for v, size, (_, _, given) in zip(values, sizes, columns, strict=True)
        ]
        text = ("  " + " ".join(parts)).rstrip()
        if width is not None and len(text) > width:
            text = text[: max(width - 1, 0)].rstrip() + "\u2026"
        return text

    out.append(line([label for _, label, _ in columns]))
    out += [line(row) for row in cells]
    return out


RULE_COLUMNS: list[Column] = [("rule", "rule", 12), ("count", "denials", -8), ("amount", "amount", -12)]


def denials_table(data: dict[str, Any], *, width: int | None = None) -> str:
    def section(heading: str, rows: list[dict], columns: list[Column]) -> list[str]:
        return _section(heading, rows, columns, width)

    period = data["period"]
    t = data["totals"]
    lines = [
        f"Denials, payments {period['since'] or 'from the start'} .. {period['until'] or 'today'}",
        *(f"  note: {n}" for n in [*data.get("notes", []), *filter(None, [data.get("code_texts_note")])]),
        f"  billed {t['billed']}  paid {t['paid']}  denied {t['denied']} ({t['denial_rate']} of billed)  "
        f"{t['denials']} denied line(s) on {t['claims']} claim payment(s)",
        f"  remitted (BPR02) {t.get('remitted', '0.00')} in {t.get('remittances', 0)} payment(s)  "
        f"provider adjustments (PLB) {t.get('provider_adjustments', '0.00')}  "
        f"patient responsibility {t.get('patient_responsibility', '0.00')}",
    ]
    if width is not None:  # the totals wrap under themselves, as findings do
        indent = [len(line) - len(line.lstrip()) for line in lines]
        lines = [w for line, n in zip(lines, indent, strict=True) for w in fit(" " * n, line.lstrip(), width)]
    lines += section("By rule", data["by_rule"], [*RULE_COLUMNS, ("title", "  what it checks", 50)])
    lines += section(
        "By payer", data["by_payer"], [("payer", "payer", 12), *RULE_COLUMNS[1:], ("payer_name", "  name", 36)]
    )
    lines += section("By procedure", data["by_procedure"], [("procedure", "code", 12), *RULE_COLUMNS[1:]])
    reason = [("group", "grp", 4), ("carc", "CARC", 6)]
    lines += section("By reason", data["by_carc"], [*reason, *RULE_COLUMNS[1:], ("title", "  reason", 40)])
    lines += section("By remark", data["by_rarc"], [("rarc", "RARC", 7), *RULE_COLUMNS[1:], ("title", "  remark", 40)])
    lines += section(
        "Unexplained (no rule predicts these yet)",
        data["unexplained"],
        [*reason, ("procedure", "code", 8), *RULE_COLUMNS[1:], ("title", "  reason", 40)],
    )
    lines += section("Fired but sent anyway", data["fired_sent_anyway"], RULE_COLUMNS)
    lines += section("Fixed but still denied", data["fixed_still_denied"], RULE_COLUMNS)
    lines += section(
        "Balancing (ERA001-ERA005)",
        data.get("balancing", []),
        [("rule", "finding", 7), ("payer", "payer", 10), ("check_number", "check/EFT", 14), ("message", "detail", 60)],
    )
    lines += section(
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
    lines += section(
        "Patient responsibility (not denials)",
        data.get("patient_responsibility", []),
        [("carc", "CARC", 5), ("count", "count", -6), ("amount", "amount", -12), ("title", "  reason", 40)],
    )
    lines += section(
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


def audit_table(data: dict[str, Any], *, width: int | None = None) -> str:
    def section(heading: str, rows: list[dict], columns: list[Column]) -> list[str]:
        return _section(heading, rows, columns, width)

    p = data["period"]
    lines = [f"Audit: {data['claims']} stored claim(s) with service {p['since']} .. {p['until']}, today's rules"]
    lines += section(
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
    lines += section(
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
    return csv_text(
        ["claim", "payer", "line", "line_id", "rule", "severity", "fix", "message"],
        (
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
            for f in data["findings"]
        ),
    )


def denials_csv(data: dict[str, Any]) -> str:
    return csv_text(
        ["payer", "claim", "line_id", "procedure", "modifiers", "group", "carc", "rarc", "amount", "rule", "basis"],
        (
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
            for d in data["denials"]
        ),
    )


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
    return csv_text(
        ["kind", "payer", "claim", "set", "status", "description", "amount", "rule", "basis", "lines", "errors"],
        (
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
            for r in data["rejections"]
        ),
    )
