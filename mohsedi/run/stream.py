"""Check and fix files of any size: the one engine behind `check` and `fix`, every option
included (a store, --tr3, --diff, --jobs). One transaction set in memory at a time, over N processes.

Each file is cut at transaction-set boundaries into byte ranges (one per job for a big file).
A range is read as a stream and every set in it is checked, and fixed, on its own; a fixed
set's text goes to a spool file on disk. Two things reach across sets: a Mohs day (patient,
rendering provider, date) can have claims in several sets or files, and REF*6R must be unique
within a file. Every set reports digests of its days and line ids; sets that share one are
read again together and checked (and fixed) as one batch, as if the batch were read whole.
The envelopes (ISA, GS, GE, IEA) are kept as a skeleton with a placeholder per set, so
GE01/IEA01 are counted and fixed as before, and each fixed file is assembled in input order:
the output is the same for any number of jobs.

pyx12's validation (--tr3, the TR3 rules) needs a whole interchange: it runs per file after the
sets, on the file as read (check) and as written (fix), one file's units in memory at a time.

A set's findings leave memory as soon as it is done: they are written, sorted, to its range's
findings file, appended to the run's spool (run/findings.py) when the range comes back; a set
keeps where they are and their counts. Sets checked again together get their findings spooled
again (the first records are left unread). Each file's report reads them back one set at a time,
merged with the envelopes' and pyx12's, for the writers and the store.

Memory holds the largest transaction set (the guide recommends at most 5,000 claims in one),
a few numbers per set, and about 12 bytes per service line for the digests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import shutil
import tempfile
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import BinaryIO

from mohsedi.claims.model import Claim
from mohsedi.claims.reader import ClaimSet, iter_claim_sets, read_claim_file
from mohsedi.errors import X12Error
from mohsedi.files import atomic_output, owner_tag, sweep_stale
from mohsedi.guide import place_units
from mohsedi.rules.base import Finding, Fix, Rule, Scope
from mohsedi.rules.context import EnvelopeContext, RuleOptions
from mohsedi.rules.engine import (
    Applied,
    Document,
    FixOutcome,
    Located,
    allowed,
    applied_fix,
    check_as_fix_would,
    check_documents,
    day_keys,
    fix_documents,
    load_document,
    normalizing_rules,
    recount_envelopes,
)
from mohsedi.rules.registry import family_of, get_rule
from mohsedi.run.diff import Sink, file_diff
from mohsedi.run.findings import Findings, Part, Spool, finding_order, write_part
from mohsedi.run.ranges import ByteRange, read_range, split_file
from mohsedi.run.report import (
    INCOMPLETE_NOTICE,
    FileReport,
    is_incomplete,
    late_dates,
    note_late_dates,
)
from mohsedi.runtime import as_worker
from mohsedi.x12.envelope import Envelope, iter_units
from mohsedi.x12.segments import Segment, decode, emit, encode, iter_segments


@dataclass(slots=True)
class SetSlot:
    """Where a transaction set stands among the envelopes of its file."""

    ordinal: int  # the set's number in the batch
    quarantined: bool = False


@dataclass(slots=True)
class SetOutcome:
    # The set's findings, written to the range's findings file as soon as the set is done (then
    # appended to the run's spool): only where they are and how many stay in memory.
    findings: Part | None = None  # after fixing, for fix
    initial: Part | None = None  # fix: before
    applied: list[Applied] = field(default_factory=list)
    claims: int = 0
    late: set[date] = field(default_factory=set)
    error: X12Error | None = None  # quarantined
    spool: tuple[int, int] | None = None  # fix: offset and length of the fixed text in the range's spool
    text: bytes | None = None  # fix: the fixed text, when the set was fixed again with others
    fixed_digests: set[int] = field(default_factory=set)  # fix: digests after fixing (new line ids)


@dataclass
class RangeResult:
    skeleton: list[Envelope | SetSlot] = field(default_factory=list)  # SetSlot.ordinal: index into ``sets``
    sets: list[SetOutcome] = field(default_factory=list)
    segments: int = 0  # segments in the range: where the next range's numbering starts
    chars: int = 0  # characters in the range, likewise for offsets
    digests: array = field(default_factory=lambda: array("q"))  # days and line ids of each set
    owners: array = field(default_factory=lambda: array("I"))  # the set (index into ``sets``) of each digest
    spool: str | None = None
    findings: str | None = None  # the range's findings file
    error: X12Error | None = None


@dataclass(frozen=True)
class RangeTask:
    path: str
    file_index: int
    byte_range: ByteRange
    spool: str | None  # fix: where the range's fixed sets go
    findings: str  # where the range's sets' findings go


@dataclass(frozen=True)
class Settings:
    rules: tuple[Rule, ...]
    options: RuleOptions
    fixing: bool
    unsafe: bool


# ---------------------------------------------------------------- one range (in a worker)


def set_digests(claims: Iterable[Claim], file_index: int) -> set[int]:
    """Digests of the days and line ids of a set's claims. Builtin ``hash`` is stable within a
    process and its forked workers, which is all the comparison needs; a collision only makes
    two sets be checked together, never apart."""
    out: set[int] = set()
    for claim in claims:
        out.update(hash(("day", key)) for key, _ in day_keys(claim))
        out.update(hash(("id", file_index, line.line_id)) for line in claim.lines if line.line_id)
    return out


def portable(f: Finding) -> Finding:
    """The finding without its edits: they point at segments, and would keep whole sets alive."""
    if f.fix is None or not f.fix.edits:
        return f
    return dataclasses.replace(f, fix=Fix(f.fix.description, (), f.fix.justification))


def _numbered(segments: Iterator[Segment], skip: int, skip_chars: int) -> Iterator[Segment]:
    """Segments numbered from the range's start, the context before it numbered 0 and below."""
    if not skip and not skip_chars:
        return segments  # a whole file: no generator in the way of a million segments

    def shifted() -> Iterator[Segment]:
        for seg in segments:
            seg.number -= skip
            seg.offset -= skip_chars
            yield seg

    return shifted()


