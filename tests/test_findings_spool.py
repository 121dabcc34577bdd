"""Findings leave memory as each transaction set is done (issue #19, item 2).

A set's findings go to a spool on disk as soon as it is checked; a file's findings are read
back from there, one set at a time, by the writers, the store and the exit code. What the
reports say must not depend on that: the same bytes for any number of jobs, sets checked
again together (a Mohs day across sets and files, mohs-rules.md) replace what their sets
first reported, and nothing is left on disk, whatever happens to a file.
"""

from __future__ import annotations

import gc
import json
import os
import random
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi import synth
from mohsedi.cli.main import cli
from mohsedi.rules.base import Finding, FixSafety, Severity
from mohsedi.run import ranges
from mohsedi.run.findings import Findings, Spool, finding_order
from tests.engine import check_files, fix_files
from tests.test_stream import _many_sets


@pytest.fixture
def small_ranges(monkeypatch):
    monkeypatch.setattr(ranges, "MIN_RANGE_BYTES", 1500)


@pytest.fixture
def own_tmp(tmp_path, monkeypatch) -> Path:
    """Temporary files of the run (check's spool) go here, where the test can look."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


def _cli(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_check_and_fix_reports_are_the_same_bytes_for_any_number_of_jobs(tmp_path, small_ranges, fmt):
    paths = _many_sets(tmp_path, broken=True)
    for command in (["check", *paths], ["fix", *paths, "-o", str(tmp_path / "out")]):
        runs = {jobs: _cli([*command, "--format", fmt, "--jobs", jobs]) for jobs in ("1", "2", "6")}
        assert runs["1"] == runs["2"] == runs["6"], command[0]
        code, text = runs["1"]
        assert code == 2  # a set that cannot be read (exit codes: contract.md)
        if fmt == "json":
            data = json.loads(text)
            found = [f for file in data["files"] for f in file["findings"]]
            by_severity = Counter(f["severity"] for f in found)
            assert data["summary"]["errors"] == by_severity["error"] > 0
            assert data["summary"]["warnings"] == by_severity["warning"]
            assert data["summary"]["info"] == by_severity["info"]
            for file in data["files"]:  # each file's findings in the order of the spec's sort key
                keys = [(f["segment"] or 0, f["claim"] or "", f["line"] or 0, f["rule"]) for f in file["findings"]]
                assert keys == sorted(keys)


def test_statistics_and_fail_on_count_what_the_report_lists(tmp_path, small_ranges):
    paths = _many_sets(tmp_path)
    code, text = _cli(["check", *paths, "--format", "json", "--jobs", "2", "--fail-on", "never"])
    assert code == 0
    listed = Counter(f["rule"] for file in json.loads(text)["files"] for f in file["findings"])
    code, stats = _cli(["check", *paths, "--statistics", "--format", "json", "--jobs", "2", "--fail-on", "never"])
    assert {row["rule"]: row["count"] for row in json.loads(stats)} == dict(listed)
    assert _cli(["check", *paths, "--format", "csv", "--fail-on", "error"])[0] == 1


def _claim(pcn: str, code: str, member: str) -> synth.ClaimSpec:
    return synth.ClaimSpec(pcn, ("C44311",), [synth.LineSpec(code, Decimal("400.00"))], member_id=member)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("fixing", [False, True])
def test_sets_checked_again_together_replace_what_they_first_reported(tmp_path, small_ranges, own_tmp, jobs, fixing):
    """mohs-rules.md, MOHS001: an add-on (17312) needs its primary (17311) the same day, on any
    claim of that day. Alone, each set holding only the add-on would be reported; with the
    day's other set (in the same file, and in another file) it must not be."""
    rng = random.Random(5)
    fillers = [synth.random_mohs_claim(rng, n) for n in range(6)]
    a_claims = [_claim("DAYA1", "17311", "1SPLITSETS"), *fillers, _claim("DAYA2", "17312", "1SPLITSETS")]
    a_claims.append(_claim("FILEA", "17311", "1SPLITFILES"))
    a = tmp_path / "a.837"
    a.write_text(synth.build_837p(a_claims, claims_per_transaction=1), newline="")
    b = tmp_path / "b.837"
    b.write_text(synth.build_837p([_claim("FILEB", "17312", "1SPLITFILES")]), newline="")
    alone = tmp_path / "alone.837"
    alone.write_text(synth.build_837p([_claim("DAYA2", "17312", "1SPLITSETS")]), newline="")
    [by_itself] = check_files([str(alone)])
    assert [(f.rule, f.claim) for f in by_itself.findings if f.rule == "MOHS001"] == [("MOHS001", "DAYA2")]

    if fixing:
        reports = fix_files([str(a), str(b)], jobs=jobs, out=tmp_path / "out")
    else:
        reports = check_files([str(a), str(b)], jobs=jobs)
    for r in reports:
        listed = list(r.findings)
        assert not [f for f in listed if f.rule == "MOHS001"], r.path
        # What is counted (the summary, --fail-on) is what is listed: the first records are gone.
        assert len(r.findings) == len(listed)
        assert r.findings.by_rule() == Counter(f.rule for f in listed)
        assert listed == sorted(listed, key=finding_order)
        if fixing:
            first = list(r.initial_findings)
            assert not [f for f in first if f.rule == "MOHS001"] and len(r.initial_findings) == len(first)


