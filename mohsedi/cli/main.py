"""The `mohsedi` command: each subcommand parses options and calls one library function."""

from __future__ import annotations

import difflib
import os
import sys
from pathlib import Path

import click
from sqlalchemy.exc import SQLAlchemyError

from mohsedi import __version__
from mohsedi.cli.render import (
    explain,
    render_reports,
    rule_json,
    rules_csv,
    rules_table,
    severity_at_or_above,
)
from mohsedi.files import atomic_write
from mohsedi.pipeline import run_check, run_fix
from mohsedi.rules.batch import FileReport
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules, get_rule, select_rules
from mohsedi.runtime import tune_for_batches
from mohsedi.store.db import StoreError, default_url
from mohsedi.x12.segments import encode

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
            help="Store for claims and findings. Default: $MOHSEDI_DATABASE_URL, else "
            "sqlite:///$XDG_DATA_HOME/mohsedi/mohsedi.db (~/.local/share/mohsedi/mohsedi.db).",
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
    try:
        return select_rules(split_codes(select), split_codes(ignore))
    except KeyError as exc:
        raise click.UsageError(f"no rule code starts with {exc.args[0]!r} (see `mohsedi rules list`)") from None


def finish(
    reports: list[FileReport], fmt: str | None, output: str | None, fail_on: str, quiet: bool, *, fixing: bool
) -> None:
    chosen = pick_format(fmt, output)
    color = chosen == "table" and output is None and sys.stdout.isatty()
    unreadable = any(r.error or r.quarantined for r in reports)
    failing = severity_at_or_above(reports, fail_on)
    if not quiet or unreadable or failing or output:
        emit_output(render_reports(reports, chosen, color=color, fixing=fixing), output)
    for r in reports:
        if r.error:
            click.echo(f"mohsedi: {r.error.describe()}", err=True)
    sys.exit(EXIT_ERROR if unreadable else EXIT_FINDINGS if failing else EXIT_CLEAN)


