"""The implementation guides as data: pyx12's XML maps compiled into a node table.

We read the maps that ship inside the installed pyx12 package with lxml and keep only
what loop assignment needs: the loop/segment tree in pyx12's scan order, usage, and
for each segment the qualifier element pyx12 matches on. Names and paths are pyx12's
(``/ISA_LOOP/GS_LOOP/ST_LOOP/DETAIL/2000A/2000B/2300/2400/SV1``), which follow the guide.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree  # imported where a map is read: a check reads the kept tables only


@dataclass(slots=True)
class GuideNode:
    index: int  # global index across every compiled guide
    kind: str  # "root", "loop" or "segment"
    id: str
    name: str
    usage: str
    pos: int
    parent: int  # -1 for the root
    path: str  # pyx12's get_path(), with [qualifier] where segments share a position
    loop: str  # id of the innermost enclosing loop ("" for the root)
    guide: str  # the map file it came from
    children: list[int] = field(default_factory=list)
    # Where the qualifier sits (element, component or 0) and the codes that match.
    key: tuple[int, int, frozenset[str]] | None = None
    max_use: int | None = None

    @property
    def is_loop(self) -> bool:
        return self.kind != "segment"


@dataclass(slots=True)
class Guide:
    map_file: str
    transaction_id: str
    root: int
    # For each segment id: the qualifier positions its nodes match on, and every code
    # that can match there (other values are folded to None to bound the memo tables).
    key_positions: dict[str, tuple[tuple[int, int], ...]]
    key_codes: dict[str, frozenset[str]]
    by_path: dict[str, int]


NODES: list[GuideNode] = []
# CHAINS[i]: loop ids from the ST loop down to node i's own loop, ('2000A', '2000B', '2300', '2400').
# Kept beside NODES as a flat list because readers look it up for every segment.
CHAINS: list[tuple[str, ...]] = []
ENVELOPE_LOOPS = frozenset({"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "FOOTER"})


def pyx12_map_dir() -> Path:
    import pyx12

    return Path(pyx12.__file__).parent / "map"


@functools.cache
def _data_types() -> dict[str, str]:
    from lxml import etree  # only where a map is read: a check reads the kept tables

    tree = etree.parse(str(pyx12_map_dir() / "dataele.xml"))
    return {e.get("ele_num"): e.get("data_type") for e in tree.iter("data_ele")}


def _text(elem: etree._Element, tag: str) -> str | None:
    value = elem.get(tag)
    return value if value else elem.findtext(tag)


def _element_info(elem: etree._Element) -> tuple[str | None, str | None, list[str]]:
    data_types = _data_types()
    data_ele = _text(elem, "data_ele")
    codes_elem = elem.find("valid_codes")
    codes = [c.text or "" for c in codes_elem.findall("code")] if codes_elem is not None else []
    return data_types.get(data_ele or ""), _text(elem, "usage"), codes


def _children_by_seq(seg: etree._Element) -> list[etree._Element]:
    items = [(int(_text(e, "seq") or 0), e) for e in seg if e.tag in ("element", "composite")]
    return [e for _, e in sorted(items, key=lambda item: item[0])]


def _match_key(seg_id: str, seg: etree._Element) -> tuple[int, int, list[str]] | None:
    """Mirror pyx12 segment_if._resolve_unique_key_field(with_qual=False)."""
    children = _children_by_seq(seg)
    c0 = children[0] if len(children) > 0 else None
    c1 = children[1] if len(children) > 1 else None
    c2 = children[2] if len(children) > 2 else None
    if c0 is not None and c0.tag == "element":
        dtype, usage, codes = _element_info(c0)
        if dtype == "ID" and usage == "R" and codes:
            return (1, 0, codes)
    if seg_id == "ENT" and c1 is not None and c1.tag == "element":
        dtype, _, codes = _element_info(c1)
        if dtype == "ID" and codes:
            return (2, 0, codes)
    if c0 is not None and c0.tag == "composite":
        first = c0.find("element")
        if first is not None:
            dtype, _, codes = _element_info(first)
            if seg_id == "CTX" and dtype == "AN" and codes:
                return (1, 1, codes)
            if dtype == "ID" and codes:
                return (1, 1, codes)
    if seg_id == "HL" and c2 is not None and c2.tag == "element":
        _, _, codes = _element_info(c2)
        if codes:
            return (3, 0, codes)
    return None


def _path_qualifier(seg_id: str, seg: etree._Element) -> str | None:
    """Mirror pyx12 segment_if.guess_unique_key_id_element: the first code names the path."""
    children = _children_by_seq(seg)
    c0 = children[0] if len(children) > 0 else None
    c1 = children[1] if len(children) > 1 else None
    c2 = children[2] if len(children) > 2 else None
    if c0 is not None and c0.tag == "element":
        dtype, _, codes = _element_info(c0)
        if dtype == "ID" and codes:
            return codes[0]
    if seg_id == "ENT" and c1 is not None and c1.tag == "element":
        dtype, _, codes = _element_info(c1)
        if dtype == "ID" and codes:
            return codes[0]
    if c0 is not None and c0.tag == "composite":
        first = c0.find("element")
        if first is not None:
            dtype, _, codes = _element_info(first)
            if dtype == "ID" and codes:
                return codes[0]
    if seg_id == "HL" and c2 is not None and c2.tag == "element":
        _, _, codes = _element_info(c2)
        if codes:
            return codes[0]
    return None


def _repeat(value: str | None) -> int | None:
    if value is None or value.startswith(">") or value.startswith("&gt;"):
        return None
    return int(value)


def compile_guide(map_file: str) -> Guide:
    """Compile one pyx12 map into nodes appended to the global table."""
    from lxml import etree

    tree = etree.parse(str(pyx12_map_dir() / map_file))
    root_elem = tree.getroot()
    key_positions: dict[str, set[tuple[int, int]]] = {}
    key_codes: dict[str, set[str]] = {}
    by_path: dict[str, int] = {}

    def add(node: GuideNode) -> int:
        NODES.append(node)
        parts = node.path.split("/")[1:] if node.is_loop else node.path.split("/")[1:-1]
        CHAINS.append(tuple(p for p in parts if p not in ENVELOPE_LOOPS))
        by_path.setdefault(node.path, node.index)
        return node.index

    def build(elem: etree._Element, parent: GuideNode) -> None:
        # pyx12 files loops before segments at one position, then sorts positions.
        staged: list[tuple[int, etree._Element]] = []
        for child in elem.findall("loop"):
            staged.append((int(_text(child, "pos") or 0), child))
        for child in elem.findall("segment"):
            staged.append((int(_text(child, "pos") or 0), child))
        counts: dict[int, int] = {}
        for pos, _ in staged:
            counts[pos] = counts.get(pos, 0) + 1
        for pos, child in sorted(staged, key=lambda item: item[0]):
            xid = child.get("xid") or ""
            parent_path = "" if parent.path == "/" else parent.path
            if child.tag == "loop":
                node = GuideNode(
                    index=len(NODES),
                    kind="loop",
                    id=xid,
                    name=_text(child, "name") or "",
                    usage=_text(child, "usage") or "S",
                    pos=pos,
                    parent=parent.index,
                    path=f"{parent_path}/{xid}",
                    loop=xid,
                    guide=map_file,
                    max_use=_repeat(_text(child, "repeat")),
                )
                parent.children.append(add(node))
                build(child, node)
            else:
                suffix = ""
                if counts[pos] > 1:
                    qual = _path_qualifier(xid, child)
                    if qual is not None:
                        suffix = f"[{qual}]"
                key = _match_key(xid, child)
                node = GuideNode(
                    index=len(NODES),
                    kind="segment",
                    id=xid,
                    name=_text(child, "name") or "",
                    usage=_text(child, "usage") or "S",
                    pos=pos,
                    parent=parent.index,
                    path=f"{parent_path}/{xid}{suffix}",
                    loop=parent.loop,
                    guide=map_file,
                    key=(key[0], key[1], frozenset(key[2])) if key else None,
                    max_use=_repeat(_text(child, "max_use")),
                )
                parent.children.append(add(node))
                if key is not None:
                    key_positions.setdefault(xid, set()).add((key[0], key[1]))
                    key_codes.setdefault(xid, set()).update(key[2])

    root = GuideNode(
        index=len(NODES),
        kind="root",
        id=root_elem.get("xid") or "",
        name=_text(root_elem, "name") or "",
        usage="R",
        pos=0,
        parent=-1,
        path="/",
        loop="",
        guide=map_file,
    )
    add(root)
    build(root_elem, root)
    return Guide(
        map_file=map_file,
        transaction_id=root.id,
        root=root.index,
        key_positions={k: tuple(sorted(v)) for k, v in key_positions.items()},
        key_codes={k: frozenset(v) for k, v in key_codes.items()},
        by_path=by_path,
    )


@functools.cache
def _map_index() -> dict[tuple[str, str, str], str]:
    """(ISA12, GS08, GS01) -> map file, from pyx12's own maps.xml; kept beside the compiled
    guides under the same kind of key, so a check does not load lxml to read it."""
    path = _cache_file("maps.xml")
    kept = read_kept(path)
    if isinstance(kept, dict):
        return kept
    index = _read_map_index()
    keep(path, index)
    return index


def _read_map_index() -> dict[tuple[str, str, str], str]:
    from lxml import etree

    tree = etree.parse(str(pyx12_map_dir() / "maps.xml"))
    index: dict[tuple[str, str, str], str] = {}
    for version in tree.getroot().iter("version"):
        icvn = version.get("icvn") or ""
        for entry in version.iter("map"):
            if entry.get("tspc"):
                continue  # 4010 278 variants chosen by BHT02; not a guide we read
            key = (icvn, entry.get("vriic") or "", entry.get("fic") or "")
            index.setdefault(key, (entry.text or "").strip())
    return index


_GUIDES: dict[str, Guide] = {}


def guide_for_map(map_file: str) -> Guide:
    guide = _GUIDES.get(map_file)
    if guide is None:
        guide = _GUIDES[map_file] = _cached_guide(map_file)
    return guide


# ---------------------------------------------------------------- the compiled guide, kept between runs
#
# Compiling the 837P map is a third of a one-claim check. The compiled nodes are kept in the
# user's cache directory, numbered from 0 and renumbered from the table's end when loaded; the
# key holds everything they are made from (the map file, pyx12's version, this module), so a
# changed map or compiler never reads a stale table. Any failure to read or write the cache
# just compiles. (The pickle is read from the user's own cache directory, which only that user
# can write to, like the .pyc files Python itself keeps.)

CACHE_FORMAT = 1


def _cache_file(map_file: str) -> Path | None:
    import hashlib

    from mohsedi.settings import current

    try:
        import pyx12

        source = (pyx12_map_dir() / map_file).stat()
        me = Path(__file__).stat()
    except (OSError, ImportError):
        return None
    key = "|".join(
        str(x)
        for x in (
            CACHE_FORMAT,
            map_file,
            source.st_size,
            source.st_mtime_ns,
            pyx12.__version__,
            me.st_size,
            me.st_mtime_ns,
        )
    )
    name = f"{map_file.removesuffix('.xml')}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pickle"
    return current().guide_cache_dir / name


def _renumbered(nodes: list[GuideNode], shift: int) -> list[GuideNode]:
    from dataclasses import replace

    return [
        replace(
            n,
            index=n.index + shift,
            parent=n.parent + shift if n.parent >= 0 else -1,
            children=[c + shift for c in n.children],
        )
        for n in nodes
    ]


def read_kept(path: Path | None) -> Any:
    """What an earlier run kept at ``path`` in the user's cache, or None when nothing is kept
    there or it cannot be read (the caller then makes it again)."""
    if path is None:
        return None
    import pickle

    try:
        with path.open("rb") as fh:
            return pickle.load(fh)
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError):
        return None


def keep(path: Path | None, value: object) -> None:
    """Keep ``value`` at ``path`` for later runs; a read-only home keeps nothing (each run
    makes it again)."""
    if path is None:
        return
    import pickle

    from mohsedi.files import atomic_write

    with contextlib.suppress(OSError):
        atomic_write(path, pickle.dumps(value, protocol=5))


def _cached_guide(map_file: str) -> Guide:
    path = _cache_file(map_file)
    kept = read_kept(path)
    if isinstance(kept, tuple) and len(kept) == 3:
        nodes, chains, guide = kept
        base = len(NODES)
        NODES.extend(_renumbered(nodes, base))
        CHAINS.extend(chains)
        guide.root += base
        guide.by_path = {k: v + base for k, v in guide.by_path.items()}
        return guide
    base = len(NODES)
    guide = compile_guide(map_file)
    if path is not None:
        from copy import copy

        stored = copy(guide)
        stored.root -= base
        stored.by_path = {k: v - base for k, v in guide.by_path.items()}
        keep(path, (_renumbered(NODES[base:], -base), CHAINS[base:], stored))
    return guide


def guide_for(icvn: str, vriic: str, fic: str) -> Guide | None:
    """The compiled guide for an interchange version and group, or None when pyx12 has no map."""
    map_file = _map_index().get((icvn, vriic, fic))
    if not map_file or not (pyx12_map_dir() / map_file).exists():
        return None
    return guide_for_map(map_file)


CLAIM_837P_MAP = "837.5010.X222.A1.xml"
CLAIM_837P_VERSION = "005010X222A1"  # GS08/ST03 of the guide the map is
CLAIM_837P_FAMILY = "005010X222"  # its other labels (X222A2, bare X222) are read with it
REMIT_835_MAP = "835.5010.X221.A1.xml"