def process_range(task: RangeTask, settings: Settings, bytes_read: Callable[[int], None] | None = None) -> RangeResult:
    result = RangeResult(spool=task.spool, findings=task.findings)
    context_chars = len(task.byte_range.context.decode("utf-8", "surrogateescape"))
    chars = 0
    last = 0

    def counted(chunks: Iterator[str]) -> Iterator[str]:
        nonlocal chars
        for chunk in chunks:
            chars += len(chunk)
            if bytes_read is not None:
                bytes_read(len(chunk))  # characters: bytes, for X12's ASCII
            yield chunk

    spool = open(task.spool, "wb") if task.spool else None  # noqa: SIM115 - closed below
    found = open(task.findings, "wb")  # noqa: SIM115 - closed below
    try:
        segments = iter_segments(counted(read_range(task.path, task.byte_range)), source=task.path)
        numbered = _numbered(segments, task.byte_range.context_segments, context_chars)
        units = place_units(iter_units(numbered, source=task.path), source=task.path)
        for unit in iter_claim_sets(units):
            if isinstance(unit, Envelope):
                last = unit.segment.number
                if last > 0:  # the context is the previous range's
                    result.skeleton.append(unit)
                continue
            last = unit.transaction.segments[-1].number
            index = len(result.sets)
            outcome = _process_set(unit, task, settings, spool, found)
            result.sets.append(outcome)
            result.skeleton.append(SetSlot(index, outcome.error is not None))
            if outcome.error is None:
                digests = _digests_of(unit, task.file_index, outcome)
                result.digests.extend(digests)
                result.owners.extend([index] * len(digests))
            del unit  # not held while the next set is read: one set in memory, not two
    except X12Error as exc:
        result.error = exc.located(task.path)
    except OSError as exc:
        result.error = X12Error(f"cannot read the file: {exc.strerror or exc}", source=task.path)
    finally:
        found.close()
        if spool is not None:
            spool.close()
    result.segments = last
    result.chars = chars - context_chars
    _restate_cut(result, task)
    return result


