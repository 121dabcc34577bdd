"""Check and fix whole files: the library functions behind `mohsedi check` and `mohsedi fix`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from mohsedi.claims.model import Claim
from mohsedi.errors import X12Error
from mohsedi.rules.base import Finding, Rule
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import (
    Applied,
    Document,
    check_documents,
    drop_quarantined,
    fix_documents,
    load_document,
    settle,
)
from mohsedi.rules.registry import get_rule


@dataclass
class FileReport:
    path: str
    claims: int = 0
    findings: list[Finding] = field(default_factory=list)  # after fixing, for `fix`
    applied: list[Applied] = field(default_factory=list)
    error: X12Error | None = None  # the file could not be read
    quarantined: list[X12Error] = field(default_factory=list)  # transaction sets left out
    output: str | None = None
    original: str | None = None  # text as read (fix only)
    fixed: str | None = None  # text after fixing (fix only)
    initial_findings: list[Finding] = field(default_factory=list)  # fix: what the first check found
    notices: list[str] = field(default_factory=list)  # about the batch, not a claim (edit data age)
    document: Document | None = field(default=None, repr=False)  # as read (check) or fixed (fix)


def late_dates(claims: Iterable[Claim], options: RuleOptions) -> set[date]:
    """Dates of service after the end of the newest NCCI release loaded."""
    newest = options.edit_data().newest()
    if newest is None:
        return set()
    covered_until = newest.covers_until
    return {d for c in claims for d in c.service_dates if d > covered_until}


def late_data_notices(late: set[date], options: RuleOptions) -> list[str]:
    """Say when claims are dated after the newest NCCI release loaded (they are judged by it)."""
    newest = options.edit_data().newest()
    if newest is None or not late:
        return []
    first, last = min(late), max(late)
    return [
        f"{len(late)} date(s) of service from {first} to {last} are after {newest.covers_until}, the end of "
        f"the newest NCCI release loaded ({newest}); they were judged by it. Import the current quarter "
        "with `mohsedi data import`."
    ]


def data_notices(doc: Document, options: RuleOptions) -> list[str]:
    if doc.error is not None:
        return []
    return late_data_notices(late_dates(doc.claims(), options), options)


def _reports(docs: Sequence[Document], findings: list[Finding]) -> list[FileReport]:
    by_source: dict[str, list[Finding]] = {}
    for f in findings:
        by_source.setdefault(f.source or "", []).append(f)
    reports = []
    for doc in docs:
        reports.append(
            FileReport(
                path=doc.source,
                claims=len(doc.claims()),
                findings=sorted(by_source.get(doc.source, []), key=finding_order),
                error=doc.error,
                quarantined=doc.quarantined(),
                document=doc,
            )
        )
    return reports


INCOMPLETE_NOTICE = "no fixed file was written: the file is cut short (X12007); get the whole file again"


def is_incomplete(findings: Iterable[Finding]) -> bool:
    """Whether a file's interchange, group or a set is not closed (X12007): a file cut in transfer."""
    return any(f.rule == "X12007" for f in findings)


def finding_order(f: Finding) -> tuple:
    return (f.segment or 0, f.claim or "", f.line or 0, f.rule)


def check_paths(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    progress: Callable[[str], None] | None = None,
) -> list[FileReport]:
    """Read every file, run the rules across the batch (days span files), report per file."""
    docs = []
    for path in paths:
        docs.append(load_document(path))
        if progress:
            progress(path)
    located = check_documents(docs, rules, options)
    reports = _reports(docs, [loc.finding for loc in located])
    for report, doc in zip(reports, docs, strict=True):
        report.notices = data_notices(doc, options)
    return reports


def fix_paths(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    unsafe: bool = False,
    keep_original: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[FileReport]:
    """Check, fix in memory and re-check; each report carries the fixed text (and, with
    ``keep_original``, the text as read, for a diff)."""
    docs = []
    originals = []
    for path in paths:
        doc = load_document(path)
        docs.append(doc)
        originals.append(doc.emit() if keep_original and doc.error is None else None)
        if progress:
            progress(path)
    normalizing = [get_rule(code) for code in ("X12001", "X12002", "X12003")]
    outcome = fix_documents(docs, rules, options, unsafe=unsafe, normalizing=normalizing)
    # A fixed file never carries a transaction set that could not be read.
    dropped = {doc.source: drop_quarantined(doc, normalizing[0]) for doc in docs}
    remaining = outcome.remaining
    if any(dropped.values()):
        remaining = settle(check_documents(docs, rules, options), outcome)
    reports = _reports(docs, [loc.finding for loc in remaining])
    initial = [loc.finding for loc in outcome.initial]
    for report, doc, original in zip(reports, docs, originals, strict=True):
        report.applied = [a for a in outcome.applied if a.source == doc.source]
        report.initial_findings = [f for f in initial if f.source == doc.source]
        report.notices = data_notices(doc, options)
        report.original = original
        if dropped[doc.source]:
            report.quarantined = dropped[doc.source]
            report.notices.append(
                f"{len(dropped[doc.source])} transaction set(s) that could not be read were left out of the fixed file"
            )
        if doc.error is not None:
            report.fixed = None
        elif is_incomplete(report.findings):
            report.fixed = None  # a file cut short is never written out as if it were whole
            report.notices.append(INCOMPLETE_NOTICE)
        else:
            unchanged = not report.applied and not dropped[doc.source]
            report.fixed = original if original is not None and unchanged else doc.emit()
    return reports
