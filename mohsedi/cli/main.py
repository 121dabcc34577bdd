"""The `mohsedi` command: each subcommand parses options and calls one library function."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from mohsedi import __version__
from mohsedi.files import atomic_write, clobbered_input
from mohsedi.runtime import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, clean_up_on_signals, tune_for_batches
from mohsedi.store.paths import StoreError, default_url
from mohsedi.text import printable

# Everything else is imported inside the command that uses it: `mohsedi --help` loads click
# alone, and a check that records nothing never loads SQLAlchemy, alembic, numpy or matplotlib
# (tests/test_startup.py holds this).

if TYPE_CHECKING:
    from mohsedi.rules.context import RuleOptions

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ["table", "json", "csv"]


def pick_format(fmt: str | None, output: str | None) -> str:
    """Table on a terminal; JSON when piped or written to a file, for scripts."""
    if fmt:
        return fmt
    return "table" if output is None and sys.stdout.isatty() else "json"


def emit_output(text: str, output: str | None) -> None:
    if output:
        atomic_write(output, text.encode("utf-8"))
    else:
        click.echo(text, nl=False)


def store_files(url: str | None) -> list[str]:
    """The files a SQLite store is made of (none for a server)."""
    if not url or not url.startswith("sqlite:///"):
        return []
    path = url.removeprefix("sqlite:///")
    return [] if path in ("", ":memory:") else [path + suffix for suffix in ("", "-wal", "-shm", "-journal")]


def refuse_overwriting_inputs(outputs: list, inputs: list, *, db_url: str | None = None) -> None:
    """Usage error (exit 2) when an output would overwrite something read: an input file, the
    policy or case log, the store. The inputs stay untouched."""
    hit = clobbered_input([o for o in outputs if o], [i for i in inputs if i] + store_files(db_url))
    if hit is not None:
        output, given = hit
        raise click.UsageError(f"{output} would overwrite an input ({given}); write the output elsewhere")


def split_codes(values: tuple[str, ...]) -> list[str]:
    return [c for v in values for c in v.replace(",", " ").split()]


def common_options(f=None, *, report_flags: tuple[str, ...] = ("-o", "--output")):
    """The options check and fix share; fix takes -o for its output directory (the contract)."""
    if f is None:
        return lambda g: common_options(g, report_flags=report_flags)
    options = [
        click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default=None,
            help="Output format. Default: table on a terminal, else json.",
        ),
        click.option(
            *report_flags,
            "output",
            type=click.Path(dir_okay=False),
            help="Write the report to this file (atomically) instead of standard output.",
        ),
        click.option(
            "--select", multiple=True, metavar="CODES", help="Only these rules or prefixes, e.g. --select MOHS,X12002."
        ),
        click.option(
            "--ignore", multiple=True, metavar="CODES", help="Leave out these rules or prefixes, e.g. --ignore MOHS007."
        ),
        click.option(
            "--fail-on",
            type=click.Choice(["error", "warning", "info", "never"]),
            default="error",
            show_default=True,
            help="Exit 1 when findings at or above this severity remain.",
        ),
        click.option(
            "--distinct-modifier",
            type=click.Choice(["XS", "59"]),
            default="XS",
            show_default=True,
            help="Distinct-lesion modifier fixes add, unless a payer policy says otherwise.",
        ),
        click.option("--clia", metavar="NUMBER", help="The practice's CLIA number, for MOHS017's fix."),
        click.option(
            "--policy",
            "policy_path",
            type=click.Path(dir_okay=False),
            help="Payer policy file (TOML; schemas/payer-policy.schema.json). Default: "
            "$XDG_CONFIG_HOME/mohsedi/policy.toml (~/.config/mohsedi/policy.toml) when it exists, "
            "else Medicare defaults for every payer.",
        ),
        click.option(
            "--case-log",
            "case_log_path",
            type=click.Path(dir_okay=False),
            help="Mohs case log, CSV or JSON, one row per stage (schemas/case-log.schema.json).",
        ),
        click.option(
            "--today", metavar="YYYY-MM-DD", help="Judge dates (timely filing) as of this day; also $MOHSEDI_TODAY."
        ),
        click.option(
            "--tr3", is_flag=True, help="Also validate against the implementation guide with pyx12 (TR3 rules; slow)."
        ),
        click.option(
            "--db",
            "db_url",
            metavar="URL",
            help="Store for claims and findings. Default: $MOHSEDI_DATABASE_URL, else the config's "
            "database, else sqlite:///$XDG_DATA_HOME/mohsedi/mohsedi.db (~/.local/share/mohsedi/mohsedi.db). "
            "fix records what it writes there; check records only when --db is given.",
        ),
        click.option(
            "-j",
            "--jobs",
            type=click.IntRange(min=0),
            default=1,
            show_default=True,
            callback=lambda _ctx, _param, value: value or os.cpu_count() or 1,
            help="Processes to spread files and transaction sets over (0: one per CPU). The "
            "output is the same for any number.",
        ),
        click.option(
            "--statistics",
            "show_statistics",
            is_flag=True,
            help="Count the findings per rule instead of listing them.",
        ),
        click.option(
            "--baseline",
            type=click.Path(dir_okay=False),
            metavar="FILE",
            help="Leave out findings accepted in this file (per claim and rule; written by "
            "`mohsedi check --write-baseline`). Fixes still apply.",
        ),
        click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something fails (for cron)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def rule_options(
    distinct_modifier: str,
    clia: str | None,
    policy_path: str | None,
    case_log_path: str | None,
    today: str | None,
    tr3: bool = False,
) -> RuleOptions:
    """The choices rules cannot make from the claim: payer policies, the case log, the date."""
    from datetime import date

    from mohsedi.policy.caselog import CaseLogError, load_case_log
    from mohsedi.policy.payers import PolicyError, load_policy
    from mohsedi.rules.context import RuleOptions

    try:
        policy = load_policy(policy_path)
        case_log = load_case_log(case_log_path) if case_log_path else None
    except (PolicyError, CaseLogError) as exc:
        click.echo(f"mohsedi: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if case_log is not None:
        for problem in case_log.problems:
            click.echo(f"mohsedi: {problem}", err=True)
    day = None
    if today:
        try:
            day = date.fromisoformat(today)
        except ValueError:
            raise click.BadParameter(f"{today!r} is not YYYY-MM-DD", param_hint="--today") from None
    return RuleOptions(
        distinct_lesion_modifier=distinct_modifier,
        clia_number=clia,
        policy=policy,
        case_log=case_log,
        today=day,
        tr3=tr3,
    )


def resolve_rules(select: tuple[str, ...], ignore: tuple[str, ...]):
    from mohsedi.rules.registry import select_rules

    try:
        return select_rules(split_codes(select), split_codes(ignore))
    except KeyError as exc:
        raise click.UsageError(f"no rule code starts with {exc.args[0]!r} (see `mohsedi rules list`)") from None


def on_terminal(chosen: str, output: str | None) -> bool:
    return chosen == "table" and output is None and sys.stdout.isatty()


def terminal_width(chosen: str, output: str | None) -> int | None:
    """Tables fit the terminal they are shown on; written to a file or a pipe, lines stay whole."""
    if not on_terminal(chosen, output):
        return None
    import shutil

    return shutil.get_terminal_size().columns


def use_color(chosen: str, output: str | None) -> bool:
    """Colour on a terminal, unless NO_COLOR is set to anything (https://no-color.org)."""
    return on_terminal(chosen, output) and not os.environ.get("NO_COLOR")


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


class MohsediGroup(click.Group):
    """Ctrl-C and SIGTERM end a run with 130 and 143 (click's default is 1, which here means
    findings), after every temporary file and spool has been removed on the way out."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("mohsedi: interrupted; nothing half-written was left", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except Terminated:
            click.echo("mohsedi: terminated; nothing half-written was left", err=True)
            sys.exit(EXIT_TERMINATED)


@click.group(cls=MohsediGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mohsedi")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """X12 837P/835 processor for Mohs-surgery and dermatology billing.

    \b
    Daily claims:   mohsedi check claims.837
                    mohsedi fix claims.837 -o outbox/ --diff
    Remittances:    mohsedi ingest remits/*.835
    Reports:        mohsedi report denials --since 90d --format html -o denials.html
    The catalog:    mohsedi rules list ; mohsedi rules explain MOHS004

    Exit codes: 0 clean, 1 findings at or above --fail-on remain, 2 usage error,
    unreadable input or internal error.

    Settings made once (store, policy, case log, select/ignore, fail-on, modifier, CLIA,
    jobs) go in [tool.mohsedi] of a pyproject.toml or in a mohsedi.toml, found from the
    working directory upward, or in ~/.config/mohsedi/config.toml; options override them.
    `mohsedi config` shows the values in effect and where each came from.
    """
    from mohsedi.cli.config import default_map, effective

    tune_for_batches()
    clean_up_on_signals()
    ctx.default_map = default_map(cli, effective())


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@common_options
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Accept every finding of this run: write them to FILE (for --baseline) instead of a report.",
)
def check(
    files,
    fmt,
    output,
    select,
    ignore,
    fail_on,
    distinct_modifier,
    clia,
    policy_path,
    case_log_path,
    today,
    tr3,
    db_url,
    jobs,
    show_statistics,
    baseline,
    quiet,
    write_baseline,
):
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
    from mohsedi.cli.inputs import Progress, expand, stdin_spooled
    from mohsedi.pipeline import run_check, with_edit_data

    refuse_overwriting_inputs([output], [*files, policy_path, case_log_path], db_url=store_url(db_url))
    rules = resolve_rules(select, ignore)
    options = rule_options(distinct_modifier, clia, policy_path, case_log_path, today, tr3)
    # check records only into a store named on its command line; a configured one (file,
    # environment) is read for imported NCCI data but left as it is.
    recording = click.get_current_context().get_parameter_source("db_url") == ParameterSource.COMMANDLINE
    with stdin_spooled(expand(files, "837", stdin=True)) as (paths, shown):
        progress = Progress(paths)
        try:
            if not recording:
                options = with_edit_data(options, store_url(db_url))
            reports = run_check(
                paths,
                rules,
                options,
                db_url=db_url if recording else None,
                jobs=jobs,
                progress=progress.file_done,
                bytes_read=progress.bytes_read,
            )
        except Exception as exc:  # the store's errors in one line; anything else is a bug to show
            if not is_store_error(exc):
                raise
            store_failure(exc)
        finally:
            progress.close()
    for r in reports:
        r.path = shown(r.path)
    if write_baseline:
        write_accepted(reports, write_baseline, quiet)
    finish(reports, fmt, output, fail_on, quiet, fixing=False, baseline=baseline, show_statistics=show_statistics)


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


@cli.command()
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
def fix(
    files,
    out_dir,
    in_place,
    unsafe_fixes,
    show_diff,
    fmt,
    output,
    select,
    ignore,
    fail_on,
    distinct_modifier,
    clia,
    policy_path,
    case_log_path,
    today,
    tr3,
    db_url,
    jobs,
    show_statistics,
    baseline,
    quiet,
):
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

    from mohsedi.cli.inputs import Progress, expand
    from mohsedi.pipeline import run_fix

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
    refuse_overwriting_inputs(
        [output], [*paths, *targets.values(), policy_path, case_log_path], db_url=store_url(db_url)
    )
    rules = resolve_rules(select, ignore)
    options = rule_options(distinct_modifier, clia, policy_path, case_log_path, today, tr3)
    progress = Progress(paths)
    diff_to_stderr = bool(output is None and pick_format(fmt, output) != "table")
    try:
        reports = run_fix(
            paths,
            rules,
            options,
            targets=targets,
            unsafe=unsafe_fixes,
            db_url=store_url(db_url),
            write_unchanged=not in_place,  # in place, untouched files stay as they are
            jobs=jobs,
            progress=progress.file_done,
            bytes_read=progress.bytes_read,
            diff=(lambda piece: click.echo(piece, nl=False, err=diff_to_stderr)) if show_diff else None,
        )
    except Exception as exc:  # the store's errors in one line; anything else is a bug to show
        if not is_store_error(exc):
            raise
        store_failure(exc)
    finally:
        progress.close()
    finish(reports, fmt, output, fail_on, quiet, fixing=True, baseline=baseline, show_statistics=show_statistics)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--db", "db_url", metavar="URL", help="Store to record in. Default: the one every command uses.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something fails (for cron).")
def record(files, db_url, quiet):
    """Record 837P files sent by other software, as they are, so remittances link to their claims.

    `mohsedi fix` records what it writes by itself; use this for claims that did not go
    through it. Nothing is checked or changed; recording a file twice changes nothing.
    A directory means the 837P files in it.

    \b
    Examples:
      mohsedi record sent/2026-11-*.837
      mohsedi record outbox/claims.837 && mohsedi link
    """
    from mohsedi.cli.inputs import Progress, expand
    from mohsedi.pipeline import run_record

    paths = expand(files, "837")
    progress = Progress(paths)
    try:
        reports = run_record(paths, store_url(db_url), progress=progress.file_done)
    except StoreError as exc:
        store_failure(exc)
    finally:
        progress.close()
    failed = False
    for r in reports:
        problems = ([r.error] if r.error else []) + r.quarantined
        failed = failed or bool(problems)
        if not quiet and r.error is None:
            click.echo(f"{r.path}: " + (r.notices[0] if r.notices else f"{r.claims} claim(s) recorded"))
        for problem in problems:
            click.echo(f"mohsedi: {problem.describe()}", err=True)
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN)


@cli.command()
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


@cli.command("config")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default=None, help="Default: table on a terminal."
)
def config_command(fmt):
    """Show the settings in effect and where each came from (file, environment or default).

    \b
    Files, the later winning; options on a command line override them all:
      ~/.config/mohsedi/config.toml ($XDG_CONFIG_HOME/mohsedi/config.toml)
      mohsedi.toml, or pyproject.toml's [tool.mohsedi], nearest the working directory upward
    \b
    Keys: database, policy, case-log, select, ignore, fail-on, distinct-modifier, clia, jobs.
    Example mohsedi.toml:
      database = "postgresql+psycopg://billing@db/mohsedi"
      policy = "policy.toml"          # relative to this file
      case-log = "mohs-log.csv"
      ignore = ["MOHS007"]
      distinct-modifier = "XS"
    """
    import json

    from mohsedi.cli.config import SETTINGS, effective, project_file, user_file

    values = effective()
    defaults = {
        "database": default_url(),
        "fail-on": "error",
        "distinct-modifier": "XS",
        "jobs": 1,
        "select": [],
        "ignore": [],
    }
    rows: list[dict[str, Any]] = []
    for setting in SETTINGS:
        found = values.get(setting.key)
        value = found.value if found else defaults.get(setting.key)
        if isinstance(value, tuple):
            value = list(value)
        rows.append({"key": setting.key, "value": value, "source": found.source if found else "default"})
    project = project_file(Path.cwd().resolve())
    files = {"user": str(user_file()), "project": str(project[0]) if project else None}
    if pick_format(fmt, None) == "json":
        click.echo(json.dumps({"settings": rows, "files": files}, indent=2))
        return
    width = max(len(r["key"]) for r in rows)
    for r in rows:
        value = r["value"]
        text = "(none)" if value is None else ", ".join(value) if isinstance(value, list) else str(value)
        click.echo(f"{r['key']:<{width}}  {text}  [{r['source']}]")
    click.echo(f"\nuser file:    {files['user']}" + ("" if user_file().is_file() else " (none)"))
    click.echo(f"project file: {files['project'] or '(none found from here upward)'}")


@cli.group()
def rules() -> None:
    """The rule catalog: list it, explain one rule."""


@rules.command("list")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format. Default: table on a terminal, else json.",
)
@click.option("--select", multiple=True, metavar="CODES", help="Only these rules or prefixes.")
def rules_list(fmt, select):
    """List every rule with its severity and fix safety.

    \b
    Examples:
      mohsedi rules list
      mohsedi rules list --select MOHS --format csv
    """
    import json

    from mohsedi.cli.render import rule_json, rules_csv, rules_table

    chosen = resolve_rules(select, ())
    fmt = pick_format(fmt, None)
    if fmt == "json":
        click.echo(json.dumps([rule_json(r) for r in chosen], indent=2))
    elif fmt == "csv":
        click.echo(rules_csv(chosen), nl=False)
    else:
        click.echo(rules_table(chosen), nl=False)


@rules.command("docs")
@click.option(
    "--write",
    "directory",
    type=click.Path(file_okay=False),
    default="docs",
    show_default=True,
    help="Where rules.md and the rules.toml snapshot go.",
)
def rules_docs(directory):
    """Regenerate the catalog documents from the registry: rules.md and the rules.toml snapshot.

    Refuses when a code in the snapshot left the registry without a redirect (codes are never reused).

    \b
    Example:
      mohsedi rules docs --write docs
    """
    from pathlib import Path

    from mohsedi.rules.docs import write_docs
    from mohsedi.rules.registry import REDIRECTS, all_rules

    try:
        written = write_docs(Path(directory), all_rules(), REDIRECTS)
    except ValueError as exc:
        click.echo(f"mohsedi: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    for path in written:
        click.echo(f"wrote {path}")


@rules.command("explain")
@click.argument("code")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rules_explain(code, fmt):
    """Show one rule's documentation: what, why, example, fix safety, references.

    \b
    Example:
      mohsedi rules explain MOHS004
    """
    import json

    from mohsedi.cli.render import explain, rule_json
    from mohsedi.rules.registry import get_rule

    try:
        r = get_rule(code)
    except KeyError:
        raise click.UsageError(f"no rule {code!r} (see `mohsedi rules list`)") from None
    click.echo(json.dumps(rule_json(r), indent=2) if fmt == "json" else explain(r), nl=fmt == "json")


def store_url(db_url: str | None) -> str:
    return db_url or default_url()


def require_existing_store(url: str) -> None:
    """Reading commands never create a store: a SQLite path that is not there is a mistake
    (a typo, the wrong machine), not an empty store."""
    from mohsedi.store.db import existing_store

    if not existing_store(url):
        click.echo(
            printable(
                f"mohsedi: no store at {url}: check --db / $MOHSEDI_DATABASE_URL, "
                "or fill one with `mohsedi ingest` and `mohsedi check --db`"
            ),
            err=True,
        )
        sys.exit(EXIT_ERROR)


def is_store_error(exc: BaseException) -> bool:
    """A StoreError or any SQLAlchemy error, told without importing SQLAlchemy (startup stays light)."""
    return isinstance(exc, StoreError) or type(exc).__module__.startswith("sqlalchemy.")


def store_failure(exc: Exception) -> None:
    """One line, exit 2. A database error is told by its first line only: its full text
    holds the SQL and the values bound to it (account numbers)."""
    if type(exc).__module__.startswith("sqlalchemy."):  # not imported here: --help stays light
        from mohsedi.store.db import describe_db_error

        # A SQLAlchemyError, told by its module: sqlalchemy is not imported here (--help stays light).
        message = f"the store failed: {describe_db_error(exc)}"  # type: ignore[arg-type]
    else:
        message = str(exc)
    click.echo(printable(f"mohsedi: {message}"), err=True)
    sys.exit(EXIT_ERROR)


DB_HELP = (
    "Database URL. Default: $MOHSEDI_DATABASE_URL, else the config's database, else "
    "sqlite:///$XDG_DATA_HOME/mohsedi/mohsedi.db (~/.local/share/mohsedi/mohsedi.db)."
)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format. Default: table on a terminal, else json.",
)
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(dir_okay=False),
    help="Payer policy file: its [denials] payment_adjustments are CARCs never counted as denials.",
)
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless something fails (for cron).")
def ingest(files, db_url, fmt, policy_path, quiet):
    """Read 835 remittances into the store and link each denial to its line and rule.

    A payment is stored once: the same ERA again, even re-sent in a new envelope, changes
    nothing (ERA004). A file cut short (no SE, GE or IEA) is refused and stores nothing. Each
    payment is balanced (ERA001-ERA003) and the findings are kept with it. A directory means
    the files in it. Remits for claims not recorded yet are linked when the claims arrive.

    \b
    Examples:
      mohsedi ingest remits/*.835
      mohsedi ingest remits/
      mohsedi ingest era.835 --db postgresql+psycopg://billing@db/mohsedi
    """
    import json

    from sqlalchemy.exc import SQLAlchemyError

    from mohsedi.cli.inputs import STDIN, Progress
    from mohsedi.pipeline import run_ingest, store_holds_claims
    from mohsedi.policy.payers import PolicyError
    from mohsedi.store.ingest import expand_inputs

    if STDIN in files:
        raise click.UsageError("this command reads files, not standard input (-): save it to a file first")
    paths = expand_inputs(list(files))
    progress = Progress(paths)
    try:
        url = store_url(db_url)
        reports = run_ingest(paths, url, progress=progress.file_done, policy_path=policy_path)
    except PolicyError as exc:
        click.echo(printable(f"mohsedi: {exc}"), err=True)
        sys.exit(EXIT_ERROR)
    except (StoreError, SQLAlchemyError) as exc:
        store_failure(exc)
    finally:
        progress.close()
    failed = any(r.error or r.quarantined for r in reports)
    from mohsedi.store.limits import OVERLONG

    unstored = any(f.rule == OVERLONG for r in reports for f in r.findings)  # a claim payment left out
    chosen = pick_format(fmt, None)
    if not quiet and not store_holds_claims(url):
        click.echo(NO_CLAIMS_NOTE.format(url=url), err=True)
    if not quiet or failed or unstored:
        if chosen == "json":
            click.echo(json.dumps({"files": [ingest_json(r) for r in reports]}, indent=2))
        else:
            for r in reports:
                click.echo(ingest_line(r))
    for r in reports:
        for problem in ([r.error] if r.error else []) + r.quarantined:
            click.echo(f"mohsedi: {problem.describe()}", err=True)
        for f in r.findings:
            if f.rule == OVERLONG:
                click.echo(printable(f"mohsedi: {r.path}: {f.rule} claim {f.claim or '-'}: {f.message}"), err=True)
    sys.exit(EXIT_ERROR if failed else EXIT_FINDINGS if unstored else EXIT_CLEAN)


NO_CLAIMS_NOTE = (
    "mohsedi: note: the store {url} holds no claims, so denials cannot be traced to their lines and "
    "rules yet. Claims are recorded by `mohsedi fix FILE -o DIR` (what it writes, as sent); record "
    "claims sent by other software with `mohsedi record FILE...`, then run `mohsedi link`."
)


def ingest_json(r) -> dict:
    """The contract's shape (contract.md, `mohsedi ingest --format json`), plus counts."""
    return {
        "path": r.path,
        "kind": r.kind,
        "status": r.status,
        "remittances": r.remittances,
        "already_stored_remittances": r.already,
        "claims": r.claim_payments,
        "service_payments": r.service_payments,
        "denials": r.denials,
        "acknowledgments": r.acknowledgments,
        "acknowledged": r.acknowledged,
        "rejected": r.rejected,
        "findings": [f.as_dict() for f in r.findings],
        "errors": ([r.error.describe()] if r.error else []) + [q.describe() for q in r.quarantined],
    }


def ingest_line(r) -> str:
    path = printable(r.path)
    if r.error:
        return f"{path}: refused, nothing stored"
    if r.kind != "835":
        if r.already_stored:
            return f"{path}: {r.kind} already stored, nothing changed"
        what = "transaction set(s)" if r.kind == "999" else "claim(s)"
        return f"{path}: {r.kind}, {r.acknowledged} {what} acknowledged, {r.rejected} rejected"
    if r.already_stored:
        return f"{path}: already stored ({r.already} payment(s), ERA004), nothing changed"
    text = (
        f"{path}: {r.remittances} remittance(s), {r.claim_payments} claim payment(s), "
        f"{r.service_payments} service payment(s), {r.denials} denial adjustment(s)"
    )
    if r.already:
        text += f"; {r.already} payment(s) already stored (ERA004)"
    findings = (printable(f"  {f.rule} {f.severity}: {f.claim or '-'}: {f.message}") for f in r.findings)
    return "\n".join([text, *findings])


@cli.command()
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def link(db_url):
    """Link stored remittances to claims checked since, and explain their denials again.

    \b
    Example:
      mohsedi link
    """
    from mohsedi.pipeline import run_link

    require_existing_store(store_url(db_url))
    try:
        count = run_link(store_url(db_url))
    except StoreError as exc:
        store_failure(exc)
    click.echo(f"{count} denial adjustment(s) linked or re-explained")


@cli.group()
def db() -> None:
    """The store's schema: upgrade it, show its version."""


@db.command("upgrade")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option("--revision", default="head", show_default=True)
def db_upgrade(db_url, revision):
    """Apply the migrations (an empty database is also migrated on first use)."""
    from alembic.util import CommandError
    from sqlalchemy.exc import SQLAlchemyError

    from mohsedi.store.db import current_revision, make_engine, upgrade

    url = store_url(db_url)
    try:
        upgrade(url, revision)
        reached = current_revision(make_engine(url))
    except CommandError as exc:  # an unknown revision, or one that is not ahead
        raise click.BadParameter(str(exc).splitlines()[0], param_hint="--revision") from None
    except (StoreError, SQLAlchemyError) as exc:
        store_failure(exc)
    click.echo(f"{url}: at {reached}")


@db.command("current")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def db_current(db_url):
    """Show the schema version of the store and the version this code needs."""
    from sqlalchemy.exc import SQLAlchemyError

    from mohsedi.store.db import current_revision, head_revision, make_engine

    url = store_url(db_url)
    require_existing_store(url)
    try:
        current = current_revision(make_engine(url))
    except (StoreError, SQLAlchemyError) as exc:
        store_failure(exc)
    click.echo(f"{url}: at {current}, code needs {head_revision()}")


@cli.group()
def data() -> None:
    """NCCI edit data and code lists: import a quarter, see what is loaded."""


@data.command("import")
@click.argument("kind", type=click.Choice(["ptp", "mue", "addons", "codes", "carc", "rarc"]))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--effective", metavar="YYYY-MM-DD", help="First day of the release (else read from the file names).")
@click.option("--name", metavar="TEXT", help="Release name (default: CMS NCCI practitioner KIND DATE).")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def data_import(kind, files, effective, name, db_url):
    """Load one release from the official CMS files into the store.

    \b
    PTP:    ccipra-v<ver>r0-f1.txt .. f4.txt (tab separated) or the CSV form
    MUE:    MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv or the CSV form
    addons: AOC_V<yyyy>Q<q>-MCR (text or CSV export)
    codes (or carc, rarc): the X12 code lists (code, status, description), the
            list told from the file name when given as codes

    \b
    Examples:
      mohsedi data import ptp ccipra-v321r0-f1.txt ccipra-v321r0-f2.txt --effective 2026-10-01
      mohsedi data import mue MCR_MUE_PractitionerServices_Eff_10-01-2026.csv
      mohsedi data import carc carc.csv
    """
    from mohsedi.codes.importers import DataFileError
    from mohsedi.store.editdata import import_release

    if kind == "codes":
        from mohsedi.codes.importers import code_list_kind

        kinds = {code_list_kind(Path(f)) for f in files}
        if len(kinds) != 1 or None in kinds:
            raise click.UsageError(
                "cannot tell CARC from RARC (or the files mix both): use `data import carc` or `rarc`"
            )
        kind = kinds.pop()
    day = None
    if effective:
        try:
            from datetime import date

            day = date.fromisoformat(effective)
        except ValueError:
            raise click.BadParameter(f"{effective!r} is not YYYY-MM-DD", param_hint="--effective") from None
    try:
        result = import_release(
            open_store_or_exit(db_url),
            "addon" if kind == "addons" else kind,
            [Path(f) for f in files],
            effective=day,
            name=name,
        )
    except DataFileError as exc:
        click.echo(f"mohsedi: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    if result.already_loaded:
        click.echo(f"{result.name}: already loaded, nothing changed")
    else:
        click.echo(
            f"{result.name}: {result.rows} row(s) loaded"
            + (f", in force from {result.effective}" if result.effective else "")
        )


@data.command("status")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format. Default: table on a terminal, else json.",
)
def data_status(db_url, fmt):
    """List the reference data in use, per kind (ptp, mue, addon, icd10cm, pos, carc, rarc): rows,
    effective date, the dates it covers, deletion dates, and where it comes from (shipped or imported).

    \b
    Example:
      mohsedi data status
    """
    import json

    from mohsedi.store.editdata import release_status
    from mohsedi.store.paths import existing_store

    url = store_url(db_url)
    rows = release_status(open_store_or_exit(db_url) if existing_store(url) else None)
    chosen = pick_format(fmt, None)
    records = [
        {
            "kind": r.kind,
            "release": r.name,
            "effective": r.effective.isoformat() if r.effective else None,
            "covers_until": r.covers_until.isoformat() if r.covers_until else None,
            "rows": r.rows,
            "source": r.source,
            "deleted": r.deleted,
            "last_deletion": r.last_deletion.isoformat() if r.last_deletion else None,
            "origin": r.origin,
        }
        for r in rows
    ]
    if chosen == "json":
        click.echo(json.dumps(records, indent=2))
    elif chosen == "csv":
        from mohsedi.cli.render import csv_text

        header = [
            "kind",
            "release",
            "effective",
            "covers_until",
            "rows",
            "source",
            "deleted",
            "last_deletion",
            "origin",
        ]
        click.echo(
            csv_text(header, ([r.get(k) if r.get(k) is not None else "" for k in header] for r in records)), nl=False
        )
    else:
        for r in records:
            deleted = f", {r['deleted']} deleted (last {r['last_deletion']})" if r["deleted"] else ""
            click.echo(
                f"{r['kind']:<7} {r['effective'] or '-':<10} .. {r['covers_until'] or '-':<10} "
                f"{r['rows']:>8} rows{deleted}  {r['release']}  [{r['source']}]"
            )


def open_store_or_exit(db_url: str | None):
    from mohsedi.store.db import open_store

    try:
        return open_store(store_url(db_url))
    except StoreError as exc:
        store_failure(exc)


@cli.group()
def report() -> None:
    """Reports from the store."""


@report.command("denials")
@click.option("--since", metavar="DATE", help="From this payment date: YYYY-MM-DD or relative (90d, 12w, 6m).")
@click.option("--until", metavar="DATE", help="Up to this payment date (inclusive).")
@click.option("--payer", metavar="ID", help="Only this payer id.")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "html"]),
    default=None,
    help="Output format. Default: table on a terminal, else json; html is one self-contained file.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (atomically).")
@click.option("-q", "--quiet", is_flag=True, help="With -o, print nothing on success (for cron).")
def report_denials(since, until, payer, db_url, fmt, output, quiet):
    """Denial root causes: totals, by rule (fired, predicted, unexplained), payer, code, reason and
    week; the unexplained queue; rules that fired and were sent anyway; fixes that still denied.

    \b
    Examples:
      mohsedi report denials
      mohsedi report denials --since 90d --payer SMEDC --format json -o denials.json
      mohsedi report denials --since 7d --format html -o weekly.html -q
    """
    import json

    from mohsedi.cli.render import denials_csv, denials_table
    from mohsedi.pipeline import run_denial_report

    data = _report_data(run_denial_report, since, until, payer, db_url, output)
    chosen = pick_format(fmt, output)
    if chosen == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif chosen == "csv":
        text = denials_csv(data)
    elif chosen == "html":
        from mohsedi.reports.html import render_html

        text = render_html(data)
    else:
        text = denials_table(data, width=terminal_width(chosen, output))
    emit_output(text, output)
    if output and not quiet:
        totals = data["totals"]
        click.echo(f"wrote {output}: {totals['denials']} denial(s), {totals['denied']} denied", err=True)


def _report_data(run, since, until, payer, db_url, output) -> dict:
    """What a report command asks of the store: its output never lands on the store, the store
    exists (a report never creates one), the period parses, store errors are one line."""
    from mohsedi.reports.denials import Period
    from mohsedi.reports.periods import parse_day

    refuse_overwriting_inputs([output], [], db_url=store_url(db_url))
    require_existing_store(store_url(db_url))
    try:
        period = Period(parse_day(since), parse_day(until))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        return run(store_url(db_url), period, payer)
    except StoreError as exc:
        store_failure(exc)
        raise  # store_failure exits


# ---------------------------------------------------------------- report rejections (issue 18)


@report.command("rejections")
@click.option("--since", metavar="DATE", help="From this acknowledgment date: YYYY-MM-DD or relative (90d, 12w, 6m).")
@click.option("--until", metavar="DATE", help="Up to this acknowledgment date (inclusive).")
@click.option("--payer", metavar="ID", help="Only this payer id (277CA) or clearinghouse (999 sender).")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*FORMATS, "html"]),
    default=None,
    help="Output format. Default: table on a terminal, else json; html is one self-contained file.",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (atomically).")
@click.option("-q", "--quiet", is_flag=True, help="With -o, print nothing on success (for cron).")
def report_rejections(since, until, payer, db_url, fmt, output, quiet):
    """Front-end rejections from 999 and 277CA acknowledgments of what was sent: rejection rate by
    file, payer, status code and rule (fired, predicted, unexplained), and the unexplained queue.

    \b
    Examples:
      mohsedi report rejections
      mohsedi report rejections --since 30d --format json -o rejections.json
      mohsedi report rejections --format html -o rejections.html -q
    """
    import json

    from mohsedi.cli.render import rejections_csv, rejections_table
    from mohsedi.pipeline import run_rejection_report

    data = _report_data(run_rejection_report, since, until, payer, db_url, output)
    chosen = pick_format(fmt, output)
    if chosen == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif chosen == "csv":
        text = rejections_csv(data)
    elif chosen == "html":
        from mohsedi.reports.html import render_rejections_html

        text = render_rejections_html(data)
    else:
        text = rejections_table(data)
    emit_output(text, output)
    if output and not quiet:
        totals = data["totals"]
        click.echo(f"wrote {output}: {totals['rejected']} rejected of {totals['acknowledged']} acknowledged", err=True)


@cli.command("audit")
@click.option(
    "--days", type=click.IntRange(1, 3660), default=90, show_default=True, help="Look back this many days of service."
)
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default=None, help="Output format. Default: table on a terminal."
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (atomically).")
def audit_command(days, db_url, fmt, output):
    """Re-run today's rules over the stored claims of the period: what would now be caught, and
    the money at stake, by rule.

    \b
    Examples:
      mohsedi audit --days 90
      mohsedi audit --days 365 --format csv -o audit.csv
    """
    import json

    from mohsedi.cli.render import audit_csv, audit_table
    from mohsedi.pipeline import run_audit

    refuse_overwriting_inputs([output], [], db_url=store_url(db_url))
    require_existing_store(store_url(db_url))
    try:
        data = run_audit(store_url(db_url), days)
    except StoreError as exc:
        store_failure(exc)
    chosen = pick_format(fmt, output)
    if chosen == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = audit_csv(data) if chosen == "csv" else audit_table(data, width=terminal_width(chosen, output))
    emit_output(text, output)


def main() -> None:  # pragma: no cover - console entry for `python -m mohsedi`
    cli()


__all__ = ["cli"]
