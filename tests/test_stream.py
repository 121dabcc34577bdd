"""Streaming check and fix (one transaction set at a time, over N processes) against the held engine.

The held engine reads every file whole and runs the rules across the batch; streaming must
give the same findings, fixes and fixed bytes for any number of jobs, including for days and
line ids that reach across transaction sets and files.
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi import synth
from mohsedi.cli.main import cli
from mohsedi.rules import stream
from mohsedi.rules.batch import FileReport, check_paths, fix_paths
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.registry import all_rules
from mohsedi.rules.stream import portable, shared_groups, stream_paths
from mohsedi.x12 import ranges
from mohsedi.x12.delimiters import Delimiters
from mohsedi.x12.ranges import read_range, split_file
from mohsedi.x12.segments import encode
from tests.test_fuzz import mutated

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _day_claims(tag: str, member: str) -> list[synth.ClaimSpec]:
    """Two claims of one Mohs day: the second is a second first stage with no 59/XS (MOHS004)."""
    return [
        synth.ClaimSpec(f"{tag}A", ("C44311",), [synth.LineSpec("17311", Decimal("742.80"))], member_id=member),
        synth.ClaimSpec(f"{tag}B", ("C44311",), [synth.LineSpec("17311", Decimal("742.80"))], member_id=member),
    ]


def _batch(tmp_path: Path) -> list[str]:
    """Two files: many sets, two interchanges with other delimiters, a day across sets and one
    across files, a REF*6R used in two sets, a set without SE and a set the guide cannot place."""
    rng = random.Random(11)
    claims = [synth.random_mohs_claim(rng, n) for n in range(40)]
    first, second = _day_claims("SPLIT", "1DAYACROSSSET")
    claims.insert(3, first)
    claims.insert(30, second)
    claims[7].lines[0].line_id = "SHARED-ID"
    claims[33].lines[0].line_id = "SHARED-ID"
    part1 = synth.build_837p(claims[:24], claims_per_transaction=3)
    part2 = synth.build_837p(
        claims[24:],
        synth.Envelope837(interchange_control=2, delimiters=Delimiters("|", ">", "^", "~"), line_break="\r\n"),
        claims_per_transaction=3,
    )
    sets = part1.split("ST*837*")
    sets[2] = sets[2].replace("\nSE*", "\nSTRAY*1~\nSE*", 1)  # a segment the guide cannot place
    sets[4] = sets[4][: sets[4].index("\nSE*") + 1]  # no SE: the next ST ends it
    across_files, other = _day_claims("FILE", "1DAYACROSSFILE")
    a = tmp_path / "a.837"
    a.write_text("ST*837*".join(sets) + part2 + synth.build_837p([across_files]), newline="")
    b = tmp_path / "b.837"
    b.write_text(synth.build_837p([other, *[synth.random_mohs_claim(rng, n) for n in range(100, 110)]]), newline="")
    return [str(a), str(b)]


def comparable(r: FileReport, findings: list) -> tuple:
    return (
        r.path,
        r.claims,
        sorted(repr(portable(dataclasses.replace(f, claim_key=None))) for f in findings),
        [e.describe() for e in r.quarantined],
        r.error.describe() if r.error else None,
        r.notices,
    )


@pytest.fixture
def small_ranges(monkeypatch):
    monkeypatch.setattr(ranges, "MIN_RANGE_BYTES", 1500)


@pytest.mark.parametrize("jobs", [1, 2, 6])
def test_stream_check_matches_the_held_engine(tmp_path, small_ranges, jobs):
    paths = _batch(tmp_path)
    rules, options = all_rules(), RuleOptions()
    held = check_paths(paths, rules, options)
    streamed = stream_paths(paths, rules, options, jobs=jobs)
    assert [comparable(r, r.findings) for r in streamed] == [comparable(r, r.findings) for r in held]
    codes = {f.rule for r in streamed for f in r.findings}
    assert {"MOHS004", "X12004"} <= codes
    assert any(f.claim in ("SPLITB", "FILEB") and f.rule == "MOHS004" for r in streamed for f in r.findings)
    assert streamed[0].quarantined  # the unplaceable set and the set with no SE


@pytest.mark.parametrize("jobs", [1, 2, 6])
@pytest.mark.parametrize("unsafe", [False, True])
def test_stream_fix_writes_what_the_held_engine_fixes(tmp_path, small_ranges, jobs, unsafe):
    paths = _batch(tmp_path)
    rules, options = all_rules(), RuleOptions()
    held = fix_paths(paths, rules, options, unsafe=unsafe)
    out = tmp_path / "out"
    targets = {p: out / Path(p).name for p in paths}
    streamed = stream_paths(paths, rules, options, fixing=True, unsafe=unsafe, targets=targets, jobs=jobs)
    for h, s in zip(held, streamed, strict=True):
        assert comparable(s, s.findings) == comparable(h, h.findings)
        assert comparable(s, s.initial_findings) == comparable(h, h.initial_findings)
        assert sorted(map(repr, s.applied)) == sorted(map(repr, h.applied))
        assert Path(s.output).read_bytes() == encode(h.fixed)
    assert not list(out.glob(".*"))  # no spool or temporary file left behind


def test_samples_stream_as_they_are_held(tmp_path):
    paths = sorted(str(p) for p in SAMPLES.glob("*.837"))
    rules, options = all_rules(), RuleOptions()
    held = check_paths(paths, rules, options)
    streamed = stream_paths(paths, rules, options, jobs=2)
    assert [comparable(r, r.findings) for r in streamed] == [comparable(r, r.findings) for r in held]


def test_ranges_cut_at_transaction_sets_and_cover_the_file(tmp_path):
    path = _batch(tmp_path)[0]
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
    path = _batch(tmp_path)[1]
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
    paths = _batch(tmp_path)
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
    fix of sets 1 and 2 together picks X-1-2, so set 3 has to join them, as in the held engine."""

    def claim(pcn: str, line_id: str | None, member: str) -> synth.ClaimSpec:
        return synth.ClaimSpec(
            pcn, ("C44311",), [synth.LineSpec("17311", Decimal("742.80"), line_id=line_id)], member_id=member
        )

    path = tmp_path / "ids.837"
    claims = [claim("X", None, "1M1"), claim("Y", "X-1", "1M2"), claim("Z", "X-1-2", "1M3")]
    path.write_text(synth.build_837p(claims, claims_per_transaction=1), newline="")
    rules, options = all_rules(), RuleOptions()
    held = fix_paths([str(path)], rules, options)
    target = tmp_path / "out" / "ids.837"
    streamed = stream_paths([str(path)], rules, options, fixing=True, targets={str(path): target})
    assert target.read_bytes() == encode(held[0].fixed)
    assert b"REF*6R*X-1-3~" in target.read_bytes()
    assert sorted(map(repr, streamed[0].applied)) == sorted(map(repr, held[0].applied))
