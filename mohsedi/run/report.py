"""What a run says about each file, and once for the whole run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from mohsedi.claims.model import Claim
from mohsedi.codes.ncci import Release
from mohsedi.errors import X12Error
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import Applied
from mohsedi.run.findings import Findings, as_findings


@dataclass
class FileReport:
    """One file's outcome. Its findings are a `Findings`: on disk in the run's spool (a few held
    beside), read back one at a time by the writers and the store; a list given is taken as is."""

    path: str
    claims: int = 0
    findings: Findings = field(default_factory=Findings)  # after fixing, for `fix`
    applied: list[Applied] = field(default_factory=list)
    error: X12Error | None = None  # the file could not be read
    quarantined: list[X12Error] = field(default_factory=list)  # transaction sets left out
    output: str | None = None  # fix: the file written (None: nothing was written)
    initial_findings: Findings = field(default_factory=Findings)  # fix: what the first check found
    notices: list[str] = field(default_factory=list)  # about this file, not a claim
    # Dates of service after the newest NCCI release, and that release: stated once per run (run_notices).
    late_dates: set[date] = field(default_factory=set)
    judged_by: Release | None = None

    def __post_init__(self) -> None:
        self.findings = as_findings(self.findings)
        self.initial_findings = as_findings(self.initial_findings)


def late_dates(claims: Iterable[Claim], options: RuleOptions) -> set[date]:
    """Dates of service after the end of the newest NCCI release loaded."""
    newest = options.edit_data().newest()
    if newest is None:
        return set()
    covered_until = newest.covers_until
    return {d for c in claims for d in c.service_dates if d > covered_until}


def late_data_notices(late: set[date], newest: Release | None) -> list[str]:
    """Say when claims are dated after the newest NCCI release loaded (they are judged by it)."""
    if newest is None or not late:
        return []
    first, last = min(late), max(late)
    return [
        f"{len(late)} date(s) of service from {first} to {last} are after {newest.covers_until}, the end of "
        f"the newest NCCI release loaded ({newest}); they were judged by it. Import the current quarter "
        "with `mohsedi data import`."
    ]


def run_notices(reports: Sequence[FileReport]) -> list[str]:
    """What a run says once, whatever the number of files: dates past the newest NCCI release."""
    late = {d for r in reports for d in r.late_dates}
    newest = next((r.judged_by for r in reports if r.judged_by is not None), None)
    return late_data_notices(late, newest)


def note_late_dates(report: FileReport, late: set[date], options: RuleOptions) -> None:
    report.late_dates = late
    report.judged_by = options.edit_data().newest() if late else None


INCOMPLETE_NOTICE = "no fixed file was written: the file is cut short (X12007); get the whole file again"


def is_incomplete(findings: Findings) -> bool:
    """Whether a file's interchange, group or a set is not closed (X12007): a file cut in transfer."""
    return findings.by_rule()["X12007"] > 0
