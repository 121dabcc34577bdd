"""The guide's limits on one segment's elements, read from pyx12's maps: what a fix may write.

A fix edits segments; before the edited set is kept, each segment it changed or added is
checked here against the element definitions of its node in the implementation guide: usage
(required, not used), minimum and maximum length, data type, and the codes the guide lists.
The checks mirror pyx12's own element validation (``pyx12.map_if._element``), so a gate built
on them keeps a fix from adding an error pyx12 would report. The definitions are read lazily,
only for the nodes a fix touched, from the same map files the walker compiled.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mohsedi.guide.compile import NODES, _cache_file, _path_qualifier, _text, keep, pyx12_map_dir, read_kept
from mohsedi.x12.segments import Segment

if TYPE_CHECKING:
    from lxml import etree


@dataclass(frozen=True, slots=True)
class ElementLimit:
    ref: str  # the guide's reference: SV101-03, CLM02
    name: str
    usage: str  # R required, S situational, N not used
    data_type: str | None
    min_len: int
    max_len: int
    codes: frozenset[str]  # empty: any value of the type (or an external code list)
    components: tuple[ElementLimit, ...] = ()  # a composite's elements


@functools.cache
def _map_tree(map_file: str) -> etree._ElementTree:
    from lxml import etree  # only where a map is read: a check reads the kept limits

    return etree.parse(str(pyx12_map_dir() / map_file))


@functools.cache
def _data_elements() -> dict[str, tuple[str | None, int, int]]:
    """Data element number -> (type, min length, max length), from pyx12's dataele.xml."""
    from lxml import etree  # only where a map is read: a check reads the kept tables

    tree = etree.parse(str(pyx12_map_dir() / "dataele.xml"))
    return {
        e.get("ele_num") or "": (e.get("data_type"), int(e.get("min_len") or 0), int(e.get("max_len") or 0))
        for e in tree.iter("data_ele")
    }


def _element_limit(elem: etree._Element) -> ElementLimit:
    data_ele = _text(elem, "data_ele") or ""
    codes_elem = elem.find("valid_codes")
    codes = frozenset(c.text or "" for c in codes_elem.findall("code")) if codes_elem is not None else frozenset()
    if codes_elem is not None and codes_elem.get("external"):
        codes = frozenset()  # an external code list: not ours to check here
    if elem.tag == "composite":
        parts = sorted(elem.findall("element"), key=lambda e: int(_text(e, "seq") or 0))
        return ElementLimit(
            ref=elem.get("xid") or "",
            name=_text(elem, "name") or "",
            usage=_text(elem, "usage") or "S",
            data_type=None,
            min_len=0,
            max_len=0,
            codes=frozenset(),
            components=tuple(_element_limit(p) for p in parts),
        )
    data_type, min_len, max_len = _data_elements().get(data_ele, (None, 0, 0))
    return ElementLimit(
        ref=elem.get("xid") or "",
        name=_text(elem, "name") or "",
        usage=_text(elem, "usage") or "S",
        data_type=data_type,
        min_len=min_len,
        max_len=max_len,
        codes=codes,
    )


def _segment_xml(node_index: int) -> etree._Element | None:
    """The map's <segment> for a compiled node: down its loop path by xid, then by position and qualifier."""
    node = NODES[node_index]
    steps = node.path.split("/")[1:-1]
    here: etree._Element = _map_tree(node.guide).getroot()
    for step in steps:
        found = next((c for c in here.findall("loop") if c.get("xid") == step), None)
        if found is None:
            return None
        here = found
    candidates = [
        s for s in here.findall("segment") if s.get("xid") == node.id and int(_text(s, "pos") or 0) == node.pos
    ]
    if len(candidates) > 1:
        last = node.path.rsplit("/", 1)[-1]
        wanted = last[len(node.id) + 1 : -1] if "[" in last else None
        candidates = [s for s in candidates if _path_qualifier(node.id, s) == wanted] or candidates[:1]
    return candidates[0] if candidates else None


@functools.cache
def segment_limits(node_index: int) -> tuple[ElementLimit, ...] | None:
    """The element limits of a segment node, in element order; None when the map has no such node."""
    node = NODES[node_index]
    kept = _kept_limits(node.guide)
    if node.path in kept:
        return kept[node.path]
    xml = _segment_xml(node_index)
    if xml is None:
        found = None
    else:
        items = [e for e in xml if e.tag in ("element", "composite")]
        items.sort(key=lambda e: int(_text(e, "seq") or 0))
        found = tuple(_element_limit(e) for e in items)
    kept[node.path] = found
    _keep_limits(node.guide, kept)
    return found


# ---------------------------------------------------------------- limits kept between runs
#
# Reading them means parsing the whole map file (a sixtieth of a finding-heavy check), for the
# few nodes fixes write to (CLM, SV1, REF, LX). The limits read are kept beside the compiled
# guide, by node path, under a key of everything they are made from (the map file, pyx12's
# version, the guide compiler, dataele.xml, this module); any failure to read or write them
# just reads the map.

LIMITS_FORMAT = 1


def _limits_file(map_file: str) -> Path | None:
    """Beside the compiled guide, under its key (the map file, pyx12's version, the compiler)
    and this module's and dataele.xml's own."""
    import hashlib

    guide = _cache_file(map_file)
    if guide is None:
        return None
    try:
        elements = (pyx12_map_dir() / "dataele.xml").stat()
        me = Path(__file__).stat()
    except OSError:
        return None
    key = "|".join(str(x) for x in (LIMITS_FORMAT, elements.st_size, elements.st_mtime_ns, me.st_size, me.st_mtime_ns))
    return guide.with_name(f"{guide.stem}-limits-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pickle")


