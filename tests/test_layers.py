"""Issue 19, item 3: only the command line reads environment variables. It builds the settings
once (mohsedi.cli.config.environment_settings) and the layers below take them from there, so
each variable still does what the docs say when mohsedi runs as a command."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

import mohsedi
from mohsedi.cli.config import environment_settings
from mohsedi.cli.main import cli
from mohsedi.settings import Settings
from tests.conftest import SAMPLES

PACKAGE = Path(mohsedi.__file__).parent
ENV_NAMES = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}


def environment_reads(source: str) -> list[int]:
    """Lines that touch the process environment through the os module (os.environ, os.getenv,
    `from os import environ`, under any alias of os)."""
    tree = ast.parse(source)
    aliases = {"os"}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases |= {a.asname or a.name for a in node.names if a.name == "os"}
        elif isinstance(node, ast.ImportFrom) and node.module in ("os", "posix", "nt"):
            lines += [node.lineno for a in node.names if a.name in ENV_NAMES]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ENV_NAMES
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
        ):
            lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize(
    "source",
    [
        "import os\nx = os.environ.get('X')",
        "import os\nx = os.getenv('X')",
        "import os\nx = os.environ['X']",
        "import os\nx = 'X' in os.environ",
        "from os import environ\nx = environ['X']",
        "from os import getenv as g\nx = g('X')",
        "import os as system\nx = system.environ.get('X')",
        "def f():\n    import os\n    return os.environ",
    ],
)
def test_the_check_finds_a_read_of_the_environment(source: str) -> None:
    assert environment_reads(source)


def test_the_check_passes_other_uses_of_os() -> None:
    assert environment_reads("import os\nos.unlink('x')\nos.path.join('a', 'b')\nenviron = {}\n") == []


def test_no_module_below_the_cli_reads_the_environment() -> None:
    found = {
        str(path.relative_to(PACKAGE.parent)): lines
        for path in sorted(PACKAGE.rglob("*.py"))
        if "cli" not in path.relative_to(PACKAGE).parts[:1]
        and (lines := environment_reads(path.read_text(encoding="utf-8")))
    }
    assert found == {}, "read the environment in mohsedi/cli and pass the value down (mohsedi.settings)"


def test_environment_settings_read_each_variable() -> None:
    got = environment_settings(
        {
            "MOHSEDI_DATABASE_URL": "postgresql+psycopg://billing@db/mohsedi",
            "XDG_DATA_HOME": "/d",
            "XDG_CONFIG_HOME": "/c",
            "XDG_CACHE_HOME": "/k",
            "MOHSEDI_SECRET": "s3cret",
            "MOHSEDI_SECRET_FILE": "/etc/mohsedi/secret",
            "MOHSEDI_TODAY": "2026-11-22",
        }
    )
    assert got == Settings(
        database_url="postgresql+psycopg://billing@db/mohsedi",
        data_home=Path("/d"),
        config_home=Path("/c"),
        cache_home=Path("/k"),
        secret="s3cret",
        secret_file=Path("/etc/mohsedi/secret"),
        today=date(2026, 11, 22),
    )
    assert got.secret_path == Path("/etc/mohsedi/secret")
    assert got.policy_path == Path("/c/mohsedi/policy.toml")
    assert got.guide_cache_dir == Path("/k/mohsedi/guides")
    assert got.store_url == "postgresql+psycopg://billing@db/mohsedi"
    assert "s3cret" not in repr(got)  # a traceback showing the settings does not show the secret


def test_unset_and_empty_variables_give_the_home_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    got = environment_settings({"XDG_DATA_HOME": "", "MOHSEDI_DATABASE_URL": "", "MOHSEDI_TODAY": ""})
    assert got.store_url == f"sqlite:///{tmp_path / '.local/share/mohsedi/mohsedi.db'}"
    assert got.secret_path == tmp_path / ".config/mohsedi/secret"
    assert got.guide_cache_dir == tmp_path / ".cache/mohsedi/guides"
    assert got.today is None and got.secret is None


def rules_found(args: list[str]) -> set[str]:
    result = CliRunner().invoke(cli, ["check", *args, "--format", "json", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    return {f["rule"] for f in json.loads(result.stdout)["files"][0]["findings"]}


def test_mohsedi_today_still_pins_the_date_and_today_overrides_it(monkeypatch: pytest.MonkeyPatch) -> None:
    clean = str(SAMPLES / "01-mohs-clean.837")  # its dates of service are in 2026
    assert "PAY002" not in rules_found([clean])  # conftest pins 2026-11-22
    monkeypatch.setenv("MOHSEDI_TODAY", "2031-01-01")
    assert "PAY002" in rules_found([clean])  # past Medicare's one calendar year
    assert "PAY002" not in rules_found([clean, "--today", "2026-11-22"])


def test_a_bad_mohsedi_today_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOHSEDI_TODAY", "22/11/2026")
    result = CliRunner().invoke(cli, ["check", str(SAMPLES / "01-mohs-clean.837")])
    assert result.exit_code == 2
    assert "$MOHSEDI_TODAY: '22/11/2026' is not a date (YYYY-MM-DD)" in result.stderr


def test_the_policy_under_xdg_config_home_is_still_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    claims = str(SAMPLES / "15-payer-policy-errors.837")
    assert "PAY001" not in rules_found([claims])
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "mohsedi").mkdir()
    (tmp_path / "mohsedi" / "policy.toml").write_bytes((SAMPLES / "policy.toml").read_bytes())
    assert "PAY001" in rules_found([claims])  # the sample policy's prior authorization


def test_guides_are_cached_under_xdg_cache_home(tmp_path: Path) -> None:
    """In a process of its own: this one has its guides compiled already."""
    cache = tmp_path / "cache"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(cache)}
    env.update(MOHSEDI_SECRET="x", MOHSEDI_TODAY="2026-11-22")
    done = subprocess.run(
        [sys.executable, "-m", "mohsedi", "check", str(SAMPLES / "01-mohs-clean.837"), "--format", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    kept = sorted(p.name.split("-")[0] for p in (cache / "mohsedi" / "guides").glob("*.pickle"))
    assert kept == ["837.5010.X222.A1", "maps"]  # the guide, and the index of the maps (maps.xml)
    assert not (tmp_path / "home" / ".cache").exists()
