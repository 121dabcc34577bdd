"""Envelopes: ISA/GS/ST and their trailers, as a stream of units.

A file is a sequence of units: envelope segments (ISA, GS, GE, IEA) and transaction
sets (ST..SE). A malformed stretch becomes a transaction set with an ``error`` so the
good ones around it are still read, and everything is still emitted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from mohsedi.errors import X12Error
from mohsedi.x12.segments import Segment, SegmentStream

ENVELOPE_IDS = frozenset({"ISA", "GS", "GE", "IEA"})
SET_BOUNDARY_IDS = ENVELOPE_IDS | {"ST", "SE"}  # ids that end or break an open transaction set


@dataclass(slots=True)
class Envelope:
    """One envelope segment (ISA, GS, GE or IEA) standing between transaction sets."""

    segment: Segment

    @property
    def segments(self) -> list[Segment]:
        return [self.segment]


@dataclass(slots=True)
class TransactionSet:
    """ST..SE with the interchange and group it travels in.

    ``error`` is set when the set is malformed (no SE, stray segments, a segment the
    guide cannot place); such a set is reported and kept out of checks and fixes.
    """

    segments: list[Segment]
    isa: Segment | None
    gs: Segment | None
    error: X12Error | None = None
    placement_errors: list[X12Error] = field(default_factory=list)

    @property
    def control_number(self) -> str:
        first = self.segments[0]
        return first.element(2) if first.id == "ST" else ""

    @property
    def transaction_type(self) -> str:
        first = self.segments[0]
        return first.element(1) if first.id == "ST" else ""

    @property
    def implementation(self) -> str:
        """ST03, else GS08: which implementation guide the set claims to follow."""
        first = self.segments[0]
        st03 = first.element(3) if first.id == "ST" else ""
        return st03 or (self.gs.element(8) if self.gs is not None else "")

    @property
    def ok(self) -> bool:
        return self.error is None and not self.placement_errors

    def problems(self) -> list[X12Error]:
        return ([self.error] if self.error else []) + self.placement_errors


Unit = Envelope | TransactionSet


def iter_units(segments: Iterable[Segment], *, source: str | None = None) -> Iterator[Unit]:
    """Group segments into envelope units and transaction sets, never dropping one."""
    if isinstance(segments, SegmentStream):
        runs: Iterable[list[Segment]] = segments.runs()
    elif isinstance(segments, list):
        runs = [segments]
    else:
        runs = _batches(segments)
    yield from _units(runs, source)


def _batches(segments: Iterable[Segment], size: int = 1024) -> Iterator[list[Segment]]:
    """Segments of any iterable as lists; what was read before an error still comes out first."""
    run: list[Segment] = []
    try:
        for seg in segments:
            run.append(seg)
            if len(run) >= size:
                yield run
                run = []
    except Exception:
        if run:
            yield run
        raise
    if run:
        yield run


def _units(runs: Iterable[list[Segment]], source: str | None) -> Iterator[Unit]:
    """iter_units over runs of segments: the ids that open or close a unit are marked in one pass
    over each run and found with list.index, and the segments between them move as slices."""
    isa: Segment | None = None
    gs: Segment | None = None
    current: list[Segment] | None = None
    stray: list[Segment] = []

    def flush_stray() -> Iterator[Unit]:
        if stray:
            first = stray[0]
            yield TransactionSet(
                list(stray),
                isa,
                gs,
                X12Error(
                    f"segment {first.id or '(empty)'} outside a transaction set (expected ST, GE, IEA or ISA)",
                    source=source,
                    segment=first.number,
                    offset=first.offset,
                    segment_id=first.id,
                ),
            )
            stray.clear()

    def unterminated(segs: list[Segment], found: Segment | None) -> TransactionSet:
        st = segs[0]
        what = f"found {found.id}" if found is not None else "the file ended"
        return TransactionSet(
            segs,
            isa,
            gs,
            X12Error(
                f"transaction set {st.element(2) or '?'} has no SE: {what} first",
                source=source,
                segment=(found.number if found is not None else segs[-1].number),
                offset=(found.offset if found is not None else segs[-1].offset),
                segment_id=found.id if found is not None else segs[-1].id,
            ),
        )

    for run in runs:
        boundary = [seg.id in SET_BOUNDARY_IDS for seg in run]  # a comprehension: cheaper than two C-level maps on 3.11
        end = len(run)
        start = 0
        while start < end:
            try:
                i = boundary.index(True, start)
            except ValueError:
                i = end
            if i > start:  # segments that neither open nor close a unit
                if current is not None:
                    current += run[start:i]
                else:
                    stray += run[start:i]
            if i == end:
                break
            start = i + 1
            seg = run[i]
            sid = seg.id
            if current is not None:
                if sid == "SE":
                    current.append(seg)
                    yield TransactionSet(current, isa, gs)
                    current = None
                    continue
                yield unterminated(current, seg)  # an envelope segment or ST before the SE
                current = None
            if sid == "ST":
                yield from flush_stray()
                current = [seg]
            elif sid in ENVELOPE_IDS:
                yield from flush_stray()
                if sid == "ISA":
                    isa, gs = seg, None
                elif sid == "GS":
                    gs = seg
                yield Envelope(seg)
            else:
                stray.append(seg)  # an SE outside a transaction set
    if current is not None:
        yield unterminated(current, None)
    yield from flush_stray()
