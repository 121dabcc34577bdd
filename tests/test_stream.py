"""The one engine (one transaction set at a time, over N processes) against what the spec says.

Days (mohs-rules.md: a Mohs day is patient, rendering provider and date of service, across the
batch) and REF*6R uniqueness (within a file) reach across transaction sets and files; the
engine must find across sets exactly what it finds when the same claims sit in one set, and
give the same findings, fixes and fixed bytes for any number of jobs.
"""

from __future__ import annotations

import dataclasses
import random
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi import synth
from mohsedi.cli.main import cli
from mohsedi.rules.base import Scope
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules, get_rule
from mohsedi.run import ranges, stream
from mohsedi.run.ranges import read_range, split_file
from mohsedi.run.report import FileReport
from mohsedi.run.stream import portable, shared_groups, stream_paths
from mohsedi.x12.delimiters import Delimiters
from tests.engine import check_files, fix_files, fixed_text
from tests.test_fuzz import mutated

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _day_claims(tag: str, member: str) -> list[synth.ClaimSpec]:
    """Two claims of one Mohs day: the second is a second first stage with no 59/XS (MOHS004)."""
    return [
        synth.ClaimSpec(f"{tag}A", ("C44311",), [synth.LineSpec("17311", Decimal("742.80"))], member_id=member),
        synth.ClaimSpec(f"{tag}B", ("C44311",), [synth.LineSpec("17311", Decimal("742.80"))], member_id=member),
    ]


def _claims() -> tuple[list[synth.ClaimSpec], list[synth.ClaimSpec]]:
    """The claims of two files: a day across sets of the first file, a day across the files,
    and a REF*6R used by two claims of the first file in different sets."""
    rng = random.Random(11)
    claims = [synth.random_mohs_claim(rng, n) for n in range(40)]
    first, second = _day_claims("SPLIT", "1DAYACROSSSET")
    claims.insert(3, first)
    claims.insert(30, second)
    claims[7].lines[0].line_id = "SHARED-ID"
    claims[33].lines[0].line_id = "SHARED-ID"
    across_files, other = _day_claims("FILE", "1DAYACROSSFILE")
    return [*claims, across_files], [other, *[synth.random_mohs_claim(rng, n) for n in range(100, 110)]]


def _many_sets(tmp_path: Path, *, broken: bool = False) -> list[str]:
    """The claims three to a set, the first file in two interchanges (the second with other
    delimiters and CRLF); ``broken`` adds a set the guide cannot place and a set with no SE."""
    a_claims, b_claims = _claims()
    part1 = synth.build_837p(a_claims[:24], claims_per_transaction=3)
    part2 = synth.build_837p(
        a_claims[24:-1],
        synth.Envelope837(interchange_control=2, delimiters=Delimiters("|", ">", "^", "~"), line_break="\r\n"),
        claims_per_transaction=3,
    )
    if broken:
        sets = part1.split("ST*837*")
        sets[2] = sets[2].replace("\nSE*", "\nSTRAY*1~\nSE*", 1)  # a segment the guide cannot place
        sets[4] = sets[4][: sets[4].index("\nSE*") + 1]  # no SE: the next ST ends it
        part1 = "ST*837*".join(sets)
    a = tmp_path / "a.837"
    a.write_text(part1 + part2 + synth.build_837p(a_claims[-1:]), newline="")
    b = tmp_path / "b.837"
    b.write_text(synth.build_837p(b_claims, claims_per_transaction=3), newline="")
    return [str(a), str(b)]


def _one_set(tmp_path: Path) -> list[str]:
    """The same claims, each file's in a single transaction set: nothing reaches across sets
    within a file (the day across files still reaches across them)."""
    a_claims, b_claims = _claims()
    (tmp_path / "one").mkdir()
    paths = []
    for name, claims in (("a.837", a_claims), ("b.837", b_claims)):
        path = tmp_path / "one" / name
        path.write_text(synth.build_837p(claims), newline="")
        paths.append(str(path))
    return paths


def _about_claims(reports: list[FileReport], findings=lambda r: r.findings) -> list[tuple]:
    """Per file, the claim- and day-level findings (and X12004, line ids in the file) by rule,
    claim and line: what does not depend on how the claims are cut into sets."""
    keep = {r.code for r in all_rules() if r.scope != Scope.ENVELOPE} | {"X12004"}
    return [sorted((f.rule, f.claim or "", f.line or 0) for f in findings(r) if f.rule in keep) for r in reports]