def _digests_of(cs: ClaimSet, file_index: int, outcome: SetOutcome) -> list[int]:
    digests = set_digests(cs.claims, file_index) | outcome.fixed_digests
    outcome.fixed_digests = set()  # not worth sending back
    return list(digests)


def _restate_cut(result: RangeResult, task: RangeTask) -> None:
    """A set left open at a cut is open because the next range's ST follows: say so, as a
    whole-file read would (the message must not depend on the number of jobs)."""
    if task.byte_range.end is None or not result.sets or result.sets[-1].error is None:
        return
    error = result.sets[-1].error
    if "the file ended first" in error.message:
        result.sets[-1].error = X12Error(
            error.message.replace("the file ended first", "found ST first"),
            source=error.source,
            segment=result.segments + 1,
            offset=result.chars,
            segment_id="ST",
        )


def _process_set(cs: ClaimSet, task: RangeTask, settings: Settings, spool, found: BinaryIO) -> SetOutcome:
    """Check (and fix) one set; its findings go to ``found`` now, its fixed text to ``spool``."""
    path = task.path
    options = settings.options
    doc = Document(path, [cs])
    if cs.error is not None:
        # Reported with what the envelope rules see in it (its SE count), never fixed: it is left out.
        part = write_part(found, [loc.finding for loc in check_documents([doc], settings.rules, options)])
        return SetOutcome(error=cs.error.located(path), findings=None if settings.fixing else part, initial=part)
    outcome = SetOutcome(claims=len(cs.claims), late=late_dates(cs.claims, options))
    if not settings.fixing:
        outcome.findings = write_part(
            found, [loc.finding for loc in check_as_fix_would([doc], settings.rules, options)]
        )
        return outcome
    fixed, remaining = _fix_and_recheck([doc], settings)
    outcome.findings = write_part(found, [loc.finding for loc in remaining])
    outcome.initial = write_part(found, [loc.finding for loc in fixed.initial])
    outcome.applied = fixed.applied
    fixed_set = doc.units[0]
    assert isinstance(fixed_set, ClaimSet)
    if fixed.applied:  # new line ids must not clash with another set's
        outcome.fixed_digests = set_digests(fixed_set.claims, task.file_index)
    data = encode(emit(fixed_set.transaction.segments))
    outcome.spool = (spool.tell(), len(data))
    spool.write(data)
    return outcome


def _fix_and_recheck(docs: list[Document], settings: Settings) -> tuple[FixOutcome, list[Located]]:
    """Fix the documents in place; what remains after (the fix loop's last check when it has one)."""
    fixed = fix_documents(
        docs,
        settings.rules,
        settings.options,
        unsafe=settings.unsafe,
        normalizing=normalizing_rules(),
    )
    return fixed, fixed.remaining


# ---------------------------------------------------------------- the batch


_WORKER: Settings | None = None


def _init_worker(settings: Settings, parent_pid: int) -> None:
    global _WORKER
    as_worker(parent_pid)
    _WORKER = settings
    for holder in (settings.options.edits, settings.options.original_claim_number):
        engine = getattr(holder, "engine", None)
        if engine is not None:
            engine.dispose(close=False)  # connections opened before the fork stay the parent's


def _run_in_worker(task: RangeTask) -> RangeResult:
    assert _WORKER is not None
    return process_range(task, _WORKER)


@dataclass
class _FileState:
    path: str
    skeleton: list[Envelope | SetSlot] = field(default_factory=list)
    ordinals: list[int] = field(default_factory=list)  # the batch ordinal of each set, in file order
    error: X12Error | None = None


