"""The execution layer sits between the pipeline and the rules (docs: architecture, run/):
run/ may import the layers below it, and nothing below imports run/ or the CLI. Read from
the imports themselves (every import statement, those inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mohsedi"
BELOW_RUN = ("x12", "guide", "claims", "remits", "acks", "codes", "policy", "rules", "store")
ABOVE_RUN = ("mohsedi.cli", "mohsedi.pipeline", "mohsedi.reports")


def imported(source: str) -> set[str]:
    """Every module an import statement in the source names (``from a import b``: a and a.b)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def reaches(names: set[str], layers: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == layer or n.startswith(layer + ".") for layer in layers))


def modules(package: str) -> list[Path]:
    return sorted((PACKAGE / package).rglob("*.py"))


@pytest.mark.parametrize("package", BELOW_RUN)
def test_nothing_below_the_execution_layer_imports_it_or_the_cli(package: str) -> None:
    files = modules(package)
    assert files, f"mohsedi/{package} has no modules"
    for path in files:
        wrong = reaches(imported(path.read_text()), ("mohsedi.run", "mohsedi.cli", "mohsedi.pipeline"))
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {wrong}"


def test_the_execution_layer_imports_nothing_above_it() -> None:
    files = modules("run")
    assert {p.name for p in files} >= {"stream.py", "ranges.py", "report.py", "diff.py", "findings.py"}
    for path in files:
        wrong = reaches(imported(path.read_text()), ABOVE_RUN)
        assert not wrong, f"{path.relative_to(PACKAGE.parent)} imports {wrong}"


def test_execution_has_left_the_rules_and_x12_packages() -> None:
    assert not (PACKAGE / "rules" / "stream.py").exists() and not (PACKAGE / "rules" / "batch.py").exists()
    assert not (PACKAGE / "x12" / "ranges.py").exists()


def test_the_check_sees_every_form_of_import() -> None:
    source = (
        "import mohsedi.run.stream\n"
        "from mohsedi import cli\n"
        "def late():\n    from mohsedi.run.report import FileReport\n"
        "from mohsedi.rules import base\n"
    )
    assert reaches(imported(source), ("mohsedi.run", "mohsedi.cli")) == [
        "mohsedi.cli",
        "mohsedi.run.report",
        "mohsedi.run.report.FileReport",
        "mohsedi.run.stream",
    ]
