"""What each command does, end to end: the one library function a CLI command calls.

Checks and fixes run first; when a store is configured, what was checked (or sent, after
fixing) is recorded and remittances already stored are linked to it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mohsedi.reports.denials import Period, denial_report
from mohsedi.rules.base import Rule
from mohsedi.rules.batch import FileReport, check_paths, fix_paths
from mohsedi.rules.context import RuleOptions
from mohsedi.store.db import open_store
from mohsedi.store.ingest import IngestReport, ingest_paths
from mohsedi.store.link import link_pending
from mohsedi.store.record import record_documents

Progress = Callable[[str], None] | None


def run_check(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    db_url: str | None = None,
    progress: Progress = None,
) -> list[FileReport]:
    reports = check_paths(paths, rules, options, progress=progress)
    if db_url:
        docs = [r.document for r in reports if r.document is not None]
        findings = [f for r in reports for f in r.findings]
        record_documents(open_store(db_url), docs, findings, [], "check")
    return reports


def run_fix(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    unsafe: bool = False,
    db_url: str | None = None,
    progress: Progress = None,
) -> list[FileReport]:
    reports = fix_paths(paths, rules, options, unsafe=unsafe, progress=progress)
    if db_url:
        docs = [r.document for r in reports if r.document is not None]
        findings = [f for r in reports for f in r.initial_findings]
        applied = [a for r in reports for a in r.applied]
        record_documents(open_store(db_url), docs, findings, applied, "fix")
    return reports


def run_ingest(paths: Sequence[str], db_url: str, *, progress: Progress = None) -> list[IngestReport]:
    return ingest_paths(open_store(db_url), paths, progress=progress)


def run_link(db_url: str) -> int:
    return link_pending(open_store(db_url), everything=True)


def run_denial_report(db_url: str, period: Period, payer: str | None = None) -> dict:
    return denial_report(open_store(db_url), period, payer)
