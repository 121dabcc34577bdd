"""One generic walker: places each segment at its guide node, for any compiled guide.

The scan order is pyx12's (map_walker.walk_tree): children of the current loop at or
after the current position, then the parent loop's, and so on up to the root; a loop
is entered through its first segment. Which node a segment lands on depends only on
the node we are at, the segment id and the value of its qualifier element, so each
answer is memoized: after warm-up a segment costs one or two dictionary probes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from mohsedi.errors import X12Error
from mohsedi.guide.compile import CLAIM_837P_FAMILY, CLAIM_837P_VERSION, NODES, Guide, GuideNode, guide_for
from mohsedi.x12.envelope import Envelope, TransactionSet, Unit
from mohsedi.x12.segments import Segment

NOT_FOUND = -1
RAW_MEMO_LIMIT = 200_000


def _is_match(node: GuideNode, seg_id: str, values: dict[tuple[int, int], str | None]) -> bool:
    if node.id != seg_id:
        return False
    if node.key is None:
        return True
    element, component, codes = node.key
    return values.get((element, component)) in codes


def _first_child(loop: GuideNode) -> GuideNode | None:
    return NODES[loop.children[0]] if loop.children else None


def _loop_matches(loop: GuideNode, seg_id: str, values: dict) -> bool:
    first = _first_child(loop)
    if first is None:
        return False
    if first.is_loop:
        # A wrapper loop matches when any direct child loop does.
        return any(NODES[c].is_loop and _loop_matches(NODES[c], seg_id, values) for c in loop.children)
    return _is_match(first, seg_id, values)


def _enter(loop: GuideNode, seg_id: str, values: dict) -> int:
    first = _first_child(loop)
    if first is not None and not first.is_loop and _is_match(first, seg_id, values):
        return first.index
    for c in loop.children:
        child = NODES[c]
        if child.is_loop:
            found = _enter(child, seg_id, values)
            if found != NOT_FOUND:
                return found
    return NOT_FOUND


def _parent_loop(node: GuideNode) -> GuideNode:
    parent = NODES[node.parent]
    while parent.kind == "segment":
        parent = NODES[parent.parent]
    return parent


def walk(start: int, seg_id: str, values: dict[tuple[int, int], str | None]) -> int:
    """The node a segment lands on when the walker stands at ``start``; NOT_FOUND if none."""
    node = NODES[start]
    position = node.pos
    if not node.is_loop:
        node = _parent_loop(node)
    while True:
        for c in node.children:
            child = NODES[c]
            if child.pos < position:
                continue
            if not child.is_loop:
                if _is_match(child, seg_id, values):
                    if node.kind == "loop" and _loop_matches(node, seg_id, values):
                        return _enter(node, seg_id, values)
                    return child.index
            elif _loop_matches(child, seg_id, values):
                return _enter(child, seg_id, values)
        if node.kind == "root":
            return NOT_FOUND
        position = node.pos
        node = _parent_loop(node)


class GuideWalker:
    """Places segments of one guide, with memoized transitions."""

    def __init__(self, guide: Guide) -> None:
        self.guide = guide
        self.transitions: dict[tuple[int, str, tuple[str | None, ...]], int] = {}
        # Segment ids no node qualifies get a plain (state, id) table: the common case.
        self.plain: dict[tuple[int, str], int] = {}
        self.raw: dict[tuple[int, str, str], int] = {}
        # Ids with one qualifier (a whole element, NM101, or its first component, SV101-1): the
        # index of the element that holds it, which place_units' table keys by its whole text.
        self.element_key: dict[str, int] = {
            sid: positions[0][0]
            for sid, positions in guide.key_positions.items()
            if len(positions) == 1 and positions[0][1] in (0, 1) and positions[0][0] > 0
        }
        # place_units' table: state -> segment id -> (the next node, that node's row of the table, 0),
        # or for an id with one qualifier (element_key): (None, the whole text of the element that
        # holds the qualifier -> (the next node, its row), that element's index). Keyed by the whole
        # element, a component qualifier needs no split in the probe: the few texts a batch repeats
        # (SVC01 "HC:17311") each get an entry. Filled by ``place_slow`` from ``step``; a transition
        # to nowhere (NOT_FOUND) is never kept here, so the probe misses and ``step`` answers it.
        # A list indexed by state; each row is one dict, made once. One table per component
        # separator (``table_for``): the same element text splits differently under another.
        self.tables: dict[str, list[dict[str, tuple]]] = {}
        self.table_entries = 0
        self.isa_node = guide.by_path["/ISA_LOOP/ISA"]
        self.gs_node = guide.by_path["/ISA_LOOP/GS_LOOP/GS"]

    def qualifiers(self, seg: Segment) -> tuple[str | None, ...]:
        """The values at the segment id's qualifier positions, folded to None when no node matches them."""
        positions = self.guide.key_positions.get(seg.id)
        if not positions:
            return ()
        codes = self.guide.key_codes[seg.id]
        elements = seg.elements
        out = []
        for element, component in positions:
            value = elements[element] if element < len(elements) else ""
            if component:
                parts = value.split(seg.delimiters.component)
                value = parts[component - 1] if component <= len(parts) else ""
            out.append(value if value in codes else None)
        return tuple(out)

    def step(self, state: int, seg: Segment) -> int:
        """Memoized on the raw qualifier text of single-qualifier ids (nearly all of them), else folded."""
        seg_id = seg.id
        positions = self.guide.key_positions.get(seg_id)
        if positions is None:
            found = self.plain.get((state, seg_id))
            if found is None:
                found = self.plain[(state, seg_id)] = walk(state, seg_id, {})
            return found
        if len(positions) == 1:
            element, component = positions[0]
            elements = seg.elements
            raw = elements[element] if element < len(elements) else ""
            if component:
                raw = raw.split(seg.delimiters.component)[component - 1] if raw else ""
            key = (state, seg_id, raw)
            found = self.raw.get(key)
            if found is None:
                value = raw if raw in self.guide.key_codes[seg_id] else None
                found = walk(state, seg_id, {positions[0]: value})
                if len(self.raw) < RAW_MEMO_LIMIT:  # hostile input must not grow it without bound
                    self.raw[key] = found
            return found
        quals = self.qualifiers(seg)
        memo_key = (state, seg_id, quals)
        found = self.transitions.get(memo_key)
        if found is None:
            found = self.transitions[memo_key] = walk(state, seg_id, dict(zip(positions, quals, strict=False)))
        return found

    def table_for(self, component: str) -> list[dict[str, tuple]]:
        """place_units' table for segments with this component separator."""
        table = self.tables.get(component)
        if table is None:
            table = self.tables[component] = [{} for _ in range(len(NODES))]
        return table

    def place_slow(self, state: int, seg: Segment) -> int:
        """``step``, remembered in its table for place_units' next probe of the same transition."""
        found = self.step(state, seg)
        sid = seg.id
        if found == NOT_FOUND or self.table_entries >= RAW_MEMO_LIMIT:  # hostile input must not grow it without bound
            return found
        table = self.table_for(seg.delimiters.component)
        row = table[state]
        if sid not in self.guide.key_positions:
            row[sid] = (found, table[found], 0)
        elif sid in self.element_key:
            element = self.element_key[sid]
            if element >= len(seg.elements):
                return found  # short of its qualifier: the probe fails on it, and ``step`` answers
            entry = row.get(sid)
            if entry is None:
                entry = row[sid] = (None, {}, element)
            entry[1][seg.elements[element]] = (found, table[found])
        else:
            return found  # several qualifiers: ``step`` folds them each time
        self.table_entries += 1
        return found