def comparable(r: FileReport, findings: list) -> tuple:
    return (
        Path(r.path).name,
        r.claims,
        sorted(repr(portable(dataclasses.replace(f, claim_key=None, source=None))) for f in findings),
        [e.describe().replace(str(Path(r.path).parent), "") for e in r.quarantined],
        r.error.describe() if r.error else None,
        r.notices,
    )


@pytest.fixture
def small_ranges(monkeypatch):
    monkeypatch.setattr(ranges, "MIN_RANGE_BYTES", 1500)


@pytest.mark.parametrize("jobs", [1, 2, 6])
def test_days_and_line_ids_across_sets_and_files_are_found_as_within_one_set(tmp_path, small_ranges, jobs):
    many = check_files(_many_sets(tmp_path), jobs=jobs)
    one = check_files(_one_set(tmp_path))
    assert _about_claims(many) == _about_claims(one)
    found = {(f.rule, f.claim) for r in many for f in r.findings}
    # A second first stage on the same day with no distinct-lesion modifier (mohs-rules.md, MOHS004):
    # the day crosses sets in a.837, and files between a.837 and b.837.
    assert {("MOHS004", "SPLITB"), ("MOHS004", "FILEB")} <= found
    # REF*6R must be unique within a file (X12004): the second SHARED-ID is reported.
    assert sum(1 for r in many for f in r.findings if f.rule == "X12004" and f.line_id == "SHARED-ID") >= 1
    assert not many[0].quarantined and not many[1].quarantined


@pytest.mark.parametrize("unsafe", [False, True])
def test_fixing_across_sets_applies_and_writes_what_fixing_within_one_set_does(tmp_path, small_ranges, unsafe):
    paths = _many_sets(tmp_path)
    outputs = []
    for jobs in (1, 2, 6):
        reports = fix_files(paths, unsafe=unsafe, jobs=jobs, out=tmp_path / f"out{jobs}")
        outputs.append(
            [(comparable(r, r.findings), comparable(r, r.initial_findings), sorted(map(repr, r.applied)), fixed_text(r))
             for r in reports]
        )  # fmt: skip
        assert not list((tmp_path / f"out{jobs}").glob(".*"))  # no spool or temporary file left behind
    assert outputs[0] == outputs[1] == outputs[2]  # the same for any number of jobs
    one = fix_files(_one_set(tmp_path), unsafe=unsafe)
    applied = [sorted((a.rule, a.claim, a.line) for a in r.applied if a.rule != "X12001") for r in reports]
    assert applied == [sorted((a.rule, a.claim, a.line) for a in r.applied if a.rule != "X12001") for r in one]
    assert _about_claims(reports) == _about_claims(one)
    assert _about_claims(reports, lambda r: r.initial_findings) == _about_claims(one, lambda r: r.initial_findings)
    text = fixed_text(reports[0])
    assert text is not None and len(re.findall(r"REF[*|]6R[*|]SHARED-ID~", text)) == 1  # the second got a new id
    [again] = check_files([reports[0].output])
    assert not [f for f in again.findings if f.rule in ("X12001", "X12004")]  # counts and ids right


@pytest.mark.parametrize("jobs", [1, 2, 6])
def test_sets_that_cannot_be_read_are_reported_and_left_out(tmp_path, small_ranges, jobs):
    paths = _many_sets(tmp_path, broken=True)
    [a, b] = check_files(paths, jobs=jobs)
    assert len(a.quarantined) == 2 and not b.quarantined
    assert any("STRAY" in q.describe() for q in a.quarantined)
    assert [comparable(r, r.findings) for r in (a, b)] == [comparable(r, r.findings) for r in check_files(paths)]
    [fixed, _] = fix_files(paths, jobs=jobs)
    text = fixed_text(fixed)
    assert text is not None and "STRAY" not in text
    assert any("left out of the fixed file" in n for n in fixed.notices)
    [again] = check_files([fixed.output])
    assert not again.quarantined and not [f for f in again.findings if f.rule == "X12001"]


def test_samples_give_the_same_findings_for_any_number_of_jobs(tmp_path, small_ranges):
    paths = sorted(str(p) for p in SAMPLES.glob("*.837"))
    one, two = check_files(paths), check_files(paths, jobs=2)
    assert [comparable(r, r.findings) for r in two] == [comparable(r, r.findings) for r in one]
    assert sum(len(r.findings) for r in one) > 20


