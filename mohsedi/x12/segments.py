"""Segments with their exact source text, and the tokenizer that finds them.

Losslessness is structural: a segment keeps the characters that came before it at the
start of a file (``lead``), its own text, and the terminator plus any layout after it
(``trailer``). Emitting is concatenation, so an untouched segment is byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import accumulate, repeat
from operator import add

from mohsedi.errors import X12Error
from mohsedi.x12.delimiters import ISA_LENGTH, Delimiters, sniff_delimiters

BOM = "\ufeff"
READ_CHUNK = 1 << 20
SPLIT_CACHE_LIMIT = 4096  # distinct segment texts whose elements are remembered, per Delimiters


class Segment:
    """One segment. ``text`` excludes the terminator; element 0 is the segment id."""

    __slots__ = ("text", "trailer", "lead", "number", "offset", "delimiters", "node", "elements", "id")

    def __init__(
        self,
        text: str,
        trailer: str,
        delimiters: Delimiters,
        lead: str = "",
        number: int = 0,
        offset: int = 0,
    ) -> None:
        self.text = text
        self.trailer = trailer
        self.lead = lead
        self.number = number  # 1-based position in the file; 0 for segments a fix inserted
        self.offset = offset  # character offset of ``text`` in the decoded file
        self.delimiters = delimiters
        self.node = -1  # index of the guide node the walker placed it at; -1 = not placed
        # Split once: nearly every segment is looked at by the walker or a reader anyway. A batch
        # repeats most segment texts (the payer's NM1, N3/N4, DTP dates, LX*1: about 70% of the
        # segments of a generated one), so each text is split once per delimiters and the
        # elements are shared by the segments with that text: a probe costs a fifth of a split.
        # Shared, so a tuple: an edit cannot change one segment's elements under another's feet
        # (set_elements gives a segment elements of its own).
        split = delimiters.splits
        elements = split.get(text)
        if elements is None:
            elements = tuple(text.split(delimiters.element))
            if len(split) >= SPLIT_CACHE_LIMIT:  # bounded: a file of distinct texts must not grow it
                split.clear()
            split[text] = elements
        self.elements: tuple[str, ...] = elements
        self.id: str = elements[0]

    def element(self, index: int) -> str:
        """Element ``index`` (1-based as in the guide: ``SV1-02`` is ``element(2)``), '' if absent."""
        elements = self.elements
        return elements[index] if index < len(elements) else ""

    def component(self, index: int, sub: int) -> str:
        """Component ``sub`` (1-based) of element ``index``: ``SV101-2`` is ``component(1, 2)``."""
        parts = self.element(index).split(self.delimiters.component)
        return parts[sub - 1] if sub - 1 < len(parts) else ""

    def components(self, index: int) -> list[str]:
        value = self.element(index)
        return value.split(self.delimiters.component) if value else []

    def repeats(self, index: int) -> list[str]:
        value = self.element(index)
        if not value:
            return []
        sep = self.delimiters.repetition
        return value.split(sep) if sep else [value]

    def set_elements(self, elements: Sequence[str]) -> None:
        """Replace the whole segment's elements; trailing empty elements are dropped, as X12 requires."""
        trimmed = list(elements)
        while len(trimmed) > 1 and trimmed[-1] == "":
            trimmed.pop()
        self.text = self.delimiters.element.join(trimmed)
        self.elements = tuple(trimmed)
        self.id = trimmed[0]

    def emit(self) -> str:
        return self.lead + self.text + self.trailer

    def new_sibling(self, text: str) -> Segment:
        """A new segment laid out like this one (same delimiters, same line-break style)."""
        trailer = self.trailer or self.delimiters.segment
        return Segment(text, trailer, self.delimiters)

    def __repr__(self) -> str:
        return f"Segment({self.number}, {self.text!r})"


def emit(segments: Iterable[Segment]) -> str:
    return "".join([s.lead + s.text + s.trailer for s in segments])


