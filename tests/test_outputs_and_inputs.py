"""An output never overwrites an input: each form is refused with exit 2, the input unchanged."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from mohsedi.cli.main import cli
from tests.conftest import SAMPLES

CLAIMS = "12-modifier-and-x12-errors.837"


def copy(tmp_path: Path, name: str = CLAIMS, into: str = "in") -> Path:
    (tmp_path / into).mkdir(exist_ok=True)
    return Path(shutil.copy(SAMPLES / name, tmp_path / into / name))


def store(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "store.db"
    result = CliRunner().invoke(cli, ["ingest", str(SAMPLES / "10-mohs-denials.835"), "--db", f"sqlite:///{path}"])
    assert result.exit_code == 0, result.output
    return f"sqlite:///{path}", path


def hard_link(tmp_path: Path) -> list[str]:
    given = copy(tmp_path)
    (tmp_path / "out").mkdir()
    os.link(given, tmp_path / "out" / given.name)  # same file under another directory
    return ["fix", str(given), "-o", str(tmp_path / "out")]


FORMS: dict[str, Callable[[Path], list[str]]] = {
    "check X -o X": lambda t: ["check", str(copy(t)), "-o", str(t / "in" / CLAIMS)],
    "check X -o onto the policy file": lambda t: [
        "check",
        str(copy(t)),
        "--policy",
        str(copy(t, "policy.toml")),
        "-o",
        str(t / "in" / "policy.toml"),
    ],
    "fix X -o out --report X": lambda t: [
        "fix",
        str(copy(t)),
        "-o",
        str(t / "out"),
        "--report",
        str(t / "in" / CLAIMS),
    ],
    "fix X -o out --report out/X": lambda t: [
        "fix",
        str(copy(t)),
        "-o",
        str(t / "out"),
        "--report",
        str(t / "out" / CLAIMS),
    ],
    "fix --in-place --report X": lambda t: ["fix", str(copy(t)), "--in-place", "--report", str(t / "in" / CLAIMS)],
    "fix X -o DIR where DIR/X is a hard link to X": hard_link,
    "fix X Y -o the directory Y is in": lambda t: [
        "fix",
        str(copy(t, into="a")),
        str(copy(t, "10-mohs-coding-errors.837", into="b")),
        "-o",
        str(t / "b"),
    ],
}


@pytest.mark.parametrize("form", list(FORMS))
def test_output_onto_an_input_is_refused(form: str, tmp_path: Path) -> None:
    args = FORMS[form](tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2, result.output
    assert "would overwrite an input" in result.output or "is the input itself" in result.output
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # nothing written, nothing changed


@pytest.mark.parametrize("command", [["report", "denials"], ["audit"]])
@pytest.mark.parametrize("suffix", ["", "-wal"])
def test_a_report_onto_the_store_is_refused(command: list[str], suffix: str, tmp_path: Path) -> None:
    url, path = store(tmp_path)
    target = Path(str(path) + suffix)
    before = path.read_bytes()
    result = CliRunner().invoke(cli, [*command, "--db", url, "--format", "csv", "-o", str(target)])
    assert result.exit_code == 2, result.output
    assert "would overwrite an input" in result.output
    assert path.read_bytes() == before


def test_ack_of_two_inputs_with_one_name_into_one_directory_is_refused(tmp_path: Path) -> None:
    first, second = copy(tmp_path, into="a"), copy(tmp_path, into="b")
    result = CliRunner().invoke(cli, ["ack", str(first), str(second), "-o", str(tmp_path / "acks")])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "acks").exists()


def test_ack_never_writes_over_an_input(tmp_path: Path) -> None:
    given = copy(tmp_path)
    also_input = Path(str(given) + ".999")
    also_input.write_bytes(given.read_bytes())
    result = CliRunner().invoke(cli, ["ack", str(given), str(also_input)])
    assert result.exit_code == 2, result.output
    assert also_input.read_bytes() == given.read_bytes()


def test_ack_of_two_names_writes_both(tmp_path: Path) -> None:
    first, second = copy(tmp_path), copy(tmp_path, "10-mohs-coding-errors.837")
    result = CliRunner().invoke(cli, ["ack", str(first), str(second), "-o", str(tmp_path / "acks"), "-q"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "acks").iterdir()) == sorted([first.name + ".999", second.name + ".999"])


def test_fix_in_place_keeps_the_files_permissions(tmp_path: Path) -> None:
    given = copy(tmp_path)
    given.chmod(0o640)
    result = CliRunner().invoke(cli, ["fix", str(given), "--in-place", "--fail-on", "never", "-q"])
    assert result.exit_code == 0, result.output
    assert given.read_bytes() != (SAMPLES / CLAIMS).read_bytes()  # it was fixed
    assert given.stat().st_mode & 0o777 == 0o640


def test_audit_judges_as_of_the_pinned_day(tmp_path: Path) -> None:
    """$MOHSEDI_TODAY pins "today" for every command (reproducible runs): the audit's period ends
    on it, as the rules' timely filing does."""
    import json

    url = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["record", str(SAMPLES / "01-mohs-clean.837"), "--db", url, "-q"]).exit_code == 0
    result = runner.invoke(
        cli, ["audit", "--days", "30", "--db", url, "--format", "json"], env={"MOHSEDI_TODAY": "2026-01-15"}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["period"]["until"] == "2026-01-15"
