"""Issue 16, item 2: settings made once in files; options override them; `mohsedi config` says
where each value came from."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from tests.conftest import SAMPLES

ERRORS = str(SAMPLES / "10-mohs-coding-errors.837")  # MOHS001..MOHS016 seeded, see samples/README.md


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def rules_found(out: str) -> set[str]:
    return {f["rule"] for f in json.loads(out)["files"][0]["findings"]}


def settings(out: str) -> dict[str, tuple[object, str]]:
    return {s["key"]: (s["value"], s["source"]) for s in json.loads(out)["settings"]}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A practice folder; commands run from a sub-directory of it."""
    sub = tmp_path / "practice" / "daily"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    return tmp_path / "practice"


def test_pyproject_table_sets_defaults_and_options_override(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.mohsedi]\nignore = ["MOHS001"]\nfail-on = "never"\n')
    code, out, _ = run("check", ERRORS, "--format", "json")
    assert code == 0  # fail-on never, from the file
    assert "MOHS001" not in rules_found(out) and "MOHS005" in rules_found(out)
    code, out, _ = run("check", ERRORS, "--format", "json", "--fail-on", "error", "--ignore", "MOHS005")
    assert code == 1  # the option wins over the file
    assert "MOHS005" not in rules_found(out) and "MOHS001" in rules_found(out)


def test_pyproject_without_the_table_is_passed_over_for_a_mohsedi_toml_above(project: Path) -> None:
    (project / "mohsedi.toml").write_text('select = ["MOHS001"]\n')
    (project / "daily" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    code, out, _ = run("check", ERRORS, "--format", "json")
    assert rules_found(out) == {"MOHS001"}
    code, out, _ = run("config", "--format", "json")
    assert settings(out)["select"] == (["MOHS001"], str(project / "mohsedi.toml"))


def test_project_file_wins_over_the_user_file_and_paths_are_relative_to_their_file(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = Path(os.environ["XDG_CONFIG_HOME"]) / "mohsedi" / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text('clia = "05D0000000"\ndistinct-modifier = "59"\ncase-log = "log.csv"\n')
    (project / "mohsedi.toml").write_text('distinct-modifier = "XS"\ndatabase = "sqlite:///billing.db"\n')
    code, out, _ = run("config", "--format", "json")
    assert code == 0
    got = settings(out)
    assert got["clia"] == ("05D0000000", str(user))
    assert got["distinct-modifier"] == ("XS", str(project / "mohsedi.toml"))
    assert got["case-log"] == (str(user.parent / "log.csv"), str(user))
    assert got["database"] == (f"sqlite:///{project / 'billing.db'}", str(project / "mohsedi.toml"))
    assert got["jobs"] == (1, "default")
    monkeypatch.setenv("MOHSEDI_DATABASE_URL", "sqlite:////srv/edi/mohsedi.db")
    assert settings(run("config", "--format", "json")[1])["database"] == (
        "sqlite:////srv/edi/mohsedi.db",
        "$MOHSEDI_DATABASE_URL",
    )


def test_configured_store_takes_fix_records_but_check_reads_only(project: Path) -> None:
    (project / "mohsedi.toml").write_text('database = "sqlite:///billing.db"\n')
    code, _, _ = run("check", ERRORS, "--format", "json")
    assert code == 1
    assert not (project / "billing.db").exists()  # check changed nothing
    code, _, _ = run("fix", ERRORS, "-o", str(project / "outbox"), "--format", "json")
    assert (project / "billing.db").is_file()
    code, out, _ = run("record", ERRORS)
    assert out.strip() == f"{ERRORS}: 8 claim(s) recorded"  # fix stored the fixed file, not this one
    assert (
        run("record", str(project / "outbox" / Path(ERRORS).name))[1]
        .strip()
        .endswith("already stored, nothing changed")
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('colour = "red"\n', "unknown setting 'colour'"),
        ("jobs = -1\n", "jobs must be a whole number"),
        ('fail-on = "sometimes"\n', "fail-on must be one of error, warning, info, never"),
        ("select = 3\n", "select must be a list of rule codes"),
        ("fail-on = \n", "not valid TOML"),
    ],
)
def test_a_bad_setting_is_a_usage_error_naming_the_file(project: Path, text: str, message: str) -> None:
    (project / "mohsedi.toml").write_text(text)
    code, _, err = run("check", ERRORS)
    assert code == 2
    assert str(project / "mohsedi.toml") in err and message in err
