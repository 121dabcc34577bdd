"""Hostile input: mutated files never raise anything but X12Error, and inputs are never modified."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from mohsedi.cli.main import cli
from mohsedi.errors import X12Error
from mohsedi.remits.reader import read_remit_text
from mohsedi.rules.context import RuleOptions
from mohsedi.rules.engine import check_documents, fix_documents, load_document
from mohsedi.rules.registry import all_rules
from tests.conftest import SAMPLES

SOURCES = [
    (SAMPLES / "10-mohs-coding-errors.837").read_bytes(),
    (SAMPLES / "12-modifier-and-x12-errors.837").read_bytes(),
    (SAMPLES / "10-mohs-denials.835").read_bytes(),
]
# Checked beside each mutated file: its patients are in none of SOURCES, so no same-day group
# spans the two files and its report must be what it is alone.
GOOD = (SAMPLES / "11-same-day-errors.837").read_bytes()


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(SOURCES)))
    segments = data.split(b"~")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "corrupt", "truncate", "insert", "huge"]))
        if kind == "delete" and len(segments) > 1:
            del segments[draw(st.integers(0, len(segments) - 1))]
        elif kind == "duplicate":
            i = draw(st.integers(0, len(segments) - 1))
            segments.insert(i, segments[i])
        elif kind == "swap" and len(segments) > 2:
            i, j = draw(st.integers(0, len(segments) - 1)), draw(st.integers(0, len(segments) - 1))
            segments[i], segments[j] = segments[j], segments[i]
        elif kind == "corrupt":
            i = draw(st.integers(0, len(segments) - 1))
            seg = bytearray(segments[i])
            for _ in range(draw(st.integers(1, 5))):
                if seg:
                    seg[draw(st.integers(0, len(seg) - 1))] = draw(st.integers(0, 255))
            segments[i] = bytes(seg)
        elif kind == "truncate":
            joined = b"~".join(segments)
            segments = joined[: draw(st.integers(0, len(joined)))].split(b"~")
        elif kind == "insert":
            segments.insert(draw(st.integers(0, len(segments))), draw(st.binary(max_size=40)))
        elif kind == "huge":
            i = draw(st.integers(0, len(segments) - 1))
            segments[i] = segments[i] + b"*" + b"9" * draw(st.integers(1000, 20000))
    return b"~".join(segments)


@settings(max_examples=150, deadline=None)
@given(raw=mutated())
def test_readers_and_rules_only_raise_x12error(raw: bytes) -> None:
    text = raw.decode("utf-8", "surrogateescape")
    with contextlib.suppress(X12Error):
        read_remit_text(text, source="fuzz.835")
    doc = load_document("fuzz.837", text)  # turns X12Error into Document.error, never raises
    if doc.error is None:
        options = RuleOptions()
        check_documents([doc], all_rules(), options)
        quarantined_before = len(doc.quarantined())
        outcome = fix_documents([doc], all_rules(), options, unsafe=True)
        # The fixed text reads back with no more quarantined sets than the input had (a fix never
        # makes a file less valid), and a second fix finds nothing left to apply.
        again = load_document("fuzz-fixed.837", doc.emit())
        assert again.error is None
        assert len(again.quarantined()) <= quarantined_before, [str(e) for e in again.quarantined()]
        if outcome.applied:
            assert fix_documents([again], all_rules(), options, unsafe=True).applied == []


def files_by_name(result) -> dict[str, dict]:
    """The JSON report's entries by file name (stdout only: stderr carries the messages)."""
    data = json.loads(result.stdout)
    return {Path(f["path"]).name: f for f in data["files"]}


@functools.cache
def good_alone() -> tuple[int, dict, dict, bytes]:
    """The good file checked and fixed on its own: what it must still get beside a broken one."""
    tmp = Path(tempfile.mkdtemp(prefix="mohsedi-fuzz-good-"))
    good = tmp / "good.837"
    good.write_bytes(GOOD)
    runner = CliRunner()
    checked = runner.invoke(cli, ["check", str(good), "--format", "json"])
    fixed = runner.invoke(cli, ["fix", str(good), "-o", str(tmp / "out"), "--unsafe-fixes", "--format", "json"])
    check_entry, fix_entry = files_by_name(checked)["good.837"], files_by_name(fixed)["good.837"]
    return checked.exit_code, check_entry, fix_entry, (tmp / "out" / "good.837").read_bytes()


def without_paths(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k not in ("path", "output")}


@settings(max_examples=25, deadline=None)
@given(raw=mutated())
def test_commands_report_and_never_touch_inputs(tmp_path_factory, raw: bytes) -> None:
    alone_code, alone_check, alone_fix, alone_fixed = good_alone()
    assert alone_code == 1 and alone_check["findings"] and not alone_check["errors"]
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "input.837"
    path.write_bytes(raw)
    good = tmp / "good.837"
    good.write_bytes(GOOD)
    before = hashlib.sha256(raw).hexdigest()
    runner = CliRunner()
    result = runner.invoke(cli, ["check", str(path), str(good), "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    entries = files_by_name(result)
    assert set(entries) == {"input.837", "good.837"}
    # Unreadable input is exit 2; otherwise the good file's error findings make it 1.
    assert result.exit_code == (2 if entries["input.837"]["errors"] else 1)
    assert without_paths(entries["good.837"]) == without_paths(alone_check), "the good file is still reported"

    out = tmp / "out"
    result = runner.invoke(cli, ["fix", str(path), str(good), "-o", str(out), "--unsafe-fixes", "--format", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    entries = files_by_name(result)
    assert without_paths(entries["good.837"]) == without_paths(alone_fix)
    assert (out / "good.837").read_bytes() == alone_fixed, "the good file is fixed as it is alone"
    if entries["input.837"]["output"] is not None:
        # A fixed file is never less valid than its input: what was written reads without errors,
        # and fixing it again applies nothing (the envelope counts were redone, the fixes complete).
        again = runner.invoke(
            cli, ["fix", str(out / "input.837"), "-o", str(tmp / "again"), "--unsafe-fixes", "--format", "json"]
        )
        entry = files_by_name(again)["input.837"]
        assert entry["errors"] == [] and entry["applied"] == [], (entry["errors"], entry["applied"])
    else:
        assert not (out / "input.837").exists()
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == before, "the input was modified"


def test_empty_and_binary_files_are_clear_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    for name, data in [("empty.837", b""), ("binary.837", bytes(range(256)) * 4), ("short.837", b"ISA*00*")]:
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(cli, ["check", str(path), "--format", "json"])
        assert result.exit_code == 2 and name in result.output


@pytest.mark.slow
@settings(max_examples=30, deadline=None)
@given(raw=mutated())
def test_ingest_stores_whole_files_or_nothing(tmp_path_factory, raw: bytes) -> None:
    from mohsedi.pipeline import run_ingest

    tmp = tmp_path_factory.mktemp("ingest")
    path = tmp / "remit.835"
    path.write_bytes(raw)
    url = f"sqlite:///{tmp / 'store.db'}"
    [first] = run_ingest([str(path)], url)
    [again] = run_ingest([str(path)], url)
    if first.error is None:
        assert again.already_stored
    else:
        assert again.error is not None and not again.already_stored  # nothing was kept the first time
