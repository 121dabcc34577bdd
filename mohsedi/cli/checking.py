"""The daily commands on claims: check, fix, and ack (a 999 for each file received)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from mohsedi.cli.common import (
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    common_options,
    is_store_error,
    pick_format,
    refuse_overwriting_inputs,
    resolve_rules,
    rule_options,
    store_failure,
    store_url,
    terminal_width,
    use_color,
)
from mohsedi.files import atomic_write
from mohsedi.text import printable

if TYPE_CHECKING:
    from mohsedi.cli.inputs import Progress


def finish(
    reports: list,
    fmt: str | None,
    output: str | None,
    fail_on: str,
    quiet: bool,
    *,
    fixing: bool,
    baseline: str | None = None,
    show_statistics: bool = False,
) -> None:
    from mohsedi.cli.render import render_statistics, severity_at_or_above, to_output, write_reports

    if baseline:
        from mohsedi.cli.baseline import BaselineError, apply_baseline, load_baseline

        try:
            apply_baseline(reports, load_baseline(baseline), baseline)
        except BaselineError as exc:
            raise click.BadParameter(str(exc), param_hint="--baseline") from None
    chosen = pick_format(fmt, output)
    width = terminal_width(chosen, output)
    unreadable = any(r.error or r.quarantined for r in reports)
    failing = severity_at_or_above(reports, fail_on)
    if not quiet or unreadable or failing or output:
        with to_output(output) as write:  # findings written as they are walked, never one string
            if show_statistics:
                write(render_statistics(reports, chosen, width=width))
            else:
                write_reports(reports, chosen, write, color=use_color(chosen, output), fixing=fixing, width=width)
    for r in reports:
        if r.error:
            click.echo(f"mohsedi: {r.error.describe()}", err=True)
    sys.exit(EXIT_ERROR if unreadable else EXIT_FINDINGS if failing else EXIT_CLEAN)


@dataclass(frozen=True)
class SharedOptions:
    """The options check and fix share (common_options), as click passes them."""

    fmt: str | None
    output: str | None
    select: tuple[str, ...]
    ignore: tuple[str, ...]
    fail_on: str
    distinct_modifier: str
    clia: str | None
    policy_path: str | None
    case_log_path: str | None
    today: str | None
    tr3: bool
    db_url: str | None
    jobs: int
    show_statistics: bool
    baseline: str | None
    quiet: bool

    @property
    def rule_inputs(self) -> list[str | None]:
        """Files the rules read, never to be overwritten by an output."""
        return [self.policy_path, self.case_log_path]

    def rules_and_options(self):
        rules = resolve_rules(self.select, self.ignore)
        return rules, rule_options(
            self.distinct_modifier, self.clia, self.policy_path, self.case_log_path, self.today, self.tr3
        )

    def finish(self, reports: list, *, fixing: bool) -> None:
        finish(
            reports,
            self.fmt,
            self.output,
            self.fail_on,
            self.quiet,
            fixing=fixing,
            baseline=self.baseline,
            show_statistics=self.show_statistics,
        )


@contextmanager
def progress_and_store_errors(paths: list[str]) -> Iterator[Progress]:
    """Progress on the terminal for a run over ``paths``; the store's errors told in one line
    (anything else is a bug to show)."""
    from mohsedi.cli.inputs import Progress

    progress = Progress(paths)
    try:
        yield progress
    except Exception as exc:
        if not is_store_error(exc):
            raise
        store_failure(exc)
    finally:
        progress.close()


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@common_options
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Accept every finding of this run: write them to FILE (for --baseline) instead of a report.",
)
def check(files, write_baseline, **shared):
    """Check 837P files against the rule catalog; change nothing.

    A directory means the 837P files in it; - reads standard input.

    \b
    Examples:
      mohsedi check samples/*.837
      mohsedi check inbound/ --statistics
      mohsedi check claims.837 --format json -o findings.json
      mohsedi check claims.837 --select MOHS --ignore MOHS007 --fail-on warning
      mohsedi check big-batch.837 --jobs 2
      mohsedi check claims.837 --write-baseline accepted.json ; mohsedi check claims.837 --baseline accepted.json
      clearinghouse-export | mohsedi check -

    Files are read one transaction set at a time, so a file of any size fits in memory
    (--tr3 reads one file whole at a time for pyx12). With --db URL the claims and
    findings are recorded in that store; otherwise check writes nothing.
    """
    from mohsedi.cli.inputs import expand, stdin_spooled
    from mohsedi.pipeline import run_check, with_edit_data

    opts = SharedOptions(**shared)
    refuse_overwriting_inputs([opts.output], [*files, *opts.rule_inputs], db_url=store_url(opts.db_url))
    rules, options = opts.rules_and_options()
    # check records only into a store named on its command line; a configured one (file,
    # environment) is read for imported NCCI data but left as it is.
    recording = click.get_current_context().get_parameter_source("db_url") == ParameterSource.COMMANDLINE
    with (
        stdin_spooled(expand(files, "837", stdin=True)) as (paths, shown),
        progress_and_store_errors(paths) as progress,
    ):
        if not recording:
            options = with_edit_data(options, store_url(opts.db_url))
        reports = run_check(
            paths,
            rules,
            options,
            db_url=opts.db_url if recording else None,
            jobs=opts.jobs,
            progress=progress.file_done,
            bytes_read=progress.bytes_read,
            stored_names={p: shown(p) for p in paths},
        )
    for r in reports:
        r.path = shown(r.path)
    if write_baseline:
        write_accepted(reports, write_baseline, opts.quiet)
    opts.finish(reports, fixing=False)


def write_accepted(reports: list, path: str, quiet: bool) -> None:
    import json

    from mohsedi.cli.baseline import baseline_json

    data = baseline_json(reports)
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode("utf-8"))
    for r in reports:
        if r.error:
            click.echo(f"mohsedi: {r.error.describe()}", err=True)
    unreadable = any(r.error or r.quarantined for r in reports)
    if not quiet:
        count = sum(a["findings"] for a in data["accepted"])
        click.echo(f"wrote {path}: {count} finding(s) accepted on {len(data['accepted'])} claim and rule pair(s)")
    sys.exit(EXIT_ERROR if unreadable else EXIT_CLEAN)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Directory for the fixed files (same names as the inputs).",
)
@click.option("--in-place", is_flag=True, help="Overwrite the input files with their fixed versions.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply unsafe fixes (each is listed as applied).")
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff of each change.")
@common_options(report_flags=("--report",))
def fix(files, out_dir, in_place, unsafe_fixes, show_diff, **shared):
    """Check 837P files, apply fixes, write the fixed files (with --tr3, the output is validated).

    Safe fixes run by default, unsafe ones with --unsafe-fixes; manual findings are only
    reported. Inputs are never overwritten unless --in-place (which keeps each file's mode
    and owner, and writes through a symbolic link to its target); files are written
    atomically, new ones with the mode the umask gives. A directory means the 837P files in
    it. The exit code reflects what remains after fixing.

    The claims written are recorded, as sent, in the store (--db, else the configured or
    default one), so that `mohsedi ingest` can trace their denials to rules.

    \b
    Examples:
      mohsedi fix claims.837 -o outbox/
      mohsedi fix claims.837 -o outbox/ --unsafe-fixes --diff
      mohsedi fix claims.837 --in-place --format json --report fixes.json
    """

    from mohsedi.cli.inputs import expand
    from mohsedi.pipeline import run_fix

    opts = SharedOptions(**shared)
    policy_path, case_log_path, output = opts.policy_path, opts.case_log_path, opts.output

    if bool(out_dir) == bool(in_place):
        raise click.UsageError("give exactly one of -o/--output DIR or --in-place")
    paths = expand(files, "837")  # fix names its outputs after its inputs: no standard input
    targets = {}
    for path in paths:
        target = Path(path) if in_place else Path(out_dir) / Path(path).name
        if not in_place and target.resolve() == Path(path).resolve():
            raise click.UsageError(f"{target} is the input itself; use --in-place to overwrite inputs")
        targets[path] = target
    if len({t.resolve() for t in targets.values()}) != len(targets):
        raise click.UsageError("two inputs have the same name; fix them into different directories")
    if not in_place:
        refuse_overwriting_inputs(list(targets.values()), [*paths, policy_path, case_log_path])
    refuse_overwriting_inputs([output], [*paths, *targets.values(), *opts.rule_inputs], db_url=store_url(opts.db_url))
    rules, options = opts.rules_and_options()
    diff_to_stderr = bool(output is None and pick_format(opts.fmt, output) != "table")
    with progress_and_store_errors(paths) as progress:
        reports = run_fix(
            paths,
            rules,
            options,
            targets=targets,
            unsafe=unsafe_fixes,
            db_url=store_url(opts.db_url),
            write_unchanged=not in_place,  # in place, untouched files stay as they are
            jobs=opts.jobs,
            progress=progress.file_done,
            bytes_read=progress.bytes_read,
            diff=(lambda piece: click.echo(piece, nl=False, err=diff_to_stderr)) if show_diff else None,
        )
    opts.finish(reports, fixing=True)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Directory for the 999 files (default: beside each input, as NAME.999).",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
def ack(files, out_dir, quiet):
    """Write a 999 implementation acknowledgment for each received file.

    pyx12 writes it (with IK3/IK4 detail) when it can; otherwise mohsedi writes a plain one
    that accepts or rejects each transaction set. Files are written atomically.

    \b
    Examples:
      mohsedi ack inbound/claims.837
      mohsedi ack inbound/*.837 -o acks/
    """
    from mohsedi.errors import X12Error
    from mohsedi.guide.ack import acknowledge
    from mohsedi.x12.segments import decode

    failed = False
    targets = {name: (Path(out_dir) if out_dir else Path(name).parent) / (Path(name).name + ".999") for name in files}
    if len({t.resolve() for t in targets.values()}) != len(targets):
        raise click.UsageError("two inputs have the same name: their 999s would overwrite each other in one directory")
    refuse_overwriting_inputs(list(targets.values()), list(files))
    for name, target in targets.items():
        path = Path(name)
        try:
            text, writer = acknowledge(decode(path.read_bytes()), source=str(path))
        except X12Error as exc:
            click.echo(f"mohsedi: {exc.located(str(path)).describe()}", err=True)
            failed = True
            continue
        atomic_write(target, text.encode("utf-8"))
        if not quiet:
            click.echo(printable(f"{path}: 999 written to {target} ({writer})"))
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN)
