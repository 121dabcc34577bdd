"""A fixed file is never less valid than its input (issue: fixes and findings a practice can trust).

On every sample and corpus 837P, and on claims drawn by hypothesis: `fix`, with or without unsafe
fixes, adds no pyx12 error; a second fix changes nothing; and what a safe fix could clear is gone.
pyx12 is the judge here: the fix gate is our code, pyx12's validator is not.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mohsedi.guide.validate import validate_text
from mohsedi.rules.base import FixSafety
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.run.report import FileReport
from tests.conftest import CORPUS_MISSING, corpus_dir, corpus_files, corpus_params, file_id, sample_files
from tests.engine import check_files, fix_files
from tests.engine import fixed_text as written
from tests.rules.harness import wrap

OPTIONS = RuleOptions(clia_number="05D0987654")


def pyx12_errors(text: str) -> Counter[tuple]:
    """pyx12's errors as (level, code, segment, element), without positions (fixes move segments)."""
    result = validate_text(text)
    assert result.failure is None, result.failure
    return Counter((e.level, e.code, e.segment_id, e.element) for e in result.errors)


def fix_report(tmp_path: Path, text: str, *, unsafe: bool, name: str = "in.837") -> FileReport:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    [report] = fix_files([str(path)], all_rules(), OPTIONS, unsafe=unsafe)
    assert report.error is None and written(report) is not None
    return report


def fixed_text(tmp_path: Path, text: str, *, unsafe: bool, name: str = "in.837") -> str:
    fixed = written(fix_report(tmp_path, text, unsafe=unsafe, name=name))
    assert fixed is not None
    return fixed


def withheld(report: FileReport) -> set[tuple[str, str | None, int | None]]:
    """Safe fixes the fix run withheld (reported as manual, saying why): the claim was left as read."""
    return {(f.rule, f.claim, f.line) for f in report.findings if "(not fixed:" in f.message}


def assert_no_new_errors(before: str, after: str) -> None:
    added = pyx12_errors(after) - pyx12_errors(before)
    assert not added, f"the fix added pyx12 errors: {dict(added)}"


def assert_nothing_safe_left(tmp_path: Path, text: str, held: set[tuple[str, str | None, int | None]]) -> None:
    """Re-checked, the fixed file has no safe finding but those the fix report said it withheld."""
    path = tmp_path / "fixed.837"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    [report] = check_files([str(path)], all_rules(), OPTIONS)
    left = [
        (f.rule, f.claim, f.line, f.message)
        for f in report.findings
        if f.fix_safety == FixSafety.SAFE and (f.rule, f.claim, f.line) not in held
    ]
    assert not left, f"a safe fix could still clear: {left}"


def _files() -> list:
    return [pytest.param(p, id=file_id(p)) for p in sample_files(".837")] + corpus_params("837p")


@pytest.mark.parametrize("unsafe", [False, True], ids=["default", "unsafe"])
@pytest.mark.parametrize("path", _files())
def test_fix_adds_no_pyx12_error_and_is_idempotent(path: Path, unsafe: bool, tmp_path: Path) -> None:
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    report = fix_report(tmp_path, text, unsafe=unsafe)
    once = written(report)
    assert once is not None
    assert_no_new_errors(text, once)
    twice = fixed_text(tmp_path, once, unsafe=unsafe, name="again.837")
    assert twice == once
    if not unsafe:
        assert_nothing_safe_left(tmp_path, once, withheld(report))


@pytest.mark.corpus
def test_the_corpus_is_in_the_run() -> None:
    if corpus_dir() is None:
        pytest.skip(CORPUS_MISSING + ": only the samples were fixed above")
    assert len(corpus_files("837p")) >= 16


# ---------------------------------------------------------------- drawn claims

CODES = ["17311", "17312", "17313", "17314", "17315", "11102", "11103", "11602", "88305", "88314", "99213",
         "13151", "12032", "J3490", "17999", "17304"]  # fmt: skip
MODIFIERS = ["XS", "xs", "59", "25", "51", "RT", "LT", "76", "XU", "F1"]
DIAGNOSES = ["C44311", "C44212", "C44519", "C44622", "C441121", "D0439", "L821", "C4431", "L570"]


@st.composite
def line_specs(draw: st.DrawFn, n_dx: int) -> str:
    code = draw(st.sampled_from(CODES))
    mods = draw(st.lists(st.sampled_from(MODIFIERS), max_size=4))
    units = draw(st.integers(1, 4))
    pointers = draw(st.lists(st.integers(1, n_dx), min_size=1, max_size=min(4, n_dx), unique=True))
    spec = ":".join([code, *mods]) + f" x{units} @" + ":".join(map(str, pointers))
    if draw(st.booleans()):
        spec += " noref"
    return spec


@st.composite
def claims(draw: st.DrawFn) -> dict:
    dx = draw(st.lists(st.sampled_from(DIAGNOSES), min_size=1, max_size=4, unique=True))
    lines = draw(st.lists(line_specs(len(dx)), min_size=1, max_size=6))
    claim: dict = {"dx": dx, "lines": lines, "patient": draw(st.sampled_from("AB"))}
    if draw(st.booleans()):
        claim["clia"] = ""
    return claim


DESCRIBED = re.compile(r"HC:(17999|J3490)((?::[^:*~]*)*)\*")


def _with_descriptions(text: str) -> str:
    """Unlisted and NOC codes carry their SV101-7 description, as the guide requires: after
    the four modifier slots, whatever modifiers the line has."""

    def described(m: re.Match[str]) -> str:
        mods = [x for x in m.group(2).split(":") if x][:4]
        return ":".join(["HC", m.group(1), *mods, *[""] * (4 - len(mods)), "unlisted proc see note"]) + "*"

    return DESCRIBED.sub(described, text)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(claims(), min_size=1, max_size=3), unsafe=st.booleans())
def test_fixing_drawn_claims_adds_no_pyx12_error(batch: list[dict], unsafe: bool, tmp_path: Path) -> None:
    text = _with_descriptions(wrap(batch))
    report = fix_report(tmp_path, text, unsafe=unsafe)
    once = written(report)
    assert once is not None
    assert_no_new_errors(text, once)
    assert fixed_text(tmp_path, once, unsafe=unsafe, name="again.837") == once
    if not unsafe:
        assert_nothing_safe_left(tmp_path, once, withheld(report))
