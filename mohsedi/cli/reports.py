"""The reports read from the store: denials, rejections, audit."""

from __future__ import annotations

from collections.abc import Callable

import click

from mohsedi.cli.common import (
    DB_HELP,
    emit_output,
    format_option,
    pick_format,
    refuse_overwriting_inputs,
    report_output_options,
    require_existing_store,
    store_failure,
    store_url,
    terminal_width,
)
from mohsedi.store.paths import StoreError


@click.group()
def report() -> None:
    """Reports from the store."""


@report.command("denials")
@click.option("--since", metavar="DATE", help="From this payment date: YYYY-MM-DD or relative (90d, 12w, 6m).")
@click.option("--until", metavar="DATE", help="Up to this payment date (inclusive).")
@click.option("--payer", metavar="ID", help="Only this payer id.")
@report_output_options
def report_denials(since, until, payer, db_url, fmt, output, quiet):
    """Denial root causes: totals, by rule (fired, predicted, unexplained), payer, code, reason and
    week; the unexplained queue; rules that fired and were sent anyway; fixes that still denied.

    \b
    Examples:
      mohsedi report denials
      mohsedi report denials --since 90d --payer SMEDC --format json -o denials.json
      mohsedi report denials --since 7d --format html -o weekly.html -q
    """

    from mohsedi.cli.render import denials_csv, denials_table
    from mohsedi.pipeline import run_denial_report

    data = _report_data(run_denial_report, since, until, payer, db_url, output)
    chosen = pick_format(fmt, output)
    width = terminal_width(chosen, output)
    emit_output(_rendered(data, chosen, denials_csv, "render_html", lambda d: denials_table(d, width=width)), output)
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


@report.command("rejections")
@click.option("--since", metavar="DATE", help="From this acknowledgment date: YYYY-MM-DD or relative (90d, 12w, 6m).")
@click.option("--until", metavar="DATE", help="Up to this acknowledgment date (inclusive).")
@click.option("--payer", metavar="ID", help="Only this payer id (277CA) or clearinghouse (999 sender).")
@report_output_options
def report_rejections(since, until, payer, db_url, fmt, output, quiet):
    """Front-end rejections from 999 and 277CA acknowledgments of what was sent: rejection rate by
    file, payer, status code and rule (fired, predicted, unexplained), and the unexplained queue.

    \b
    Examples:
      mohsedi report rejections
      mohsedi report rejections --since 30d --format json -o rejections.json
      mohsedi report rejections --format html -o rejections.html -q
    """

    from mohsedi.cli.render import rejections_csv, rejections_table
    from mohsedi.pipeline import run_rejection_report

    data = _report_data(run_rejection_report, since, until, payer, db_url, output)
    emit_output(
        _rendered(data, pick_format(fmt, output), rejections_csv, "render_rejections_html", rejections_table), output
    )
    if output and not quiet:
        totals = data["totals"]
        click.echo(f"wrote {output}: {totals['rejected']} rejected of {totals['acknowledged']} acknowledged", err=True)


@click.command("audit")
@click.option(
    "--days", type=click.IntRange(1, 3660), default=90, show_default=True, help="Look back this many days of service."
)
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@format_option(help="Output format. Default: table on a terminal.")
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


def _rendered(data: dict, chosen: str, csv: Callable[[dict], str], html: str, table: Callable[[dict], str]) -> str:
    """A report's data in the chosen format (``html`` names the renderer in reports.html, which
    is imported only when asked for: it is the heaviest)."""
    if chosen == "json":
        import json

        return json.dumps(data, indent=2) + "\n"
    if chosen == "csv":
        return csv(data)
    if chosen == "html":
        from mohsedi.reports import html as pages

        return getattr(pages, html)(data)
    return table(data)
