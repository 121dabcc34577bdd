"""What each command does, end to end: the one library function a CLI command calls.

Checks and fixes run first; when a store is configured, what was checked (or sent, after
fixing) is recorded and remittances already stored are linked to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mohsedi.rules.base import Rule
from mohsedi.rules.context import RuleOptions
from mohsedi.run.report import FileReport
from mohsedi.runtime import paused_gc

if TYPE_CHECKING:
    from mohsedi.reports.denials import Period
    from mohsedi.run.diff import Sink
    from mohsedi.store.ingest import IngestReport
    from mohsedi.store.limits import StoreFinding
    from mohsedi.store.record import RecordedFile

# The store (SQLAlchemy, alembic) and the engine (run/) are imported where used: a check
# that records nothing, or `mohsedi --help`, should not pay for them.

Progress = Callable[[str], None] | None
BytesRead = Callable[[int], None] | None


def with_edit_data(options: RuleOptions, db_url: str | None) -> RuleOptions:
    """NCCI data for checking: the shipped default plus what was imported into the store in
    use (the configured one, else the default store when it exists)."""
    if options.edits is not None:
        return options
    from mohsedi.store.paths import default_url, existing_store, holds_check_data

    url = db_url or default_url()
    if not existing_store(url) or not holds_check_data(url):
        return options
    from mohsedi.store.claimnumbers import StoredClaimNumbers
    from mohsedi.store.db import open_store
    from mohsedi.store.editdata import load_edit_data

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
    bytes_read: BytesRead = None,
    stored_names: dict[str, str] | None = None,
) -> list[FileReport]:
    """Findings per file, one transaction set at a time over ``jobs`` processes; with a store,
    each file's claims and findings are then recorded, read back one set at a time, under
    ``stored_names[path]`` where given (standard input, read through a temporary file)."""
    from mohsedi.run.stream import stream_paths

    if db_url:
        ready_store(db_url)
    options = with_edit_data(options, db_url)
    with paused_gc():
        reports = stream_paths(paths, rules, options, jobs=jobs, progress=progress, bytes_read=bytes_read)
    if db_url:
        record_reports(db_url, reports, {r.path: r.path for r in reports}, "check", stored_names or {})
    return reports


def run_fix(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    targets: dict[str, Path],
    unsafe: bool = False,
    db_url: str | None = None,
    write_unchanged: bool = True,
    jobs: int = 1,
    progress: Progress = None,
    bytes_read: BytesRead = None,
    diff: Sink | None = None,
) -> list[FileReport]:
    """Fix each file into ``targets[path]``, streamed (``write_unchanged`` False leaves a target
    alone when nothing changed); ``diff`` is handed a unified diff of each changed file. With a
    store, what was written is recorded as sent."""
    from mohsedi.run.stream import stream_paths

    if db_url:
        ready_store(db_url)  # before any file is written: an outbox is never sent unrecorded
    options = with_edit_data(options, db_url)
    with paused_gc():
        reports = stream_paths(
            paths,
            rules,
            options,
            fixing=True,
            unsafe=unsafe,
            targets=targets,
            write_unchanged=write_unchanged,
            jobs=jobs,
            progress=progress,
            bytes_read=bytes_read,
            diff=diff,
        )
    if db_url:
        record_reports(db_url, reports, {p: str(t) for p, t in targets.items()}, "fix")
    return reports


def ready_store(db_url: str) -> None:
    """Fail now, before a run writes anything, if the store cannot record it: a schema to upgrade,
    a store that cannot be opened, another installation's secret."""
    from mohsedi.store.db import open_store
    from mohsedi.store.record import store_secret

    engine = open_store(db_url)
    store_secret(engine)
    engine.dispose()  # no connection left open into the run's forked workers (--jobs)


def note_unstored(reports: Sequence[FileReport], recorded: Sequence[RecordedFile]) -> None:
    """Claims the store could not keep (over-long values) are told with the file's report."""
    by_path = {r.path: r for r in reports}
    for rec in recorded:
        report = by_path.get(rec.path)
        if report is not None:
            report.notices += [f"{f.rule} claim {f.claim}: {f.message}" for f in rec.findings]


