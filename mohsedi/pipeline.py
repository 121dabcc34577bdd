"""What each command does, end to end: the one library function a CLI command calls.

Checks and fixes run first; when a store is configured, what was checked (or sent, after
fixing) is recorded and remittances already stored are linked to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from mohsedi.reports.audit import audit
from mohsedi.reports.denials import Period, root_cause_report
from mohsedi.rules.base import Rule
from mohsedi.rules.batch import FileReport, check_paths, fix_paths
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.stream import stream_paths
from mohsedi.runtime import paused_gc
from mohsedi.store.claimnumbers import StoredClaimNumbers
from mohsedi.store.db import default_url, existing_store, open_store
from mohsedi.store.editdata import load_edit_data
from mohsedi.store.ingest import IngestReport, ingest_paths
from mohsedi.store.link import link_pending
from mohsedi.store.record import record_documents

Progress = Callable[[str], None] | None


def with_edit_data(options: RuleOptions, db_url: str | None) -> RuleOptions:
    """NCCI data for checking: the shipped default plus what was imported into the store in
    use (the configured one, else the default store when it exists)."""
    if options.edits is not None:
        return options
    url = db_url or default_url()
    if not existing_store(url):
        return options
    engine = open_store(url)
    # The store also knows the payer's claim numbers of claims it holds remits for (X12006).
    return dataclasses.replace(options, edits=load_edit_data(engine), original_claim_number=StoredClaimNumbers(engine))


def run_check(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    db_url: str | None = None,
    jobs: int = 1,
    progress: Progress = None,
) -> list[FileReport]:
    """Findings per file. Streams one transaction set at a time over ``jobs`` processes, unless
    the batch is recorded in a store or validated by pyx12 (both need each file whole)."""
    options = with_edit_data(options, db_url)
    if not db_url and not options.tr3:
        with paused_gc():
            return stream_paths(paths, rules, options, jobs=jobs, progress=progress)
    with paused_gc():
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
    keep_original: bool = False,
    targets: dict[str, Path] | None = None,
    write_unchanged: bool = True,
    jobs: int = 1,
    progress: Progress = None,
) -> list[FileReport]:
    """Fix each file. With ``targets``, fixed files are streamed to them (``write_unchanged``
    False leaves a target alone when nothing changed) and reports carry no text; otherwise, or
    when a store, pyx12 validation or the text as read (a diff) is wanted, each report carries
    its fixed text for the caller to write."""
    options = with_edit_data(options, db_url)
    if targets is not None and not db_url and not options.tr3 and not keep_original:
        with paused_gc():
            return stream_paths(
                paths,
                rules,
                options,
                fixing=True,
                unsafe=unsafe,
                targets=targets,
                write_unchanged=write_unchanged,
                jobs=jobs,
                progress=progress,
            )
    with paused_gc():
        reports = fix_paths(paths, rules, options, unsafe=unsafe, keep_original=keep_original, progress=progress)
    if db_url:
        docs = [r.document for r in reports if r.document is not None]
        findings = [f for r in reports for f in r.initial_findings]
        applied = [a for r in reports for a in r.applied]
        record_documents(open_store(db_url), docs, findings, applied, "fix")
    return reports


def run_ingest(
    paths: Sequence[str], db_url: str, *, progress: Progress = None, policy_path: str | None = None
) -> list[IngestReport]:
    """Store 835s; what counts as a denial takes the policy file's extra payment adjustments."""
    from mohsedi.codes.denials import payment_adjustments
    from mohsedi.policy.payers import load_policy

    payment = payment_adjustments(load_policy(policy_path).payment_adjustments)
    with paused_gc():
        return ingest_paths(open_store(db_url), paths, progress=progress, payment_adjustments=payment)


def run_link(db_url: str) -> int:
    from mohsedi.store.acks import link_pending_acks

    engine = open_store(db_url)
    return link_pending(engine, everything=True) + link_pending_acks(engine)


def run_denial_report(db_url: str, period: Period, payer: str | None = None) -> dict:
    """The root-cause report; its JSON holds the contract's keys (period, denials, by_rule)."""
    from mohsedi.reports.rejections import rejection_report

    engine = open_store(db_url)
    report = root_cause_report(engine, period, payer)
    report["payer"] = payer
    # What never reached an 835: the 999 and 277CA rejections of the same period.
    front = rejection_report(engine, period, payer)
    report["front_end_rejections"] = {k: v for k, v in front.items() if k not in ("period", "payer")}
    return report


def run_rejection_report(db_url: str, period: Period, payer: str | None = None) -> dict:
    """Front-end rejections; its JSON holds the contract's keys (period, rejections, by_rule, totals)."""
    from mohsedi.reports.rejections import rejection_report

    return rejection_report(open_store(db_url), period, payer)


def run_audit(db_url: str, days: int) -> dict:
    return audit(open_store(db_url), days)