@dataclass
class _Batch:
    outcomes: list[SetOutcome] = field(default_factory=list)  # by batch ordinal
    spools: list[str | None] = field(default_factory=list)  # by batch ordinal
    set_file: array = field(default_factory=lambda: array("I"))  # by batch ordinal
    digests: array = field(default_factory=lambda: array("q"))
    owners: array = field(default_factory=lambda: array("I"))


def stream_paths(
    paths: Sequence[str],
    rules: Sequence[Rule],
    options: RuleOptions,
    *,
    fixing: bool = False,
    unsafe: bool = False,
    targets: dict[str, Path] | None = None,
    write_unchanged: bool = True,
    jobs: int = 1,
    progress: Callable[[str], None] | None = None,
    bytes_read: Callable[[int], None] | None = None,
    diff: Sink | None = None,
) -> list[FileReport]:
    """Check (or fix, writing each fixed file to ``targets[path]``) without holding the batch.
    ``progress`` is told each file done, ``bytes_read`` the size of each piece read; ``diff``
    (fix) is handed a unified diff of each changed file, piece by piece, before it is written."""
    whole = whole_file_rules(rules, options)
    settings = Settings(tuple(r for r in rules if r not in whole), options, fixing, unsafe)
    if fixing and targets is None:
        raise ValueError("fixing a stream needs a target for each file")
    spool_dir = _spool_dir(targets if fixing else None)
    try:
        spool = Spool(spool_dir)  # unlinked: it outlives the directory, as long as the reports
        tasks = _tasks(paths, jobs, spool_dir, fixing)
        files = [_FileState(path) for path in paths]
        batch = _Batch()
        last_range = {t.file_index: i for i, t in enumerate(tasks)}
        bases: dict[int, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for i, (task, result) in enumerate(zip(tasks, _results(tasks, settings, jobs, bytes_read), strict=True)):
            _merge(files[task.file_index], batch, task, result, bases, spool)
            if progress and last_range[task.file_index] == i:
                progress(task.path)
        _rerun_shared(files, batch, settings, spool)
        return [_report(state, batch, settings, targets, write_unchanged, whole, diff, spool) for state in files]
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)


def whole_file_rules(rules: Sequence[Rule], options: RuleOptions) -> list[Rule]:
    """Rules that need a whole interchange: pyx12's validation (the TR3 family), with --tr3."""
    if not options.tr3:
        return []
    return [r for r in rules if family_of(r.code) == "TR3"]


def _whole_file_findings(path: str, source: str, rules: list[Rule], options: RuleOptions) -> list[Finding]:
    """The whole-file rules' findings on one file, read whole (this file only, never the batch), sorted."""
    if not rules:
        return []
    doc = load_document(path)
    if doc.error is not None:
        return []  # the streamed read reported it
    found = [
        portable(dataclasses.replace(loc.finding, source=source)) for loc in check_documents([doc], rules, options)
    ]
    return sorted(found, key=finding_order)


def _spool_dir(targets: dict[str, Path] | None) -> str:
    """Beside the outputs: the same disk has room for them, and /tmp may be small. What a killed
    run left there is swept first."""
    where = next(iter(targets.values())).parent if targets else Path(tempfile.gettempdir())
    where.mkdir(parents=True, exist_ok=True)
    sweep_stale(where)
    return tempfile.mkdtemp(prefix=f".spool.{owner_tag()}", dir=where)


def _tasks(paths: Sequence[str], jobs: int, spool_dir: str, fixing: bool) -> list[RangeTask]:
    tasks: list[RangeTask] = []
    for f, path in enumerate(paths):
        try:
            ranges = split_file(path, jobs) if jobs > 1 else [ByteRange(0, None)]
        except OSError:
            ranges = [ByteRange(0, None)]  # reading it reports the error
        for byte_range in ranges:
            spool = os.path.join(spool_dir, f"{len(tasks)}.spool") if fixing else None
            found = os.path.join(spool_dir, f"{len(tasks)}.findings")
            tasks.append(RangeTask(path, f, byte_range, spool, found))
    return tasks