def progress_callback(paths: list[str]):
    """A progress bar on a terminal when the batch is more than a moment's work."""
    total = sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
    if not sys.stderr.isatty() or (len(paths) < 5 and total < 20_000_000):
        return None, None
    bar = click.progressbar(length=len(paths), label="reading", file=sys.stderr)
    bar.__enter__()
    return (lambda _path: bar.update(1)), bar


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mohsedi")
def cli() -> None:
    """X12 837P/835 processor for Mohs-surgery and dermatology billing.

    \b
    Daily claims:   mohsedi check claims.837
                    mohsedi fix claims.837 -o outbox/ --diff
    Remittances:    mohsedi ingest remits/*.835
    Reports:        mohsedi report denials --since 90d --format html -o denials.html
    The catalog:    mohsedi rules list ; mohsedi rules explain MOHS004

    Exit codes: 0 clean, 1 findings at or above --fail-on remain, 2 usage error,
    unreadable input or internal error.
    """
    tune_for_batches()


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@common_options
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
    quiet,
):
    """Check 837P files against the rule catalog; change nothing.

    \b
    Examples:
      mohsedi check samples/*.837
      mohsedi check claims.837 --format json -o findings.json
      mohsedi check claims.837 --select MOHS --ignore MOHS007 --fail-on warning
      mohsedi check big-batch.837 --jobs 2

    Files are read one transaction set at a time, so a file of any size fits in memory
    (not with --db or --tr3, which need each file whole).
    """
    rules = resolve_rules(select, ignore)
    options = rule_options(distinct_modifier, clia, policy_path, case_log_path, today, tr3)
    paths = list(files)
    tick, bar = progress_callback(paths)
    try:
        reports = run_check(paths, rules, options, db_url=configured_store(db_url), jobs=jobs, progress=tick)
    except StoreError as exc:
        store_failure(exc)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    finish(reports, fmt, output, fail_on, quiet, fixing=False)


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
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
    quiet,
):
    """Check 837P files, apply fixes, write the fixed files (with --tr3, the output is validated).

    Safe fixes run by default, unsafe ones with --unsafe-fixes; manual findings are only
    reported. Inputs are never overwritten unless --in-place; files are written atomically.
    The exit code reflects what remains after fixing.

    \b
    Examples:
      mohsedi fix claims.837 -o outbox/
      mohsedi fix claims.837 -o outbox/ --unsafe-fixes --diff
      mohsedi fix claims.837 --in-place --format json --report fixes.json
    """
    if bool(out_dir) == bool(in_place):
        raise click.UsageError("give exactly one of -o/--output DIR or --in-place")
    paths = list(files)
    targets = {}
    for path in paths:
        target = Path(path) if in_place else Path(out_dir) / Path(path).name
        if not in_place and target.resolve() == Path(path).resolve():
            raise click.UsageError(f"{target} is the input itself; use --in-place to overwrite inputs")
        targets[path] = target
    if len({t.resolve() for t in targets.values()}) != len(targets):
        raise click.UsageError("two inputs have the same name; fix them into different directories")
    rules = resolve_rules(select, ignore)
    options = rule_options(distinct_modifier, clia, policy_path, case_log_path, today, tr3)
    tick, bar = progress_callback(paths)
    try:
        reports = run_fix(
            paths,
            rules,
            options,
            unsafe=unsafe_fixes,
            db_url=configured_store(db_url),
            keep_original=show_diff,
            targets={path: Path(target) for path, target in targets.items()},
            write_unchanged=not in_place,
            jobs=jobs,
            progress=tick,
        )
    except StoreError as exc:
        store_failure(exc)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for report in reports:
        if report.fixed is None:
            continue  # unreadable, or already streamed to its target
        target = targets[report.path]
        if report.applied or report.quarantined or not in_place:  # in place, untouched files stay as they are
            atomic_write(target, encode(report.fixed))
        report.output = str(target)
        if show_diff and (report.applied or report.quarantined):
            diff = difflib.unified_diff(
                (report.original or "").splitlines(keepends=True),
                report.fixed.splitlines(keepends=True),
                fromfile=report.path,
                tofile=str(target),
            )
            click.echo("".join(diff), nl=False, err=bool(output is None and pick_format(fmt, output) != "table"))
    finish(reports, fmt, output, fail_on, quiet, fixing=True)


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
    for name in files:
        path = Path(name)
        target = (Path(out_dir) if out_dir else path.parent) / (path.name + ".999")
        try:
            text, writer = acknowledge(decode(path.read_bytes()), source=str(path))
        except X12Error as exc:
            click.echo(f"mohsedi: {exc.located(str(path)).describe()}", err=True)
            failed = True
            continue
        atomic_write(target, text.encode("utf-8"))
        if not quiet:
            click.echo(f"{path}: 999 written to {target} ({writer})")
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN)


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

    chosen = resolve_rules(select, ())
    fmt = pick_format(fmt, None)
    if fmt == "json":
        click.echo(json.dumps([rule_json(r) for r in chosen], indent=2))
    elif fmt == "csv":
        click.echo(rules_csv(chosen), nl=False)
    else:
        click.echo(rules_table(chosen), nl=False)


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

    try:
        r = get_rule(code)
    except KeyError:
        raise click.UsageError(f"no rule {code!r} (see `mohsedi rules list`)") from None
    click.echo(json.dumps(rule_json(r), indent=2) if fmt == "json" else explain(r), nl=fmt == "json")


def configured_store(db_url: str | None) -> str | None:
    """check and fix record only when a store is configured (--db or $MOHSEDI_DATABASE_URL)."""
    return db_url or os.environ.get("MOHSEDI_DATABASE_URL") or None


def store_url(db_url: str | None) -> str:
    return db_url or default_url()


def store_failure(exc: Exception) -> None:
    click.echo(f"mohsedi: {exc}", err=True)
    sys.exit(EXIT_ERROR)


