"""Findings on disk while a run goes on, read back one at a time by whoever writes them out.

A transaction set's findings are sorted (``finding_order``) and written as soon as the set is
checked, as one marshal record, to its range's findings file; the set keeps only a `Part`:
where the record lies, how many findings it holds, their first and last sort keys and their
counts by rule and severity (what the summary, --statistics and --fail-on need). When a range
comes back, its file is appended to the run's spool, an unlinked temporary file: nothing is
left on disk however the run ends, and the space goes when the last report holding it goes.

A file's findings are then a `Findings`: its sets' parts, in file order, and the few findings
held beside them (the envelopes', pyx12's). Iterating reads the parts one at a time and merges
them with the held ones, in the same order a stable sort of all of them would give (ties: sets
in file order, then the held lists in the order given).
"""

from __future__ import annotations

import heapq
import marshal
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from itertools import chain
from typing import Any, BinaryIO, overload

from mohsedi.rules.base import Finding, Fix, FixSafety, Severity

_SEVERITY = {s.value: s for s in Severity}
_SAFETY = {s.value: s for s in FixSafety}

Counts = dict[tuple[str, str], int]  # (rule, severity) -> findings


def finding_order(f: Finding) -> tuple:
    return (f.segment or 0, f.claim or "", f.line or 0, f.rule)


def _record(f: Finding) -> tuple:
    """A finding as plain values (marshal writes them in C); its edits are left out."""
    fix = None if f.fix is None else (f.fix.description, f.fix.justification)
    return (
        f.rule,
        f.severity.value,
        f.message,
        f.fix_safety.value,
        f.claim,
        f.line,
        f.line_id,
        fix,
        f.related_lines,
        f.source,
        f.segment,
        f.data_release,
    )


def _finding(r: Any, shift: int) -> Finding:
    fix = r[7]
    segment = r[10]
    return Finding(
        r[0],
        _SEVERITY[r[1]],
        r[2],
        _SAFETY[r[3]],
        r[4],
        r[5],
        r[6],
        None if fix is None else Fix(fix[0], (), fix[1]),
        r[8],
        r[9],
        segment + shift if segment and shift else segment,
        r[11],
    )


def _shifted_key(key: tuple, shift: int) -> tuple:
    return ((key[0] + shift) if key[0] and shift else key[0], *key[1:])


@dataclass(frozen=True, slots=True)
class Part:
    """One set's findings in a spool: sorted, numbered from ``shift`` segments on."""

    offset: int
    length: int
    count: int
    first: tuple  # finding_order of the first finding and of the last (shift applied)
    last: tuple
    counts: Counts
    shift: int = 0

    def moved(self, offset: int, shift: int) -> Part:
        """The part after its range's file was appended at ``offset`` of the run's spool, its
        segments numbered ``shift`` further on (the range's place in its file)."""
        return replace(
            self,
            offset=self.offset + offset,
            shift=self.shift + shift,
            first=_shifted_key(self.first, shift),
            last=_shifted_key(self.last, shift),
        )


def write_part(out: BinaryIO, findings: list[Finding]) -> Part | None:
    """Write a set's findings (sorted here) at the end of ``out``; None when there are none."""
    if not findings:
        return None
    findings.sort(key=finding_order)
    counts: Counter[tuple[str, str]] = Counter((f.rule, f.severity.value) for f in findings)
    data = marshal.dumps([_record(f) for f in findings])
    offset = out.tell()
    out.write(data)
    return Part(offset, len(data), len(findings), finding_order(findings[0]), finding_order(findings[-1]), dict(counts))