_WALKERS: dict[str, GuideWalker] = {}


def walker_for(isa: Segment | None, gs: Segment | None) -> GuideWalker | None:
    if isa is None or gs is None:
        return None
    guide = guide_for(isa.element(12), gs.element(8), gs.element(1))
    if guide is None and gs.element(1) == "HC" and gs.element(8).startswith(CLAIM_837P_FAMILY):
        # 005010X222A2 or a bare 005010X222: read with the A1 guide, and reported (X12008).
        guide = guide_for(isa.element(12), CLAIM_837P_VERSION, "HC")
    if guide is None:
        return None
    walker = _WALKERS.get(guide.map_file)
    if walker is None:
        walker = _WALKERS[guide.map_file] = GuideWalker(guide)
    return walker


def guide_version(map_file: str) -> str:
    """A map file as its guide's version (GS08): 837.5010.X222.A1.xml -> 005010X222A1."""
    parts = map_file.removesuffix(".xml").split(".")
    if len(parts) >= 3 and parts[1].isdigit():
        return "00" + parts[1] + "".join(parts[2:])
    return map_file.removesuffix(".xml")


def where(node: GuideNode) -> str:
    """Where the reader was, in the guide's words (loop ids and segment ids, never pyx12's
    internal map paths such as /ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A)."""
    if node.kind == "segment":
        return f"after {node.id} in loop {node.loop}" if _GUIDE_LOOP.fullmatch(node.loop) else f"after {node.id}"
    if node.kind == "loop" and _GUIDE_LOOP.fullmatch(node.id):
        return f"at the start of loop {node.id}"
    return "at its start"


