"""Issue 16, item 5: what a user reads travels with the package and points nowhere outside it."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path

from click.testing import CliRunner

from mohsedi.cli.main import cli
from tests.conftest import ROOT, SAMPLES

USER_DOCS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


def all_help(group=cli, prefix: tuple[str, ...] = ()) -> dict[str, str]:
    out = {" ".join(prefix) or "mohsedi": CliRunner().invoke(cli, [*prefix, "--help"]).output}
    for name, command in getattr(group, "commands", {}).items():
        out.update(all_help(command, (*prefix, name)))
    return out


def test_nothing_a_user_reads_points_outside_the_repository() -> None:
    for doc in USER_DOCS:
        lines = [line for line in doc.read_text().splitlines() if "../shared" in line]
        # the development notes may name the optional corpus the tests read when it is there
        assert all("corpus" in line for line in lines), (doc.name, lines)
    for command, text in all_help().items():
        assert "../shared" not in text, command
        assert "Usage:" in text


def test_links_in_the_docs_resolve() -> None:
    for doc in USER_DOCS:
        for target in re.findall(r"\]\(([^)#:]+)\)", doc.read_text()):
            assert (doc.parent / target).exists(), (doc.name, target)
    readme = (ROOT / "README.md").read_text()
    for name in ("contract.md", "configuration.md", "policy.md", "case-log.md"):
        assert f"docs/{name}" in readme


def test_license_file_matches_pyproject() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "LICENSE" in project["license-files"]


def test_schemas_ship_in_the_package() -> None:
    shipped = resources.files("mohsedi.schemas")
    for name in ("payer-policy.schema.json", "case-log.schema.json"):
        data = json.loads(shipped.joinpath(name).read_text())
        assert data == json.loads((ROOT / "schemas" / name).read_text())


def test_placement_errors_speak_the_guide_not_pyx12_map_paths(tmp_path: Path) -> None:
    text = (SAMPLES / "13-mue-errors.837").read_text()
    sv1 = text.index("SV1*")
    bad = text[:sv1] + "BHT*0019*00*X*20261006*1200*CH~" + text[sv1:]  # a header segment among the lines
    path = tmp_path / "misplaced.837"
    path.write_text(bad)
    result = CliRunner().invoke(cli, ["check", str(path), "--format", "json"])
    errors = json.loads(result.stdout)["files"][0]["errors"]
    assert errors, result.stdout
    message = " ".join(errors)
    assert "has no place" in message and "005010X222A1" in message
    assert "ISA_LOOP" not in message and ".xml" not in message and "/" not in message.split("has no place")[1]
