"""The `mohsedi` command: the root group; each subcommand, defined in the module of its group,
parses options and calls one library function.

check, fix, ack          mohsedi/cli/checking.py
record, ingest, link, db mohsedi/cli/storage.py
report, audit            mohsedi/cli/reports.py
rules, data              mohsedi/cli/reference.py
config                   mohsedi/cli/config.py
shared options, helpers  mohsedi/cli/common.py
"""

from __future__ import annotations

import sys

import click

from mohsedi import __version__
from mohsedi.cli import checking, config, reference, reports, storage
from mohsedi.notices import listen
from mohsedi.runtime import EXIT_INTERRUPTED, EXIT_TERMINATED, Terminated, clean_up_on_signals, tune_for_batches


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
    from mohsedi.cli.config import default_map, effective, environment_settings
    from mohsedi.settings import configure

    tune_for_batches()
    clean_up_on_signals()
    listen(_told)
    configure(environment_settings())  # the layers below read no environment variables
    ctx.default_map = default_map(cli, effective())


def _told(message: str) -> None:
    """What the layers below tell on their own (the store upgraded): one line on stderr, as the
    commands' own notices are, and like them not with --quiet (cron mails whatever is printed)."""
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.params.get("quiet"):
        return
    click.echo(f"mohsedi: {message}", err=True)


# The commands, each in the module of its group; `mohsedi --help` lists them by name.
for command in (
    checking.check,
    checking.fix,
    checking.ack,
    storage.record,
    storage.ingest,
    storage.link,
    storage.db,
    reports.report,
    reports.audit_command,
    reference.rules,
    reference.data,
    config.config_command,
):
    cli.add_command(command)


def main() -> None:  # pragma: no cover - console entry for `python -m mohsedi`
    cli()


__all__ = ["cli"]