def _apply(original: str, diff: str) -> str:
    """Apply a unified diff to a text (hunks in order, each as long as its header says), as
    `patch` would; what follows the last hunk is not the diff's."""
    lines = original.splitlines(keepends=True)
    body = diff.splitlines(keepends=True)
    assert body[0].startswith("--- ") and body[1].startswith("+++ ")
    out: list[str] = []
    at, i = 0, 2
    while i < len(body) and body[i].startswith("@@ "):
        m = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,(\d+))? @@\n", body[i])
        assert m, body[i]
        old_len = int(m.group(2) or 1)
        new_len = int(m.group(3) or 1)
        start = int(m.group(1)) - (1 if old_len else 0)  # an empty range names the line before
        out += lines[at:start]
        at = start
        i += 1
        while old_len or new_len:
            tag, text = body[i][0], body[i][1:]
            assert tag in " -+", body[i]
            if tag in " -":
                assert lines[at] == text, (at, lines[at], text)
                at += 1
                old_len -= 1
            if tag in " +":
                out.append(text)
                new_len -= 1
            i += 1
    return "".join(out + lines[at:])


@pytest.mark.parametrize("jobs", ["1", "3"])
def test_the_diff_turns_each_input_into_its_fixed_file(tmp_path, small_ranges, jobs):
    paths = [*_many_sets(tmp_path, broken=True), str(SAMPLES / "12-modifier-and-x12-errors.837")]
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["fix", *paths, "-o", str(out), "--diff", "--format", "table", "--jobs", jobs])
    assert result.exit_code in (1, 2), result.output
    diffs = re.split(r"(?m)^(?=--- )", result.stdout)
    changed = 0
    for path in paths:
        found = [d for d in diffs if d.startswith(f"--- {path}\n")]
        original = Path(path).read_bytes().decode()
        fixed = (out / Path(path).name).read_bytes().decode()
        if original == fixed:
            assert found == []  # nothing changed: no diff
            continue
        [diff] = found
        assert _apply(original, diff) == fixed
        changed += 1
    assert changed == 2  # a.837 (a set left out, line ids) and the sample (modifiers, totals)


def test_ranges_cut_at_transaction_sets_and_cover_the_file(tmp_path):
    path = _many_sets(tmp_path, broken=True)[0]
    raw = Path(path).read_bytes()
    cut = split_file(path, 6, min_bytes=1500)
    assert len(cut) == 6
    assert b"".join(raw[r.start : r.end] for r in cut) == raw
    for r in cut[1:]:
        assert raw[r.start : r.start + 3] in (b"ST*", b"ST|")
        assert r.context.startswith(b"ISA") and r.context_segments == 2
        delimiter = chr(r.context[3]).encode()
        assert raw[r.start + 2 : r.start + 3] == delimiter  # the ST is read with its own interchange's delimiters
    text = "".join("".join(read_range(path, r))[len(r.context) :] for r in cut)
    assert text == raw.decode()


def test_a_small_file_is_one_range(tmp_path):
    path = _many_sets(tmp_path)[1]
    assert split_file(path, 4) == [ranges.ByteRange(0, None)]


@pytest.mark.parametrize("in_python", [10**6, 0], ids=["python", "numpy"])
def test_shared_groups_join_sets_transitively(monkeypatch, in_python):
    from array import array

    monkeypatch.setattr(stream, "DIGESTS_IN_PYTHON", in_python)
    digests = array("q", [5, 7, 5, 9, 7, 11, 11])
    owners = array("I", [0, 1, 2, 3, 4, 4, 4])
    assert sorted(shared_groups(digests, owners)) == [[0, 2], [1, 4]]
    assert shared_groups(array("q", [1, 2, 3]), array("I", [0, 1, 2])) == []


@settings(max_examples=100, deadline=None)
@given(pairs=st.lists(st.tuples(st.integers(-3, 3), st.integers(0, 6)), max_size=30))
def test_shared_groups_are_the_same_with_or_without_numpy(pairs):
    """A small batch's digests are searched in Python (numpy's import would cost more), a big one's with numpy."""
    from array import array

    digests, owners = array("q", [d for d, _ in pairs]), array("I", [o for _, o in pairs])
    was = stream.DIGESTS_IN_PYTHON
    try:
        stream.DIGESTS_IN_PYTHON = 0
        with_numpy = shared_groups(digests, owners)
    finally:
        stream.DIGESTS_IN_PYTHON = was
    assert sorted(shared_groups(digests, owners)) == sorted(with_numpy)


