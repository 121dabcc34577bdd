"""A unified diff of a fixed file against the file as read, made one unit at a time.

Fixes edit segments inside transaction sets and the counts of envelopes; a set is never moved.
So the file as read and the fixed file are compared unit by unit (an envelope segment, a
transaction set), and only a changed unit's lines are held, twice at most: never the whole
file's text twice. Hunks stay within their unit, numbered by their lines in the whole file,
so the diff reads (and applies with `patch`) like a diff of the two files.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator

from mohsedi.claims.reader import ClaimSet, read_claim_file
from mohsedi.x12.segments import emit

Sink = Callable[[str], None]
CONTEXT = 3


def unit_texts(path: str) -> Iterator[str]:
    """The text of each unit of a file as read: envelope segments and transaction sets, in order."""
    for unit in read_claim_file(path):
        yield emit(unit.transaction.segments) if isinstance(unit, ClaimSet) else unit.segment.emit()


def _range(start: int, stop: int) -> str:
    """A hunk's line range, as difflib writes it (1-based; an empty range names the line before)."""
    length = stop - start
    if length == 1:
        return str(start + 1)
    return f"{start if not length else start + 1},{length}"


def unit_hunks(before: list[str], after: list[str], at_before: int, at_after: int) -> Iterator[str]:
    """The unified-diff hunks between one unit's lines as read and as fixed, numbered from
    where the unit starts in each file."""
    matcher = difflib.SequenceMatcher(None, before, after)  # as difflib.unified_diff compares
    for group in matcher.get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        yield (
            f"@@ -{_range(at_before + first[1], at_before + last[2])} "
            f"+{_range(at_after + first[3], at_after + last[4])} @@\n"
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in before[i1:i2])
                continue
            yield from ("-" + line for line in before[i1:i2])
            yield from ("+" + line for line in after[j1:j2])


def unified(fromfile: str, tofile: str, before: Iterable[str], after: Iterable[str]) -> Iterator[str]:
    """The diff of two files given as the texts of their units, pair by pair ("" for a unit
    the fixed file leaves out). Nothing at all when they are the same."""
    at_before = at_after = 0
    started = False
    for old, new in zip(before, after, strict=True):
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
        if old != new:
            for piece in unit_hunks(a, b, at_before, at_after):
                if not started:
                    yield f"--- {fromfile}\n+++ {tofile}\n"
                    started = True
                yield piece
        at_before += len(a)
        at_after += len(b)


def file_diff(path: str, target: str, fixed: Iterable[str], sink: Sink) -> None:
    """Hand ``sink`` the diff of the file at ``path`` against its fixed units, piece by piece."""
    for piece in unified(path, target, unit_texts(path), fixed):
        sink(piece)
