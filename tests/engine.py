"""The one engine as the tests drive it: check files, or fix them into a directory beside them
and read back what was written (a fix's output is a file, never a string in a report)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mohsedi.rules.base import Rule
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.run.report import FileReport
from mohsedi.run.stream import stream_paths

OUT = "fixed-out"


def check_files(
    paths: Sequence[str], rules: Sequence[Rule] | None = None, options: RuleOptions | None = None, *, jobs: int = 1
) -> list[FileReport]:
    return stream_paths(list(paths), rules or all_rules(), options or RuleOptions(), jobs=jobs)


def fix_files(
    paths: Sequence[str],
    rules: Sequence[Rule] | None = None,
    options: RuleOptions | None = None,
    *,
    unsafe: bool = False,
    jobs: int = 1,
    out: Path | None = None,
) -> list[FileReport]:
    """Fix each file into ``out`` (default: a directory beside it), as `mohsedi fix -o` does."""
    targets = {p: (out or Path(p).parent / OUT) / Path(p).name for p in paths}
    return stream_paths(
        list(paths),
        rules or all_rules(),
        options or RuleOptions(),
        fixing=True,
        unsafe=unsafe,
        targets=targets,
        jobs=jobs,
    )


def fixed_text(report: FileReport) -> str | None:
    """What fix wrote for the file (None: nothing was written)."""
    if report.output is None:
        return None
    return Path(report.output).read_bytes().decode("utf-8", "surrogateescape")