class Spool:
    """The run's findings: one unlinked temporary file that the ranges' files are appended to."""

    def __init__(self, directory: str | None = None) -> None:
        self.file = tempfile.TemporaryFile(dir=directory)  # noqa: SIM115 - closed when the last Findings goes
        self.size = 0

    def __del__(self) -> None:
        file = getattr(self, "file", None)  # None: the file could not be made
        if file is not None:
            file.close()

    def take(self, path: str) -> int:
        """Append a range's findings file (then removed); where it starts in the spool."""
        base = self.size
        with open(path, "rb") as src:
            self.file.seek(base)
            while block := src.read(1 << 20):
                self.file.write(block)
                self.size += len(block)
        self.file.flush()  # nothing buffered for a forked process to write again
        os.remove(path)
        return base

    def write(self, findings: list[Finding]) -> Part | None:
        """Findings made in this process (sets checked again together at the end)."""
        self.file.seek(self.size)
        part = write_part(self.file, findings)
        self.size = self.file.tell()
        self.file.flush()
        return part

    def read(self, part: Part) -> list[Finding]:
        """A part's findings: read whole, each part at once (never two reads interleaved)."""
        self.file.seek(part.offset)
        data = self.file.read(part.length)
        if len(data) != part.length:
            raise OSError("the findings spool is shorter than recorded")
        shift = part.shift
        return [_finding(r, shift) for r in marshal.loads(data)]


def _counted(findings: Iterable[Finding]) -> Counts:
    return dict(Counter((f.rule, f.severity.value) for f in findings))


class Findings(Sequence[Finding]):
    """One file's findings, in ``finding_order``: sets' parts in a spool, and lists held beside
    them (each sorted). Read afresh on each iteration; never held whole."""

    __slots__ = ("_counts", "_held", "_keep", "_parts", "_spool")

    def __init__(
        self,
        spool: Spool | None = None,
        parts: Iterable[Part | None] = (),
        held: Iterable[list[Finding]] = (),
        *,
        keep: Callable[[Finding], bool] | None = None,
    ) -> None:
        self._spool = spool
        self._parts = [p for p in parts if p is not None]
        if self._parts and spool is None:
            raise ValueError("parts without their spool")
        self._held = [h for h in held if h]
        self._keep = keep
        if keep is None:
            counts: Counter[tuple[str, str]] = Counter()
            for p in self._parts:
                counts.update(p.counts)
            for h in self._held:
                counts.update(_counted(h))
            self._counts = dict(counts)
        else:
            self._counts = _counted(self)

    @classmethod
    def of(cls, findings: Iterable[Finding]) -> Findings:
        """A list given as it is (its order kept)."""
        return cls(held=[list(findings)])

    def __iter__(self) -> Iterator[Finding]:
        streams: list[Iterable[Finding]] = []
        parts = self._parts
        if parts:
            spool = self._spool
            assert spool is not None
            if all(a.last <= b.first for a, b in zip(parts, parts[1:], strict=False)):
                # Sets in file order whose findings follow each other: one set read at a time.
                streams.append(chain.from_iterable(spool.read(p) for p in parts))
            else:  # a finding before an earlier set's (no segment): merged, every part read
                streams.extend(spool.read(p) for p in parts)
        streams.extend(self._held)
        if not streams:
            return iter(())
        merged = iter(streams[0]) if len(streams) == 1 else heapq.merge(*streams, key=finding_order)
        return merged if self._keep is None else filter(self._keep, merged)

    def __len__(self) -> int:
        return sum(self._counts.values())

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> list[Finding]: ...
    def __getitem__(self, index: int | slice) -> Finding | list[Finding]:
        return list(self)[index]  # reads them all: for tests and small reports, not the writers

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Findings | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Findings({len(self)} in {len(self._parts)} part(s), {sum(map(len, self._held))} held)"

    def counts(self) -> Counts:
        """Findings by (rule, severity), without reading them."""
        return self._counts

    def by_severity(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (_, severity), n in self._counts.items():
            out[severity] += n
        return out

    def by_rule(self) -> Counter[str]:
        out: Counter[str] = Counter()
        for (rule, _), n in self._counts.items():
            out[rule] += n
        return out

    def where(self, keep: Callable[[Finding], bool]) -> Findings:
        """Those ``keep`` accepts (counted now, read again when iterated)."""
        both = keep if self._keep is None else (lambda f, a=self._keep: a(f) and keep(f))
        return Findings(self._spool, self._parts, self._held, keep=both)

    def held_count(self) -> int:
        """How many findings are held in memory (not in the spool)."""
        return sum(map(len, self._held))


def as_findings(findings: Sequence[Finding]) -> Findings:
    return findings if isinstance(findings, Findings) else Findings.of(findings)