DB_HELP = (
    "Database URL. Default: $MOHSEDI_DATABASE_URL, else "
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
    the files in it. Remits for claims not checked yet are linked when the claims arrive.

    \b
    Examples:
      mohsedi ingest remits/*.835
      mohsedi ingest remits/
      mohsedi ingest era.835 --db postgresql+psycopg://billing@db/mohsedi
    """
    import json

    from mohsedi.pipeline import run_ingest
    from mohsedi.policy.payers import PolicyError
    from mohsedi.store.db import StoreError
    from mohsedi.store.ingest import expand_inputs

    paths = expand_inputs(list(files))
    tick, bar = progress_callback(paths)
    try:
        reports = run_ingest(paths, store_url(db_url), progress=tick, policy_path=policy_path)
    except PolicyError as exc:
        click.echo(f"mohsedi: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except (StoreError, SQLAlchemyError) as exc:
        store_failure(exc)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    failed = any(r.error or r.quarantined for r in reports)
    chosen = pick_format(fmt, None)
    if not quiet or failed:
        if chosen == "json":
            click.echo(json.dumps({"files": [ingest_json(r) for r in reports]}, indent=2))
        else:
            for r in reports:
                click.echo(ingest_line(r))
    for r in reports:
        for problem in ([r.error] if r.error else []) + r.quarantined:
            click.echo(f"mohsedi: {problem.describe()}", err=True)
    sys.exit(EXIT_ERROR if failed else EXIT_CLEAN)


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
    if r.error:
        return f"{r.path}: refused, nothing stored"
    if r.kind != "835":
        if r.already_stored:
            return f"{r.path}: {r.kind} already stored, nothing changed"
        what = "transaction set(s)" if r.kind == "999" else "claim(s)"
        return f"{r.path}: {r.kind}, {r.acknowledged} {what} acknowledged, {r.rejected} rejected"
    if r.already_stored:
        return f"{r.path}: already stored ({r.already} payment(s), ERA004), nothing changed"
    text = (
        f"{r.path}: {r.remittances} remittance(s), {r.claim_payments} claim payment(s), "
        f"{r.service_payments} service payment(s), {r.denials} denial adjustment(s)"
    )
    if r.already:
        text += f"; {r.already} payment(s) already stored (ERA004)"
    return "\n".join([text, *(f"  {f.rule} {f.severity}: {f.claim or '-'}: {f.message}" for f in r.findings)])


@cli.command()
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def link(db_url):
    """Link stored remittances to claims checked since, and explain their denials again.

    \b
    Example:
      mohsedi link
    """
    from mohsedi.pipeline import run_link
    from mohsedi.store.db import StoreError

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
    from mohsedi.store.db import current_revision, make_engine, upgrade

    url = store_url(db_url)
    upgrade(url, revision)
    click.echo(f"{url}: at {current_revision(make_engine(url))}")


@db.command("current")
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
def db_current(db_url):
    """Show the schema version of the store and the version this code needs."""
    from mohsedi.store.db import current_revision, head_revision, make_engine

    url = store_url(db_url)
    click.echo(f"{url}: at {current_revision(make_engine(url))}, code needs {head_revision()}")


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
        names = " ".join(Path(f).name.lower() for f in files)
        kind = "carc" if "carc" in names else "rarc" if "rarc" in names else ""
        if not kind:
            raise click.UsageError("cannot tell CARC from RARC by the file name: use `data import carc` or `rarc`")
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
    """List the NCCI releases in use (shipped and imported) and the dates they cover.

    \b
    Example:
      mohsedi data status
    """
    import json

    from mohsedi.store.db import existing_store
    from mohsedi.store.editdata import release_status

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
        }
        for r in rows
    ]
    if chosen == "json":
        click.echo(json.dumps(records, indent=2))
    elif chosen == "csv":
        click.echo("kind,release,effective,covers_until,rows,source")
        for r in records:
            click.echo(",".join(f'"{v}"' if isinstance(v, str) and "," in v else str(v or "") for v in r.values()))
    else:
        for r in records:
            click.echo(
                f"{r['kind']:<6} {r['effective'] or '-':<10} .. {r['covers_until'] or '-':<10} "
                f"{r['rows']:>8} rows  {r['release']}  [{r['source']}]"
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
    from mohsedi.reports.denials import Period
    from mohsedi.reports.periods import parse_day

    try:
        period = Period(parse_day(since), parse_day(until))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        data = run_denial_report(store_url(db_url), period, payer)
    except StoreError as exc:
        store_failure(exc)
    chosen = pick_format(fmt, output)
    if chosen == "json":
        text = json.dumps(data, indent=2) + "\n"
    elif chosen == "csv":
        text = denials_csv(data)
    elif chosen == "html":
        from mohsedi.reports.html import render_html

        text = render_html(data)
    else:
        text = denials_table(data)
    emit_output(text, output)
    if output and not quiet:
        totals = data["totals"]
        click.echo(f"wrote {output}: {totals['denials']} denial(s), {totals['denied']} denied", err=True)


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
    from mohsedi.reports.denials import Period
    from mohsedi.reports.periods import parse_day

    try:
        period = Period(parse_day(since), parse_day(until))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    try:
        data = run_rejection_report(store_url(db_url), period, payer)
    except StoreError as exc:
        store_failure(exc)
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

    try:
        data = run_audit(store_url(db_url), days)
    except StoreError as exc:
        store_failure(exc)
    chosen = pick_format(fmt, output)
    if chosen == "json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = audit_csv(data) if chosen == "csv" else audit_table(data)
    emit_output(text, output)


def main() -> None:  # pragma: no cover - console entry for `python -m mohsedi`
    cli()


__all__ = ["all_rules", "cli"]