def test_fix_jobs_give_identical_files_from_the_command_line(tmp_path, small_ranges):
    paths = _many_sets(tmp_path, broken=True)
    outputs = {}
    for jobs in ("1", "3"):
        out = tmp_path / f"out{jobs}"
        result = CliRunner().invoke(cli, ["fix", *paths, "-o", str(out), "--jobs", jobs, "--format", "json"])
        assert result.exit_code in (1, 2), result.output  # findings remain; two sets were left out
        report = result.output.replace(str(out), "OUT")
        outputs[jobs] = (report, [(out / Path(p).name).read_bytes() for p in paths])
    assert outputs["1"] == outputs["3"]


def test_in_place_leaves_an_untouched_file_alone_and_no_spool_behind(tmp_path):
    clean = tmp_path / "clean.837"
    shutil.copy(SAMPLES / "01-mohs-clean.837", clean)
    before = clean.stat()
    result = CliRunner().invoke(cli, ["fix", str(clean), "--in-place", "--format", "json"])
    assert result.exit_code == 0, result.output
    after = clean.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.837"]


def test_a_file_that_breaks_midway_is_reported_and_not_written(tmp_path):
    good = synth.build_837p([synth.random_mohs_claim(random.Random(3), n) for n in range(9)], claims_per_transaction=3)
    broken = tmp_path / "broken.837"
    broken.write_text(good + "ISA*00*short~", newline="")  # a second interchange whose ISA is cut short
    other = tmp_path / "other.837"
    shutil.copy(SAMPLES / "01-mohs-clean.837", other)
    out = tmp_path / "out"
    reports = stream_paths(
        [str(broken), str(other)],
        all_rules(),
        RuleOptions(),
        fixing=True,
        targets={str(broken): out / "broken.837", str(other): out / "other.837"},
    )
    assert reports[0].error is not None and "ISA" in reports[0].error.describe()
    assert reports[0].error.source == str(broken) and not reports[0].findings
    assert not (out / "broken.837").exists()
    assert (out / "other.837").read_bytes() == other.read_bytes()  # the rest of the batch goes on


@settings(max_examples=60, deadline=None)
@given(raw=mutated())
def test_ranges_of_any_file_cover_it_exactly(tmp_path_factory, raw: bytes):
    path = tmp_path_factory.mktemp("cut") / "x.837"
    path.write_bytes(raw)
    cut = split_file(str(path), 5, min_bytes=64)
    assert b"".join(raw[r.start : r.end] for r in cut) == raw
    assert all(r.context.startswith(b"ISA") for r in cut[1:])


def test_a_new_line_id_that_clashes_with_a_third_set_brings_it_in(tmp_path):
    """Set 1 lacks a REF*6R (the fix would give X-1), set 2 uses X-1 and set 3 uses X-1-2: the
    fix of sets 1 and 2 together picks X-1-2, so set 3 has to join them, and X-1-3 it is."""

    def claim(pcn: str, line_id: str | None, member: str) -> synth.ClaimSpec:
        return synth.ClaimSpec(
            pcn, ("C44311",), [synth.LineSpec("17311", Decimal("742.80"), line_id=line_id)], member_id=member
        )

    path = tmp_path / "ids.837"
    claims = [claim("X", None, "1M1"), claim("Y", "X-1", "1M2"), claim("Z", "X-1-2", "1M3")]
    path.write_text(synth.build_837p(claims, claims_per_transaction=1), newline="")
    [report] = fix_files([str(path)])
    text = fixed_text(report)
    assert text is not None and text.count("REF*6R*X-1-3~") == 1
    assert text.count("REF*6R*X-1~") == 1 and text.count("REF*6R*X-1-2~") == 1  # the others kept theirs
    assert [(a.rule, a.claim) for a in report.applied if a.rule != "X12001"] == [("X12004", "X")]
    assert get_rule("X12004").fix_safety.value == "safe"


def test_the_diff_of_a_fix_in_place_is_against_the_file_as_it_was(tmp_path):
    path = tmp_path / "claims.837"
    shutil.copy(SAMPLES / "12-modifier-and-x12-errors.837", path)
    original = path.read_text()
    result = CliRunner().invoke(cli, ["fix", str(path), "--in-place", "--diff", "--format", "table"])
    assert result.exit_code in (0, 1), result.output
    diff = result.stdout[result.stdout.index(f"--- {path}\n") :]
    assert "-SV1*HC:17311:59:XS" in diff and "+SV1*HC:17311:XS" in diff
    assert _apply(original, diff) == path.read_text() != original
