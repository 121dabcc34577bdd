"""Settings a practice makes once: found in files, applied as the defaults of command options.

Where they come from, the last one found winning:

1. the user file, ``$XDG_CONFIG_HOME/mohsedi/config.toml`` (``~/.config/mohsedi/config.toml``);
2. the project file: the nearest ``mohsedi.toml`` (top-level keys) or ``pyproject.toml`` with a
   ``[tool.mohsedi]`` table, from the working directory upward (as ruff finds its settings);
3. ``$MOHSEDI_DATABASE_URL`` for the store;
4. options on the command line.

Paths in a file (``policy``, ``case-log``, a relative SQLite ``database``) are relative to the
file that names them, so a project file works from any sub-directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import click

from mohsedi.cli.common import pick_format
from mohsedi.settings import Settings, current
from mohsedi.store.paths import default_url

USER_FILE = "config.toml"
PROJECT_FILE = "mohsedi.toml"


class ConfigError(click.ClickException):
    """A settings file that cannot be used as written (exit 2, like any usage error)."""

    exit_code = 2


def _text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty string")
    return value.strip()


def _choice(*choices: str) -> Callable[[Any, str, str], str]:
    def check(value: Any, key: str, where: str) -> str:
        text = _text(value, key, where)
        if text not in choices:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(choices)}, not {text!r}")
        return text

    return check


def _codes(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{where}: {key} must be a list of rule codes or prefixes, e.g. ["MOHS", "X12002"]')
    return tuple(value)


def _jobs(value: Any, key: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number, 0 for one process per CPU")
    return value


@dataclass(frozen=True)
class Setting:
    key: str  # as written in the files (kebab-case, as ruff's)
    param: str  # the click parameter it gives a default to
    read: Callable[[Any, str, str], Any]
    path: bool = False  # relative to the file that names it
    help: str = ""


SETTINGS = [
    Setting("database", "db_url", _text, help="store URL (SQLAlchemy); every command uses it"),
    Setting("policy", "policy_path", _text, path=True, help="payer policy file (TOML)"),
    Setting("case-log", "case_log_path", _text, path=True, help="Mohs case log (CSV or JSON)"),
    Setting("select", "select", _codes, help="only these rules or prefixes"),
    Setting("ignore", "ignore", _codes, help="leave out these rules or prefixes"),
    Setting("fail-on", "fail_on", _choice("error", "warning", "info", "never"), help="exit 1 at this severity"),
    Setting("distinct-modifier", "distinct_modifier", _choice("XS", "59"), help="modifier fixes add"),
    Setting("clia", "clia", _text, help="the practice's CLIA number"),
    Setting("jobs", "jobs", _jobs, help="processes (0: one per CPU)"),
]
BY_KEY = {s.key: s for s in SETTINGS}


@dataclass(frozen=True)
class Value:
    value: Any
    source: str  # "default", a file's path, or an environment variable


def environment_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings the environment gives; the only place mohsedi reads environment variables
    (besides NO_COLOR for the terminal). Empty variables count as unset, as before, except
    $MOHSEDI_SECRET, whose empty value is refused where the secret is needed."""
    env = os.environ if environ is None else environ

    def path(name: str) -> Path | None:
        value = env.get(name)
        return Path(value) if value else None

    today = None
    if pinned := env.get("MOHSEDI_TODAY"):
        try:
            today = date.fromisoformat(pinned)
        except ValueError:
            raise ConfigError(f"$MOHSEDI_TODAY: {pinned!r} is not a date (YYYY-MM-DD)") from None
    return Settings(
        database_url=env.get("MOHSEDI_DATABASE_URL") or None,
        data_home=path("XDG_DATA_HOME"),
        config_home=path("XDG_CONFIG_HOME"),
        cache_home=path("XDG_CACHE_HOME"),
        secret=env.get("MOHSEDI_SECRET"),
        secret_file=path("MOHSEDI_SECRET_FILE"),
        today=today,
    )


def user_file() -> Path:
    return current().config_dir / USER_FILE


def _load_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None


def project_file(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest mohsedi.toml, or pyproject.toml with [tool.mohsedi], from ``start`` upward.
    In one directory mohsedi.toml wins; a pyproject.toml without the table is passed over."""
    for folder in [start, *start.parents]:
        own = folder / PROJECT_FILE
        if own.is_file():
            return own, _load_toml(own)
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            table = _load_toml(pyproject).get("tool", {}).get("mohsedi")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject}: [tool.mohsedi] must be a table")
                return pyproject, table
    return None


def _read(table: dict[str, Any], path: Path) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for raw_key, raw in table.items():
        key = raw_key.replace("_", "-")
        setting = BY_KEY.get(key)
        if setting is None:
            known = ", ".join(BY_KEY)
            raise ConfigError(f"{path}: unknown setting {raw_key!r} (known: {known})")
        value = setting.read(raw, key, str(path))
        if setting.path:
            value = str(path.parent / Path(value).expanduser())
        elif key == "database":
            value = _anchor_sqlite(value, path.parent)
        out[key] = Value(value, str(path))
    return out


def _anchor_sqlite(url: str, folder: Path) -> str:
    """A relative SQLite path in a file means beside that file, not the working directory."""
    prefix = "sqlite:///"
    if url.startswith(prefix):
        rest = url.removeprefix(prefix)
        if rest and rest != ":memory:" and not Path(rest).expanduser().is_absolute():
            return prefix + str(folder / rest)
    return url


def effective(cwd: Path | None = None) -> dict[str, Value]:
    """Each setting's value and where it came from (files and environment; not the command line)."""
    values: dict[str, Value] = {}
    user = user_file()
    if user.is_file():
        values.update(_read(_load_toml(user), user))
    found = project_file((cwd or Path.cwd()).resolve())
    if found is not None:
        values.update(_read(found[1], found[0]))
    env = current().database_url
    if env:
        values["database"] = Value(env, "$MOHSEDI_DATABASE_URL")
    return values


def default_map(group: click.Group, values: dict[str, Value]) -> dict[str, Any]:
    """click's default_map for every command of ``group`` that has an option a setting names."""
    by_param = {BY_KEY[k].param: v.value for k, v in values.items()}
    tree: dict[str, Any] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            sub = default_map(command, values)
            if sub:
                tree[name] = sub
            continue
        mine = {p.name: by_param[p.name] for p in command.params if p.name in by_param}
        if mine:
            tree[name] = mine
    return tree


# ---------------------------------------------------------------- the command showing them


@click.command("config")
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