def _finding_heavy(tmp_path: Path, claims: int = 60) -> Path:
    """Every claim with findings (a second first stage the same day without 59/XS: MOHS004)."""
    specs = []
    for n in range(claims):
        line = synth.LineSpec("17311", Decimal("742.80"))
        specs.append(synth.ClaimSpec(f"H{n}", ("C44311",), [line, line], member_id=f"1HEAVY{n:05d}"))
    path = tmp_path / "heavy.837"
    path.write_text(synth.build_837p(specs, claims_per_transaction=7), newline="")
    return path


def _alive_findings() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is Finding)


@pytest.mark.parametrize("fixing", [False, True])
def test_memory_holds_no_findings_after_the_run(tmp_path, small_ranges, own_tmp, fixing):
    path = _finding_heavy(tmp_path)
    before = _alive_findings()
    reports = fix_files([str(path)], jobs=2, out=tmp_path / "out") if fixing else check_files([str(path)], jobs=2)
    held = sum(r.findings.held_count() + r.initial_findings.held_count() for r in reports)
    assert _alive_findings() - before <= held
    assert sum(len(r.findings) for r in reports) >= 60  # yet they are all there, read back on demand
    assert {f.claim for r in reports for f in r.findings if f.rule == "MOHS004"} >= {f"H{n}" for n in range(60)}


def test_the_spool_is_on_disk_and_unlinked(tmp_path, own_tmp):
    [report] = check_files([str(_finding_heavy(tmp_path, 10))])
    spool = report.findings._spool
    assert isinstance(spool, Spool) and spool.size > 0
    assert os.fstat(spool.file.fileno()).st_nlink == 0  # no name: nothing to leave behind
    assert list(own_tmp.iterdir()) == []