@functools.cache
def _kept_limits(map_file: str) -> dict[str, tuple[ElementLimit, ...] | None]:
    """The limits of the map's nodes read in earlier runs, by node path (empty when none are kept)."""
    kept = read_kept(_limits_file(map_file))
    return kept if isinstance(kept, dict) else {}


def _keep_limits(map_file: str, kept: dict[str, tuple[ElementLimit, ...] | None]) -> None:
    keep(_limits_file(map_file), kept)


# (id of a limit, value, required) -> its problems: the gate asks about the same amounts and
# codes again and again. The limits live as long as segment_limits' cache, so ids stay theirs.
_VALUE_PROBLEMS: dict[tuple[int, str, bool], tuple[str, ...]] = {}
_VALUE_PROBLEMS_KEPT = 100_000


def _value_problems(limit: ElementLimit, value: str, *, required_when_empty: bool) -> list[str]:
    key = (id(limit), value, required_when_empty)
    found = _VALUE_PROBLEMS.get(key)
    if found is None:
        if len(_VALUE_PROBLEMS) >= _VALUE_PROBLEMS_KEPT:
            _VALUE_PROBLEMS.clear()
        found = _VALUE_PROBLEMS[key] = tuple(_judge_value(limit, value, required_when_empty=required_when_empty))
    return list(found)


def _judge_value(limit: ElementLimit, value: str, *, required_when_empty: bool) -> list[str]:
    from pyx12.validation import IsValidDataType  # a module of regular expressions; light to import

    if value == "":
        return [f"{limit.ref} ({limit.name}) is required"] if required_when_empty else []
    if limit.usage == "N":
        return [f"{limit.ref} ({limit.name}) is not used by the guide"]
    out: list[str] = []
    dtype = limit.data_type or ""
    measured = value.replace("-", "").replace(".", "") if dtype == "R" or dtype.startswith("N") else value
    if len(measured) < limit.min_len:
        out.append(f"{limit.ref} ({limit.name}) {value!r} is shorter than {limit.min_len}")
    if limit.max_len and len(measured) > limit.max_len:
        out.append(f"{limit.ref} ({limit.name}) {value!r} is longer than {limit.max_len}")
    if limit.codes and value not in limit.codes:
        out.append(f"{limit.ref} ({limit.name}) {value!r} is not a code the guide allows")
    if dtype and not IsValidDataType(value, dtype, "E", "00501"):
        out.append(f"{limit.ref} ({limit.name}) {value!r} is not a valid {dtype}")
    if dtype in ("AN", "ID") and value != value.rstrip(" ") and len(value.rstrip(" ")) >= limit.min_len:
        out.append(f"{limit.ref} ({limit.name}) {value!r} has trailing blanks")
    return out


def _element_problems(limit: ElementLimit, value: str, component: str) -> list[str]:
    """What one element's value breaks of its limit (a composite's components included)."""
    if not limit.components:
        return _value_problems(limit, value, required_when_empty=limit.usage == "R")
    if value == "":
        return [f"{limit.ref} ({limit.name}) is required"] if limit.usage == "R" else []
    out: list[str] = []
    parts = value.split(component)
    if len(parts) > len(limit.components):
        out.append(f"{limit.ref} has {len(parts)} components, the guide defines {len(limit.components)}")
    for j, part_limit in enumerate(limit.components):
        part = parts[j] if j < len(parts) else ""
        out.extend(_value_problems(part_limit, part, required_when_empty=part_limit.usage == "R"))
    return out


def segment_problems(seg: Segment) -> list[str]:
    """What in this placed segment breaks its node's element limits (empty when none, or unplaced)."""
    if seg.node < 0:
        return []
    limits = segment_limits(seg.node)
    if limits is None:
        return []
    elements = seg.elements
    out: list[str] = []
    if len(elements) - 1 > len(limits):
        out.append(f"{seg.id} has {len(elements) - 1} elements, the guide defines {len(limits)}")
    component = seg.delimiters.component
    for i, limit in enumerate(limits, start=1):
        out.extend(_element_problems(limit, elements[i] if i < len(elements) else "", component))
    return out


def problems_gained(new: Segment, old: Segment | None) -> Counter[str]:
    """What ``new`` breaks of the guide's limits that ``old`` (the segment it replaces, if any) did
    not: ``Counter(segment_problems(new)) - Counter(segment_problems(old))``.

    An element's problems depend only on its value and its limit, so at the same node the
    elements a rewrite left alone add the same problems to both sides and cancel out: only the
    elements that differ are checked (a fix rewrites one or two elements of a segment)."""
    if (
        old is None
        or old.node != new.node
        or new.node < 0
        or old.delimiters.component != new.delimiters.component
        or len(old.elements) != len(new.elements)
        or old.id != new.id
    ):
        return Counter(segment_problems(new)) - Counter(segment_problems(old) if old is not None else [])
    limits = segment_limits(new.node)
    if limits is None:
        return Counter()
    component = new.delimiters.component
    changed = [(i, now, was) for i, (now, was) in enumerate(zip(new.elements, old.elements, strict=True)) if now != was]
    gained: list[str] = []
    for i, now, _ in changed:
        if 0 < i <= len(limits):
            gained.extend(_element_problems(limits[i - 1], now, component))
    if not gained:
        return Counter()  # nothing to gain (a fix nearly always writes a valid value): the old side is not asked
    lost: list[str] = []
    for i, _, was in changed:
        if 0 < i <= len(limits):
            lost.extend(_element_problems(limits[i - 1], was, component))
    return Counter(gained) - Counter(lost)