_GUIDE_LOOP = re.compile(r"\d{4}[A-Z]?")  # 1000A, 2300, 2400; not pyx12's ISA_LOOP, HEADER or DETAIL


def place_units(units: Iterable[Unit], *, source: str | None = None) -> Iterator[Unit]:
    """Assign every segment its guide node, as pyx12's X12ContextReader would.

    A segment the guide has no place for keeps the node of the segment before it (as
    in pyx12) and is recorded in its transaction set's ``placement_errors``.
    """
    walker: GuideWalker | None = None
    state = NOT_FOUND
    isa: Segment | None = None
    for unit in units:
        if isinstance(unit, Envelope):
            seg = unit.segment
            if seg.id == "ISA":
                isa = seg
                walker = None
                # The ISA node is the same in every 5010 map; use the 837P one until GS says more.
                fallback = guide_for("00501", "005010X222A1", "HC")
                state = fallback.by_path["/ISA_LOOP/ISA"] if fallback else NOT_FOUND
                seg.node = state
            elif seg.id == "GS":
                walker = walker_for(isa, seg)
                state = walker.gs_node if walker else NOT_FOUND
                seg.node = state
            elif walker is not None and state != NOT_FOUND:
                moved = walker.step(state, seg)
                if moved != NOT_FOUND:
                    state = moved
                seg.node = state
            yield unit
            continue
        assert isinstance(unit, TransactionSet)
        if walker is None or state == NOT_FOUND:
            yield unit
            continue
        table, slow = walker.table_for(unit.segments[0].delimiters.component), walker.place_slow
        row = table[state]
        for seg in unit.segments:
            # The memo probes, inlined: after warm-up nearly
            # every segment is one or two dictionary probes here, without a call, and the probe
            # hands over the next node's row with the node.
            try:  # free unless a probe misses (a new transition, or none) or a segment is short of its qualifier
                found, next_row, element = row[seg.id]
                if found is None:  # an id with a qualifier: next_row is element text -> (node, row)
                    found, next_row = next_row[seg.elements[element]]
            except (KeyError, IndexError):
                found = slow(state, seg)
                if found < 0:  # NOT_FOUND: the segment keeps the node before it
                    if len(unit.placement_errors) < 20:
                        unit.placement_errors.append(
                            X12Error(
                                f"segment {seg.id} has no place in the {guide_version(walker.guide.map_file)} guide "
                                f"{where(NODES[state])}",
                                source=source,
                                segment=seg.number,
                                offset=seg.offset,
                                segment_id=seg.id,
                            )
                        )
                    found, next_row = state, row
                else:
                    next_row = table[found]
            seg.node = state = found
            row = next_row
        yield unit


def node_path(seg: Segment) -> str | None:
    return NODES[seg.node].path if seg.node >= 0 else None


def node_loop(seg: Segment) -> str | None:
    return NODES[seg.node].loop if seg.node >= 0 else None


def replace_set(ts: TransactionSet, segments: list[Segment], *, source: str | None = None) -> TransactionSet:
    """A transaction set rebuilt from edited segments and placed again from its group's GS.

    A fix is kept only if the result still has a place for every segment.
    """
    rebuilt = TransactionSet(segments, ts.isa, ts.gs)
    if not segments or segments[0].id != "ST" or segments[-1].id != "SE":
        rebuilt.error = X12Error("an edit removed ST or SE", source=source)
        return rebuilt
    walker = walker_for(ts.isa, ts.gs)
    if walker is None:
        rebuilt.error = X12Error("no implementation guide for this group", source=source)
        return rebuilt
    state = walker.gs_node
    for seg in segments:
        found = walker.step(state, seg)
        if found == NOT_FOUND:
            rebuilt.placement_errors.append(
                X12Error(
                    f"segment {seg.id} has no place {where(NODES[state])}",
                    source=source,
                    segment=seg.number or None,
                    segment_id=seg.id,
                )
            )
        else:
            state = found
        seg.node = state
    return rebuilt