@pytest.mark.parametrize("jobs", [1, 3])
def test_a_cut_or_failed_file_leaves_no_spool_behind(tmp_path, small_ranges, own_tmp, jobs):
    """The three files share Mohs days (the same claims): the file that breaks after its sets
    (a cut ISA) is reported unreadable and takes no part in the others' days (reading it again
    for them once stopped the whole run)."""
    good = synth.build_837p([synth.random_mohs_claim(random.Random(3), n) for n in range(12)], claims_per_transaction=2)
    cut = tmp_path / "cut.837"
    cut.write_text(good[: len(good) * 2 // 3], newline="")  # cut in transfer: X12007
    broken = tmp_path / "broken.837"
    broken.write_text(good + "ISA*00*short~", newline="")
    missing = str(tmp_path / "missing.837")
    out = tmp_path / "out"
    paths = [str(cut), str(broken), missing]
    checked = check_files(paths, jobs=jobs)
    fixed = fix_files(paths, jobs=jobs, out=out)
    assert any(f.rule == "X12007" for f in checked[0].findings)
    assert fixed[0].output is None and checked[1].error is not None and checked[2].error is not None
    assert fixed[1].error is not None and fixed[1].output is None and not fixed[1].findings
    assert list(own_tmp.iterdir()) == []
    assert [p.name for p in out.iterdir()] == []  # nothing written, no spool or temporary file


def _findings(draw_keys: list[tuple[int | None, str | None, int | None, str]]) -> list[Finding]:
    return [
        Finding(rule, Severity.ERROR, f"m{n}", FixSafety.NONE, claim=claim, line=line, segment=segment)
        for n, (segment, claim, line, rule) in enumerate(draw_keys)
    ]


keys = st.tuples(
    st.none() | st.integers(1, 40),
    st.none() | st.sampled_from(["A", "B", "C"]),
    st.none() | st.integers(1, 3),
    st.sampled_from(["MOHS001", "MOHS004", "X12001"]),
)


@settings(max_examples=80, deadline=None)
@given(parts=st.lists(st.lists(keys, max_size=6), max_size=5), held=st.lists(st.lists(keys, max_size=4), max_size=3))
def test_a_files_findings_read_back_as_one_stable_sort_of_all_of_them(parts, held):
    """Sets in file order, then the lists held beside them: ties keep that order, as one stable
    sort of everything (the order the reports had when every finding was held)."""
    spool = Spool()
    made = [_findings(p) for p in parts]
    kept = [sorted(_findings(h), key=finding_order) for h in held]
    written = [spool.write(list(f)) for f in made]
    result = Findings(spool, written, kept)
    everything = [f for group in made for f in group] + [f for group in kept for f in group]
    assert list(result) == sorted(everything, key=finding_order)
    assert len(result) == len(everything)
    dropped = result.where(lambda f: f.rule != "X12001")
    assert list(dropped) == [f for f in sorted(everything, key=finding_order) if f.rule != "X12001"]
    assert len(dropped) == sum(1 for f in everything if f.rule != "X12001")


def test_with_a_store_tr3_and_diff_the_reports_are_the_same_for_any_number_of_jobs(tmp_path, small_ranges):
    paths = _many_sets(tmp_path, broken=True)
    runs = {}
    for jobs in ("1", "3"):
        db = f"sqlite:///{tmp_path / f'store{jobs}.db'}"
        common = ["--format", "json", "--jobs", jobs, "--tr3", "--db", db]
        checked = _cli(["check", *paths, *common])
        fixed = _cli(["fix", *paths, "-o", str(tmp_path / "out"), "--diff", *common])
        runs[jobs] = (checked, fixed)
    assert runs["1"] == runs["3"]
    assert '"rule": "MOHS004"' in runs["1"][0][1] and "+++ " in runs["1"][1][1]


def _stored(store_url: str) -> Counter[str]:
    import sqlalchemy as sa

    from mohsedi.store import models as m
    from mohsedi.store.db import open_store

    engine = open_store(store_url)
    query = sa.select(m.StoredFinding.rule, sa.func.count()).group_by(m.StoredFinding.rule)
    with engine.connect() as conn:
        found = Counter(dict(conn.execute(query).all()))
    engine.dispose()
    return found


@pytest.mark.parametrize("command", ["check", "fix"])
def test_the_store_records_the_findings_the_report_lists(tmp_path, small_ranges, store_url, command):
    """Recording reads the findings back from the spool: every claim's finding (fix: as first
    found) is stored once; envelope findings name no claim and are not stored."""
    from mohsedi.pipeline import run_check, run_fix
    from mohsedi.rules.context import RuleOptions
    from mohsedi.rules.registry import all_rules

    paths = [*_many_sets(tmp_path), str(_finding_heavy(tmp_path))]
    if command == "check":
        reports = run_check(paths, all_rules(), RuleOptions(), db_url=store_url, jobs=2)
        expected = Counter(f.rule for r in reports for f in r.findings if f.claim)
    else:
        targets = {p: tmp_path / "out" / Path(p).name for p in paths}
        reports = run_fix(paths, all_rules(), RuleOptions(), targets=targets, db_url=store_url, jobs=2)
        expected = Counter(f.rule for r in reports for f in r.initial_findings if f.claim)
    assert _stored(store_url) == expected and expected["MOHS004"] >= 60


def test_a_set_is_let_go_before_the_next_is_read(tmp_path, monkeypatch):
    """One transaction set in memory at a time: when the reader starts on the next set, the
    engine holds none of the sets before it."""
    from mohsedi.claims.reader import ClaimSet
    from mohsedi.run import stream

    real = stream.iter_claim_sets
    alive: list[int] = []

    def counting(units):
        sets = real(units)
        while True:
            gc.collect()
            alive.append(sum(1 for o in gc.get_objects() if type(o) is ClaimSet))
            try:
                unit = next(sets)
            except StopIteration:
                return
            yield unit
            del unit

    monkeypatch.setattr(stream, "iter_claim_sets", counting)
    [report] = check_files([str(_finding_heavy(tmp_path, 30))])
    assert report.claims == 30 and len(alive) > 5  # several sets read
    assert max(alive) == 0