def record_reports(
    db_url: str,
    reports: Sequence[FileReport],
    read_from: dict[str, str],
    command: str,
    stored_names: dict[str, str] | None = None,
) -> None:
    """Record each file checked (``read_from``: the input) or fixed (the file written) with its
    findings and fixes: the file is read back one transaction set at a time (memory holds a set,
    not the file), under its input's name so its findings and fixes match."""
    from mohsedi.errors import X12Error
    from mohsedi.store.db import open_store
    from mohsedi.store.record import record_file

    engine = open_store(db_url)
    for report in reports:
        if report.error is not None or (command == "fix" and report.output is None):
            continue  # unreadable, or nothing was written (cut short: X12007)
        findings = report.initial_findings if command == "fix" else report.findings
        try:
            with paused_gc():
                recorded = record_file(
                    engine,
                    read_from[report.path],
                    report.path,
                    findings,
                    report.applied,
                    command,
                    name=(stored_names or {}).get(report.path),
                )
        except X12Error as exc:  # cut short: nothing of it is stored, and the report says so
            report.notices.append(f"not recorded in the store: {exc.message}")
        else:
            if recorded.already_stored and not recorded.findings:  # told again: those left out still are
                recorded.findings = unstorable_claims(read_from[report.path])
            note_unstored([report], [recorded])


def unstorable_claims(path: str) -> list[StoreFinding]:
    """The claims of a file the store cannot keep (over-long values), read one set at a time."""
    from mohsedi.claims.reader import ClaimSet, read_claim_file
    from mohsedi.store.limits import fit_claims

    return [f for unit in read_claim_file(path) if isinstance(unit, ClaimSet) for f in fit_claims(unit.claims)[1]]


def run_record(paths: Sequence[str], db_url: str, *, progress: Progress = None) -> list[FileReport]:
    """Store claims sent by other software as they are, so remittances can be linked to them,
    one transaction set at a time. No findings are stored: none was reported before they were
    sent (today's rules still predict their denials when remittances are linked)."""
    from mohsedi.errors import X12Error
    from mohsedi.store.db import open_store
    from mohsedi.store.record import record_file

    engine = open_store(db_url)
    reports = []
    for path in paths:
        report = FileReport(path)
        try:
            with paused_gc():
                recorded = record_file(engine, path, path, [], [], "record")
        except X12Error as exc:
            report.error = exc.located(path)
        except OSError as exc:
            report.error = X12Error(f"cannot read the file: {exc.strerror or exc}", source=path)
        else:
            report.claims = recorded.claims
            report.quarantined = recorded.quarantined
            note_unstored([report], [recorded])
            if recorded.already_stored:
                report.notices.append("already stored, nothing changed")
        reports.append(report)
        if progress:
            progress(path)
    return reports


def store_holds_claims(db_url: str) -> bool:
    """Whether any 837P claims were recorded in the store (denials can be traced to rules)."""
    from mohsedi.store.db import open_store
    from mohsedi.store.record import has_claims

    return has_claims(open_store(db_url))


def run_ingest(
    paths: Sequence[str], db_url: str, *, progress: Progress = None, policy_path: str | None = None
) -> list[IngestReport]:
    """Store 835s; what counts as a denial takes the policy file's extra payment adjustments."""
    from mohsedi.codes.denials import payment_adjustments
    from mohsedi.policy.payers import load_policy
    from mohsedi.store.db import open_store
    from mohsedi.store.ingest import ingest_paths

    payment = payment_adjustments(load_policy(policy_path).payment_adjustments)
    with paused_gc():
        return ingest_paths(open_store(db_url), paths, progress=progress, payment_adjustments=payment)


def run_link(db_url: str) -> int:
    from mohsedi.store.acks import link_pending_acks
    from mohsedi.store.db import open_store
    from mohsedi.store.link import link_pending

    engine = open_store(db_url)
    return link_pending(engine) + link_pending_acks(engine)


def run_denial_report(db_url: str, period: Period, payer: str | None = None) -> dict:
    """The root-cause report; its JSON holds the contract's keys (period, denials, by_rule)."""
    from mohsedi.reports.denials import root_cause_report
    from mohsedi.reports.rejections import rejection_report
    from mohsedi.store.db import open_store

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
    from mohsedi.store.db import open_store

    return rejection_report(open_store(db_url), period, payer)


def run_audit(db_url: str, days: int) -> dict:
    from mohsedi.reports.audit import audit
    from mohsedi.store.db import open_store

    return audit(open_store(db_url), days)
