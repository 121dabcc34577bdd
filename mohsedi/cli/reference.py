"""What checks are made with: the rule catalog (rules) and the reference data (data)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mohsedi.cli.common import (
    DB_HELP,
    EXIT_ERROR,
    format_option,
    open_store_or_exit,
    pick_format,
    resolve_rules,
    store_url,
)


@click.group()
def rules() -> None:
    """The rule catalog: list it, explain one rule."""


@rules.command("list")
@format_option()
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


@click.group()
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
@format_option()
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