def _results(
    tasks: list[RangeTask], settings: Settings, jobs: int, bytes_read: Callable[[int], None] | None = None
) -> Iterator[RangeResult]:
    if jobs <= 1 or len(tasks) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for task in tasks:
            yield process_range(task, settings, bytes_read)
        return
    # fork: the workers inherit the rules, options and hash seed without pickling them.
    context = multiprocessing.get_context("fork")
    # Leaving the block (a signal, an error) terminates the workers; a parent killed outright takes
    # them along too (as_worker).
    with context.Pool(min(jobs, len(tasks)), initializer=_init_worker, initargs=(settings, os.getpid())) as pool:
        for result in pool.imap(_run_in_worker, tasks):
            if bytes_read is not None:  # a worker's range is counted when it comes back
                bytes_read(result.chars)
            yield result


def _shift_error(error: X12Error, segments: int, chars: int) -> X12Error:
    if not segments and not chars:
        return error
    return X12Error(
        error.message,
        source=error.source,
        segment=error.segment + segments if error.segment else error.segment,
        offset=error.offset + chars if error.offset is not None else None,
        segment_id=error.segment_id,
    )


def _merge(state: _FileState, batch: _Batch, task: RangeTask, result: RangeResult, bases: dict, spool: Spool) -> None:
    """Fold a range's result into its file and the batch, numbered as in the whole file; its
    findings file into the run's spool."""
    segments, chars = bases[task.file_index]
    bases[task.file_index] = (segments + result.segments, chars + result.chars)
    if result.error is not None:
        state.error = state.error or _shift_error(result.error, segments, chars)
    base = spool.take(result.findings) if result.findings and os.path.exists(result.findings) else 0
    first = len(batch.outcomes)
    for outcome in result.sets:
        if outcome.findings is not None:
            outcome.findings = outcome.findings.moved(base, segments)
        if outcome.initial is not None:
            outcome.initial = outcome.initial.moved(base, segments)
        if outcome.error is not None:
            outcome.error = _shift_error(outcome.error, segments, chars)
        batch.outcomes.append(outcome)
        batch.spools.append(result.spool)
        batch.set_file.append(task.file_index)
    for unit in result.skeleton:
        if isinstance(unit, SetSlot):
            unit.ordinal += first
            state.ordinals.append(unit.ordinal)
        elif segments:
            unit.segment.number += segments
        state.skeleton.append(unit)
    batch.digests.extend(result.digests)
    if first == 0:  # the batch's first range (a one-set file's only one): nothing to offset
        batch.owners.extend(result.owners)
        return
    import numpy as np  # here, not at the top: a small check never loads numpy

    batch.owners.frombytes((np.frombuffer(result.owners, dtype=np.uint32) + np.uint32(first)).tobytes())


# ---------------------------------------------------------------- sets that share a day or a line id


DIGESTS_IN_PYTHON = 200_000  # a set of this many numbers is a few MB; a 10M-segment batch's goes to numpy


def shared_groups(digests: array, owners: array) -> list[list[int]]:
    """Sets (ordinals) joined by a digest they share, transitively; each group sorted.

    Sorting a copy of the digests finds the repeated ones; only their owners are looked at
    in Python. Memory at the end of a big batch is the copy, not the batch."""
    if not len(digests):
        return []
    if len(digests) <= DIGESTS_IN_PYTHON:  # importing numpy costs more than searching these
        seen: set[int] = set()
        twice: set[int] = set()
        for x in digests:
            (twice if x in seen else seen).add(x)
        hits = [i for i, x in enumerate(digests) if x in twice] if twice else []
    else:
        import numpy as np

        d = np.frombuffer(digests, dtype=np.int64)
        ordered = np.sort(d)
        repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
        del ordered
        hits = np.nonzero(np.isin(d, repeated))[0].tolist() if repeated.size else []
    if not hits:
        return []
    holders: dict[int, set[int]] = defaultdict(set)
    for i in hits:
        holders[digests[i]].add(owners[i])
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for sets in holders.values():
        first, *rest = sorted(sets)
        for other in rest:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, set[int]] = defaultdict(set)
    for sets in holders.values():
        for x in sets:
            groups[find(x)].add(x)
    return [sorted(g) for g in groups.values() if len(g) > 1]


