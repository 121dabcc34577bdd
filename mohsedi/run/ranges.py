"""Cutting a big file into byte ranges at transaction-set boundaries, for parallel reading.

A range starts at an ST segment (or at the start of the file) and ends where the next range
starts. The sets in it travel in an interchange and group that began earlier, so a range
carries its context: the ISA and GS segments in force where it starts, read back from the
file. A reader prepends the context, numbers segments from it, and leaves it out again.
Only a few windows around each cut are read here; the file is never scanned whole.
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mohsedi.errors import X12Error
from mohsedi.x12.delimiters import ISA_LENGTH, Delimiters, sniff_delimiters
from mohsedi.x12.segments import READ_CHUNK

WINDOW = 1 << 20
LAYOUT = rb"[ \t\r\n]*"
# Below this a file is read by one process: a cut costs a few window reads and a process hop.
MIN_RANGE_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int | None  # None: to the end of the file
    context: bytes = b""  # the ISA (and GS) in force at ``start``, each with its terminator
    context_segments: int = 0


def split_file(path: str, parts: int, *, min_bytes: int | None = None) -> list[ByteRange]:
    """At most ``parts`` ranges of about equal size, each starting at a transaction set."""
    min_bytes = MIN_RANGE_BYTES if min_bytes is None else min_bytes
    size = os.path.getsize(path)
    if parts <= 1 or size < 2 * min_bytes:
        return [ByteRange(0, None)]
    parts = min(parts, size // min_bytes)
    with open(path, "rb") as fh:
        starts = [0]
        for k in range(1, parts):
            at = set_start_at_or_after(fh, size * k // parts)
            if at is not None and at > starts[-1]:
                starts.append(at)
        ranges = [ByteRange(0, starts[1] if len(starts) > 1 else None)]
        for i, start in enumerate(starts[1:], start=1):
            end = starts[i + 1] if i + 1 < len(starts) else None
            context, count = context_at(fh, start)
            ranges.append(ByteRange(start, end, context, count))
    return ranges


def read_range(path: str, byte_range: ByteRange, size: int = READ_CHUNK) -> Iterator[str]:
    """The range decoded as ``read_chunks`` decodes a whole file, its context first."""
    if byte_range.context:
        yield byte_range.context.decode("utf-8", "surrogateescape")
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    with open(path, "rb") as fh:
        fh.seek(byte_range.start)
        remaining = None if byte_range.end is None else byte_range.end - byte_range.start
        while remaining is None or remaining > 0:
            raw = fh.read(size if remaining is None else min(size, remaining))
            if not raw:
                break
            if remaining is not None:
                remaining -= len(raw)
            text = decoder.decode(raw)
            if text:
                yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _isa_at(fh: BinaryIO, pos: int) -> Delimiters | None:
    fh.seek(pos)
    head = fh.read(ISA_LENGTH).decode("utf-8", "surrogateescape")
    try:
        return sniff_delimiters(head)
    except X12Error:
        return None


def last_isa_before(fh: BinaryIO, pos: int) -> tuple[int, Delimiters] | None:
    """The last ISA that starts before ``pos``: its position and delimiters."""
    end = pos
    while end > 0:
        begin = max(0, end - WINDOW)
        fh.seek(begin)
        block = fh.read(end - begin + 2)  # "ISA" may start just before ``end``
        i = block.rfind(b"ISA", 0, end - begin + 2)
        while i >= 0:
            delims = _isa_at(fh, begin + i)
            if delims is not None:  # the fixed-width check rules out "ISA" inside data
                return begin + i, delims
            i = block.rfind(b"ISA", 0, i + 2)
        end = begin
    return None


def _pattern(delims: Delimiters, segment_id: bytes) -> tuple[re.Pattern[bytes], int]:
    """A segment start (terminator, layout, id, element separator), and how long its id and separator are."""
    term = delims.segment.encode("utf-8", "surrogateescape")
    element = delims.element.encode("utf-8", "surrogateescape")
    return re.compile(re.escape(term) + LAYOUT + segment_id + re.escape(element)), len(segment_id) + len(element)


def set_start_at_or_after(fh: BinaryIO, pos: int) -> int | None:
    """Where the first ST segment at or after ``pos`` starts (None: there is none)."""
    governing = last_isa_before(fh, pos + 1)
    while governing is not None:
        isa_start, delims = governing
        following = next_isa_after(fh, max(pos, isa_start + 1))
        limit = following[0] if following is not None else None
        # Each interchange is searched under its own delimiters, up to the next one.
        found = _search_forward(fh, max(pos, isa_start) - 1, *_pattern(delims, b"ST"), limit=limit)
        if found is not None:
            return found
        governing, pos = following, limit or pos
    return None


def next_isa_after(fh: BinaryIO, pos: int) -> tuple[int, Delimiters] | None:
    at = pos
    while True:
        fh.seek(at)
        block = fh.read(WINDOW + 2)
        i = block.find(b"ISA")
        while i >= 0:
            delims = _isa_at(fh, at + i)
            if delims is not None:
                return at + i, delims
            i = block.find(b"ISA", i + 1)
        if len(block) < WINDOW + 2:
            return None
        at += WINDOW


def _search_forward(
    fh: BinaryIO, pos: int, pattern: re.Pattern[bytes], tail: int, *, limit: int | None = None
) -> int | None:
    at = max(0, pos)
    overlap = 256  # a match across two windows is found in the second
    while limit is None or at < limit:
        fh.seek(at)
        size = WINDOW + overlap if limit is None else min(WINDOW + overlap, limit - at)
        block = fh.read(size)
        m = pattern.search(block)
        if m is not None:
            return at + m.end() - tail
        if len(block) < size or (limit is not None and at + size >= limit):
            return None
        at += WINDOW
    return None


def context_at(fh: BinaryIO, start: int) -> tuple[bytes, int]:
    """The ISA and GS segments in force at ``start``, as text to prepend, and how many there are."""
    governing = last_isa_before(fh, start)
    if governing is None:
        return b"", 0
    isa_start, delims = governing
    fh.seek(isa_start)
    isa = fh.read(ISA_LENGTH)
    pattern, tail = _pattern(delims, b"GS")
    end = start
    while end > isa_start:
        begin = max(isa_start, end - WINDOW)
        fh.seek(begin)
        block = fh.read(end - begin)
        last = None
        for m in pattern.finditer(block):
            last = m
        if last is not None:
            gs_start = begin + last.end() - tail
            fh.seek(gs_start)
            head = fh.read(64 * 1024)
            term = delims.segment.encode("utf-8", "surrogateescape")
            stop = head.find(term)
            if stop >= 0:
                return isa + head[: stop + len(term)], 2
            break
        end = begin + 256 if begin > isa_start and begin + 256 < end else begin
    return isa, 1
