"""emit(parse(raw)) == raw for every file we have, in every layout a file can come in."""

from __future__ import annotations

from pathlib import Path

import pytest

from mohsedi.x12 import emit, iter_segments, parse_segments
from mohsedi.x12.segments import decode, encode, read_chunks
from tests.conftest import CORPUS_MISSING, corpus_dir, file_id, x12_files, x12_params

FILES = x12_files()


def test_some_files_are_checked() -> None:
    assert len(FILES) >= 7


@pytest.mark.parametrize("path", x12_params())
def test_file_round_trips_byte_for_byte(path: Path) -> None:
    raw = path.read_bytes()
    segments = list(iter_segments(read_chunks(str(path)), source=str(path)))
    assert encode(emit(segments)) == raw


@pytest.mark.parametrize("path", x12_params())
@pytest.mark.parametrize("chunk", [1, 7, 106, 4096])
def test_chunk_boundaries_do_not_matter(path: Path, chunk: int) -> None:
    text = decode(path.read_bytes())
    whole = [(s.text, s.trailer, s.lead, s.offset) for s in parse_segments(text)]
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)]
    streamed = [(s.text, s.trailer, s.lead, s.offset) for s in iter_segments(pieces)]
    assert streamed == whole


def _relayout(text: str, line_break: str) -> str:
    segments = parse_segments(text)
    term = segments[0].delimiters.segment
    return "".join(s.text + term + line_break for s in segments)


@pytest.mark.parametrize("line_break", ["", "\n", "\r\n", "\r", "\n\n", " \r\n"])
@pytest.mark.parametrize("path", FILES[:3], ids=file_id)
def test_layouts_round_trip_and_read_the_same(path: Path, line_break: str) -> None:
    text = _relayout(decode(path.read_bytes()), line_break)
    segments = parse_segments(text)
    assert emit(segments) == text
    flat = [s.text for s in parse_segments(_relayout(text, ""))]
    assert [s.text for s in segments] == flat


def test_bom_and_leading_blank_lines_are_kept(sample_text: str) -> None:
    text = "\ufeff\r\n\n" + sample_text + "\n\n"
    segments = parse_segments(text)
    assert segments[0].id == "ISA"
    assert emit(segments) == text


def test_several_interchanges_with_different_delimiters(sample_text: str) -> None:
    other = sample_text.replace("*", "|").replace(":", ">").replace("~", "\x1c")
    # The ISA11 repetition separator ^ stays; positions are fixed width, so this is still valid.
    text = sample_text + other + sample_text
    segments = parse_segments(text)
    assert emit(segments) == text
    isas = [s for s in segments if s.id == "ISA"]
    assert [s.delimiters.element for s in isas] == ["*", "|", "*"]
    assert [s.delimiters.segment for s in isas] == ["~", "\x1c", "~"]


def test_undecodable_bytes_survive(tmp_path: Path, sample_text: str) -> None:
    raw = encode(sample_text).replace(b"SAMPLE", b"SAMPL\xe9", 1)
    path = tmp_path / "latin1.837"
    path.write_bytes(raw)
    segments = list(iter_segments(read_chunks(str(path))))
    assert encode(emit(segments)) == raw


def test_last_segment_without_terminator_is_kept(sample_text: str) -> None:
    text = sample_text.rstrip().rstrip("~")
    assert emit(parse_segments(text)) == text


@pytest.mark.corpus
def test_corpus_is_found_or_skipped_cleanly() -> None:
    if corpus_dir() is None:
        pytest.skip(CORPUS_MISSING)
    assert FILES[-1].suffix == ".edi"


def test_doubled_terminators_and_blank_lines_are_layout(sample_text: str) -> None:
    text = sample_text.replace("~\nHL*2", "~~\n\nHL*2", 1).replace("~\nDTP", "~\n~DTP", 1)
    segments = parse_segments(text)
    assert emit(segments) == text
    assert all(s.id for s in segments)
    assert len(segments) == len(parse_segments(sample_text))


def test_newline_as_segment_terminator_with_blank_lines(sample_text: str) -> None:
    text = sample_text.replace("~\n", "\n")
    assert text[105] == "\n" and text[106:109] == "GS*"
    with_blanks = text.replace("\nHL*", "\n\nHL*")
    segments = parse_segments(with_blanks)
    assert emit(segments) == with_blanks
    assert [s.text for s in segments] == [s.text for s in parse_segments(text)]


LAYOUT = " \t\r\n"


def _assert_positions_exact(text: str, segments: list) -> None:
    """Every segment's offset points at its own text in the input; numbers count from 1."""
    assert [s.number for s in segments] == list(range(1, len(segments) + 1))
    for s in segments:
        assert text[s.offset : s.offset + len(s.text)] == s.text, s
        assert s.text and s.text[0] not in LAYOUT
        term = s.delimiters.segment
        if s.trailer:
            assert s.trailer[0] == term and not s.trailer[1:].strip(LAYOUT + term), s
        assert s.elements == tuple(s.text.split(s.delimiters.element)) and s.id == s.elements[0]


@pytest.mark.parametrize(
    "line_break", ["", "\n", "\r\n", "\r", " \r\n", "\n\n"], ids=["none", "lf", "crlf", "cr", "sp-crlf", "lflf"]
)
@pytest.mark.parametrize("chunk", [0, 1, 97, 4096])
def test_offsets_and_numbers_are_exact_in_every_layout(sample_text: str, line_break: str, chunk: int) -> None:
    """Whole-buffer splitting keeps positions by arithmetic: checked against the text itself."""
    one = _relayout(sample_text, line_break)
    # Several interchanges, one with other delimiters, and layout that breaks uniformity mid-file.
    other = one.replace("*", "|").replace(":", ">")
    text = one + other + one.replace("~" + line_break + "HL*", "~\n\n HL*", 1) + one
    pieces = [text] if not chunk else [text[i : i + chunk] for i in range(0, len(text), chunk)]
    segments = list(iter_segments(pieces))
    assert emit(segments) == text
    _assert_positions_exact(text, segments)
    assert [s.id for s in segments].count("ISA") == 4
    assert len(segments) == 4 * len(parse_segments(sample_text))


@pytest.mark.parametrize("path", FILES, ids=file_id)
def test_file_offsets_and_numbers_are_exact(path: Path) -> None:
    text = decode(path.read_bytes())
    _assert_positions_exact(text, parse_segments(text))