def _rerun_shared(files: list[_FileState], batch: _Batch, settings: Settings, spool: Spool) -> None:
    """Check (and fix) together the sets that share a Mohs day or a line id, from their text as read.

    When a group's fixes give a line an id another set already uses, the group is run again
    with that set and everything that set was grouped with."""
    if len(batch.outcomes) < 2:
        return  # a group is two sets or more
    # A file that could not be read (an error after its sets) is reported as such, not checked:
    # its sets take no part, as when the batch is read whole (and reading it again would fail).
    unreadable = {f for f, state in enumerate(files) if state.error is not None}

    def readable(groups: Iterable[Iterable[int]]) -> list[set[int]]:
        kept = ({o for o in g if batch.set_file[o] not in unreadable} for g in groups)
        return [g for g in kept if len(g) > 1]

    groups = readable(shared_groups(batch.digests, batch.owners))
    while groups:
        group_of = {o: g for g in groups for o in g}
        sets = _read_sets(files, batch, set(group_of))
        grown: list[set[int]] = []
        for group in groups:
            extra = _rerun_group(sorted(group), sets, files, batch, settings, spool)
            if extra:
                grown.append(group.union(*(group_of.get(o, {o}) for o in extra)))
        groups = readable(_merged(grown))


def _merged(groups: list[set[int]]) -> list[set[int]]:
    """Overlapping groups as one."""
    out: list[set[int]] = []
    for g in groups:
        for other in [m for m in out if m & g]:
            g = g | other
            out.remove(other)
        out.append(g)
    return out


def _read_sets(files: list[_FileState], batch: _Batch, wanted: set[int]) -> dict[int, ClaimSet]:
    """The sets with these ordinals, read again from their files."""
    by_file: dict[int, set[int]] = defaultdict(set)
    for o in wanted:
        by_file[batch.set_file[o]].add(o)
    out: dict[int, ClaimSet] = {}
    for f, ordinals in by_file.items():
        state = files[f]
        position = 0
        for unit in read_claim_file(state.path):
            if not isinstance(unit, ClaimSet):
                continue
            ordinal = state.ordinals[position]
            if ordinal in ordinals:
                out[ordinal] = unit
            position += 1
    return out


def _rerun_group(
    group: list[int],
    sets: dict[int, ClaimSet],
    files: list[_FileState],
    batch: _Batch,
    settings: Settings,
    spool: Spool,
) -> set[int]:
    """Replace the group's outcomes by those of one batch run (their findings spooled again, the
    old records left unread); return sets outside the group whose line ids the fixes would now
    clash with."""
    by_file: dict[int, list[int]] = defaultdict(list)
    for o in group:
        by_file[batch.set_file[o]].append(o)
    docs = [Document(files[f].path, [sets[o] for o in ordinals]) for f, ordinals in by_file.items()]
    where = [(o, d, u) for d, ordinals in enumerate(by_file.values()) for u, o in enumerate(ordinals)]
    options = settings.options
    fresh = {o: SetOutcome(claims=len(sets[o].claims), late=late_dates(sets[o].claims, options)) for o in group}
    found: dict[int, list[Finding]] = {o: [] for o in group}
    initial: dict[int, list[Finding]] = {o: [] for o in group}
    locate = {(d, u): o for o, d, u in where}

    def owner(loc: Located) -> int:
        unit = loc.unit if loc.unit is not None else _unit_holding(docs[loc.doc], loc.finding)
        return locate[(loc.doc, unit)]

    if not settings.fixing:
        for loc in check_as_fix_would(docs, settings.rules, options):
            found[owner(loc)].append(loc.finding)
    else:
        fixed, remaining = _fix_and_recheck(docs, settings)
        for loc in remaining:
            found[owner(loc)].append(loc.finding)
        for loc in fixed.initial:
            initial[owner(loc)].append(loc.finding)
        for a in fixed.applied:
            # Applied names a claim, not a set: give it to the set that holds the claim.
            mine = [(o, d, u) for o, d, u in where if docs[d].source == a.source]
            holders = (o for o, d, u in mine if any(c.patient_control_number == a.claim for c in _claims(docs[d], u)))
            o = next(holders, mine[0][0])
            fresh[o].applied.append(a)
        for o, d, u in where:
            unit = docs[d].units[u]
            assert isinstance(unit, ClaimSet)
            fresh[o].text = encode(emit(unit.transaction.segments))
    for o in group:
        fresh[o].findings = spool.write(found[o])
        fresh[o].initial = spool.write(initial[o])
        batch.outcomes[o] = fresh[o]
    if not settings.fixing:
        return set()
    return _clashes(group, docs, batch)


