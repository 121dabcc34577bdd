"""The commands that fill the store: record, ingest, link, and its schema (db)."""

from __future__ import annotations

import sys

import click

from mohsedi.cli.common import (
    DB_HELP,
    EXIT_CLEAN,
    EXIT_ERROR,
    EXIT_FINDINGS,
    format_option,
    pick_format,
    require_existing_store,
    store_failure,
    store_url,
)
from mohsedi.store.paths import StoreError
from mohsedi.text import printable


@click.command()
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


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--db", "db_url", metavar="URL", help=DB_HELP)
@format_option()
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


@click.command()
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


@click.group()
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