def iter_segments(chunks: Iterable[str], *, source: str | None = None) -> SegmentStream:
    """Split a stream of text chunks into segments, keeping every character.

    Delimiters are sniffed from each ISA, so interchanges with different delimiters can
    follow each other in one file. Layout between segments (CR, LF, blank lines, a
    doubled terminator) stays in the trailer of the segment before it. A stream that
    does not start with an ISA raises X12Error; so does an ISA that is not fixed width.
    """
    return SegmentStream(_segment_runs(chunks, source))


class SegmentStream(Iterator[Segment]):
    """The segments of a stream, one by one, or run by run (``runs``) for a reader that takes
    whole lists at C speed (iter_units): the tokenizer finds them a buffer at a time anyway."""

    __slots__ = ("_runs", "_flat")

    def __init__(self, runs: Iterator[list[Segment]]) -> None:
        self._runs = runs
        self._flat: Iterator[Segment] | None = None

    def __iter__(self) -> Iterator[Segment]:
        if self._flat is None:
            self._flat = _flatten(self._runs)
        return self._flat  # a for loop runs on the generator itself, without a call per segment

    def __next__(self) -> Segment:
        return next(iter(self))

    def runs(self) -> Iterator[list[Segment]]:
        """Lists of consecutive segments, each complete (its trailer final), in order."""
        return self._runs


def _flatten(runs: Iterator[list[Segment]]) -> Iterator[Segment]:
    for run in runs:
        yield from run


def _segment_runs(chunks: Iterable[str], source: str | None) -> Iterator[list[Segment]]:
    """iter_segments' work: the segments of each buffer, as lists."""
    chunk_iter = iter(chunks)
    buf = ""
    base = 0  # offset of buf[0] in the whole stream
    pos = 0
    eof = False
    number = 0
    delims: Delimiters | None = None
    layout = " \t\r\n"
    pending: Segment | None = None  # the last segment, held back while its trailer may grow
    out: list[Segment] = []  # segments found and final, handed out at the next turn
    lead = ""
    trailers: dict[str, str] = {}
    uniform: str | None = None  # the terminator and layout after this interchange's ISA

    def fill() -> bool:
        nonlocal buf, base, pos, eof
        if eof:
            return False
        for chunk in chunk_iter:
            if chunk:
                buf = buf[pos:] + chunk
                base += pos
                pos = 0
                return True
        eof = True
        return False

    fill()
    if buf.startswith(BOM):
        lead = BOM
        pos = 1
    while True:
        if out:
            yield out
            out = []
        # Layout before the next segment belongs to the previous one (or, at the start, to the lead).
        while True:
            start = pos
            n = len(buf)
            while pos < n and buf[pos] in layout:
                pos += 1
            if pos > start:
                if pending is not None:
                    pending.trailer += buf[start:pos]
                else:
                    lead += buf[start:pos]
            if pos < n or not fill():
                break
        if pos >= len(buf):
            break
        if delims is None or buf.startswith("ISA", pos):
            while len(buf) - pos < ISA_LENGTH and fill():
                pass
            new_delims = sniff_delimiters(buf[pos : pos + ISA_LENGTH], source=source, offset=base + pos)
            if new_delims != delims:
                trailers.clear()  # shared trailers start with the terminator of their interchange
            delims = new_delims
            # A segment never starts with the terminator, so a doubled one is layout too.
            layout = "".join(sorted(delims.trailer_whitespace | {delims.segment}))
            end = pos + ISA_LENGTH - 1
            uniform = _uniform_trailer(buf, end, delims.segment, layout)
            if pending is not None:
                out.append(pending)
            number += 1
            pending = Segment(buf[pos:end], buf[end], delims, lead, number, base + pos)
            lead = ""
            pos = end + 1
            continue
        term = delims.segment
        if uniform is not None:
            # Fast path: where every segment ends in the same trailer as the ISA ("~", "~\n",
            # "~\r\n"), one C-level split finds them all and positions follow by arithmetic.
            stop = buf.rfind(uniform, pos)
            if stop > pos:
                isa = buf.find(uniform + "ISA", pos, stop + len(uniform))
                if isa >= 0:
                    stop = isa  # a new interchange may bring new delimiters: sniff it first
                region = buf[pos:stop]
                pieces = region.split(uniform)
                if _splits_cleanly(pieces, region, uniform, term):
                    count = len(pieces)
                    segs = list(
                        map(
                            Segment,
                            pieces,
                            repeat(uniform),
                            repeat(delims),
                            repeat(""),
                            range(number + 1, number + 1 + count),
                            accumulate(map(add, map(len, pieces), repeat(len(uniform))), initial=base + pos),
                        )
                    )
                    if pending is not None:
                        out.append(pending)
                    pending = segs.pop()  # its trailer may still grow: held back like every last segment
                    out += segs
                    number += count
                    pos = stop + len(uniform)
                    continue
        last = buf.rfind(term, pos)
        if last < 0:
            if fill():
                continue
            # Last segment without a terminator: kept as is, so emit still reproduces the input.
            if pending is not None:
                out.append(pending)
            number += 1
            pending = Segment(buf[pos:], "", delims, lead, number, base + pos)
            lead = ""
            pos = len(buf)
            continue
        # Fast path: every complete segment up to the last terminator in the buffer at once.
        cursor = pos
        for piece in buf[pos:last].split(term):
            text = piece.lstrip(layout)
            skipped = len(piece) - len(text)
            if skipped and pending is not None:
                extra = piece[:skipped]
                if pending.trailer is term:
                    # One shared string per layout ("~\n"), not one per segment: a million fewer objects.
                    shared = trailers.get(extra)
                    if shared is None:
                        shared = trailers[extra] = term + extra
                    pending.trailer = shared
                else:
                    pending.trailer += extra
            if not text and pending is not None:
                pending.trailer += term  # "~~": the second terminator is layout
                cursor += len(piece) + 1
                continue
            if text.startswith("ISA"):
                cursor += skipped
                break  # a new interchange may bring new delimiters: sniff it first
            if pending is not None:
                out.append(pending)
            number += 1
            pending = Segment(text, term, delims, "", number, base + cursor + skipped)
            cursor += len(piece) + 1
        pos = cursor
    if pending is not None:
        if lead:
            pending.trailer += lead
        out.append(pending)
    elif lead or number == 0:
        raise X12Error("no ISA segment found: the input is empty or only blank", source=source)
    if out:
        yield out