def _unit_holding(doc: Document, f: Finding) -> int:
    """The set a file-wide finding (a line id) is about: the one holding its segment, else its claim."""
    for u, cs in doc.claim_sets:
        segments = cs.transaction.segments
        if f.segment and segments[0].number <= f.segment <= segments[-1].number:
            return u
    for u, cs in doc.claim_sets:
        if any(c.patient_control_number == f.claim for c in cs.claims):
            return u
    return 0


def _claims(doc: Document, u: int) -> list[Claim]:
    unit = doc.units[u]
    return unit.claims if isinstance(unit, ClaimSet) else []


def _clashes(group: list[int], docs: list[Document], batch: _Batch) -> set[int]:
    members = set(group)
    new: set[int] = set()
    for doc in docs:
        f = batch.set_file[group[0]]
        new |= set_digests(doc.claims(), f)
    if not new:
        return set()
    import numpy as np

    d = np.frombuffer(batch.digests, dtype=np.int64)
    o = np.frombuffer(batch.owners, dtype=np.uint32)
    hits = o[np.isin(d, np.fromiter(new, dtype=np.int64, count=len(new)))]
    return {int(x) for x in hits.tolist()} - members


# ---------------------------------------------------------------- per file: the report and the fixed file


def _report(
    state: _FileState,
    batch: _Batch,
    settings: Settings,
    targets: dict[str, Path] | None,
    write_unchanged: bool,
    whole: list[Rule],
    diff: Sink | None,
    spool: Spool,
) -> FileReport:
    """The file's report (its findings: its sets' parts in the spool, merged with the envelopes'
    and pyx12's, held) and, for fix, the fixed file."""
    report = FileReport(path=state.path)
    if state.error is not None:
        report.error = state.error
        return report
    options = settings.options
    outcomes = [batch.outcomes[o] for o in state.ordinals]
    report.claims = sum(o.claims for o in outcomes)
    report.quarantined = [o.error for o in outcomes if o.error is not None]
    envelope_rules = [r for r in settings.rules if r.scope == Scope.ENVELOPE]
    skeleton_findings = _envelope_findings(state.skeleton, envelope_rules, options, state.path)
    as_read = _whole_file_findings(state.path, state.path, whole, options)
    late: set[date] = set()
    for o in outcomes:
        late |= o.late
    note_late_dates(report, late, options)
    # Ties keep the order of one stable sort of: the sets' findings in file order, then the
    # envelopes', then pyx12's (what Findings' merge does with the parts and lists given in order).
    if not settings.fixing:
        report.findings = Findings(spool, [o.findings for o in outcomes], [skeleton_findings, as_read])
        return report
    report.initial_findings = Findings(spool, [o.initial for o in outcomes], [skeleton_findings, as_read])
    report.applied = [a for f in skeleton_findings if allowed(f, settings.unsafe) for a in [applied_fix(f, state.path)]]
    report.applied += [a for o in outcomes for a in o.applied]
    kept = [u for u in state.skeleton if not (isinstance(u, SetSlot) and u.quarantined)]
    if report.quarantined or any(r.code == "X12001" for r in envelope_rules):
        kept = recount_envelopes(kept, get_rule("X12001"), options)
    remaining = [o.findings for o in outcomes]
    envelopes = _envelope_findings(kept, envelope_rules, options, state.path)
    report.findings = Findings(spool, remaining, [envelopes])
    if report.quarantined:
        report.notices.append(
            f"{len(report.quarantined)} transaction set(s) that could not be read were left out of the fixed file"
        )
    assert targets is not None
    target = targets[state.path]
    if is_incomplete(report.findings):
        report.notices.append(INCOMPLETE_NOTICE)
        report.findings = Findings(spool, remaining, [envelopes, as_read])  # nothing else was validated
        return report
    changed = bool(report.applied or report.quarantined)
    if diff is not None and changed:
        file_diff(state.path, str(target), _fixed_texts(state.skeleton, kept, batch), diff)
    if write_unchanged or changed:
        _write_fixed(target, kept, batch)
    report.output = str(target)
    if whole:
        written = str(target) if (write_unchanged or changed) else state.path
        as_written = _whole_file_findings(written, state.path, whole, options)
        report.findings = Findings(spool, remaining, [envelopes, as_written])
    return report


