"""What the commands share: exit codes, formats, the options check and fix take, the rule
options they build, where the store is, and how its failures are told."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import click

from mohsedi.files import atomic_write, clobbered_input
from mohsedi.store.paths import StoreError, default_url
from mohsedi.text import printable

# Everything else is imported inside the function that uses it: `mohsedi --help` loads click
# alone, and a check that records nothing never loads SQLAlchemy, alembic, numpy or matplotlib
# (tests/test_startup.py holds this).

if TYPE_CHECKING:
    from mohsedi.rules.context import RuleOptions

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
FORMATS = ["table", "json", "csv"]
DB_HELP = (
    "Database URL. Default: $MOHSEDI_DATABASE_URL, else the config's database, else "
    "sqlite:///$XDG_DATA_HOME/mohsedi/mohsedi.db (~/.local/share/mohsedi/mohsedi.db)."
)


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


def format_option(*more: str, help: str = "Output format. Default: table on a terminal, else json."):
    """--format: table, json, csv and ``more``; none given leaves the choice to pick_format."""
    return click.option("--format", "fmt", type=click.Choice([*FORMATS, *more]), default=None, help=help)


def report_output_options(f):
    """What every report of the store takes after its own filters: --db, --format (html too), -o, -q."""
    options = [
        click.option("--db", "db_url", metavar="URL", help=DB_HELP),
        format_option(
            "html", help="Output format. Default: table on a terminal, else json; html is one self-contained file."
        ),
        click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file (atomically)."),
        click.option("-q", "--quiet", is_flag=True, help="With -o, print nothing on success (for cron)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def common_options(f=None, *, report_flags: tuple[str, ...] = ("-o", "--output")):
    """The options check and fix share; fix takes -o for its output directory (the contract)."""
    if f is None:
        return lambda g: common_options(g, report_flags=report_flags)
    options = [
        format_option(),
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


def open_store_or_exit(db_url: str | None):
    from mohsedi.store.db import open_store

    try:
        return open_store(store_url(db_url))
    except StoreError as exc:
        store_failure(exc)