def _uniform_trailer(buf: str, end: int, term: str, layout: str) -> str | None:
    """The ISA's terminator with the layout after it, as far as the buffer shows; None if odd."""
    stop = end + 1
    while stop < len(buf) and buf[stop] in layout and buf[stop] != term:
        stop += 1
    if stop >= len(buf) or buf[stop] == term:
        return None  # buffer ends in the layout, or a doubled terminator: the general path decides
    return buf[end:stop]


def _splits_cleanly(pieces: list[str], region: str, trailer: str, term: str) -> bool:
    """True when ``pieces``, ``region`` split on ``trailer``, are exactly its segments' texts.

    That is: no piece is empty or starts with layout (no blank lines, no doubled or differently
    laid-out terminators), and every terminator in it is followed by the same layout. C-level
    passes: layout is a terminator or a blank (all at or below " "), so the least piece tells
    whether any piece is empty or starts with a blank; and every terminator is in a trailer when
    no piece holds one (the pieces joined are searched with memchr, cheaper than counting the
    terminators of the region one character at a time). A piece that starts with some other
    control character sends the region to the general path too, which only costs speed.
    """
    if not region:
        return False
    lowest = min(pieces)
    if not lowest or lowest[0] <= " ":
        return False
    return len(trailer) == 1 or term not in "".join(pieces)


def read_chunks(path: str, size: int = READ_CHUNK) -> Iterator[str]:
    """Decode a file in chunks; undecodable bytes survive the round trip via surrogateescape."""
    with open(path, encoding="utf-8", errors="surrogateescape", newline="") as fh:
        while True:
            chunk = fh.read(size)
            if not chunk:
                return
            yield chunk


def encode(text: str) -> bytes:
    return text.encode("utf-8", errors="surrogateescape")


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="surrogateescape")