class _Spools:
    """The fixed sets' texts: from the spool files of their ranges, or held (fixed again with others)."""

    def __init__(self, batch: _Batch, stack: contextlib.ExitStack) -> None:
        self.batch = batch
        self.stack = stack
        self.open: dict[str, BinaryIO] = {}

    def pieces(self, slot: SetSlot, block: int = 1 << 20) -> Iterator[bytes]:
        outcome = self.batch.outcomes[slot.ordinal]
        if outcome.text is not None:
            yield outcome.text
            return
        spool_path = self.batch.spools[slot.ordinal]
        assert outcome.spool is not None and spool_path is not None
        if spool_path not in self.open:
            self.open[spool_path] = self.stack.enter_context(open(spool_path, "rb"))  # noqa: SIM115 - the stack closes it
        src = self.open[spool_path]
        offset, length = outcome.spool
        src.seek(offset)
        while length > 0:
            data = src.read(min(block, length))
            if not data:
                raise OSError("the spool file is shorter than recorded")
            yield data
            length -= len(data)


def _fixed_texts(skeleton: list[Envelope | SetSlot], kept: list[Envelope | SetSlot], batch: _Batch) -> Iterator[str]:
    """The fixed file's text for each unit of the file as read, in order: "" for a set left out."""
    written = iter(kept)
    with contextlib.ExitStack() as stack:
        spools = _Spools(batch, stack)
        for unit in skeleton:
            if isinstance(unit, SetSlot) and unit.quarantined:
                yield ""
                continue
            out = next(written)
            if isinstance(out, Envelope):
                yield out.segment.emit()
                continue
            yield decode(b"".join(spools.pieces(out)))


def _write_fixed(target: Path, skeleton: list[Envelope | SetSlot], batch: _Batch) -> None:
    """Envelopes and fixed sets in input order, into a temporary file renamed into place."""
    with atomic_output(target) as out, contextlib.ExitStack() as stack:
        spools = _Spools(batch, stack)
        for unit in skeleton:
            if isinstance(unit, Envelope):
                out.write(encode(unit.segment.emit()))
                continue
            for data in spools.pieces(unit):
                out.write(data)


def _envelope_findings(
    skeleton: list[Envelope | SetSlot], rules: list[Rule], options: RuleOptions, path: str
) -> list[Finding]:
    """The envelope rules' findings on a file's skeleton, sorted."""
    ctx = EnvelopeContext(tuple(skeleton), options)  # type: ignore[arg-type]
    found = [portable(dataclasses.replace(f, source=path)) for r in rules for f in r.check(r, ctx)]
    return sorted(found, key=finding_order)
