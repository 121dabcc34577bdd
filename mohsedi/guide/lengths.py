"""Maximum element lengths from the implementation guide (pyx12's maps and data dictionary).

The store checks values against these before writing them, so an over-long value is a finding
on every database instead of a DataError on PostgreSQL and a silent success on SQLite.
"""

from __future__ import annotations

import functools

from lxml import etree

from mohsedi.guide.compile import pyx12_map_dir


@functools.cache
def _dictionary_max_lengths() -> dict[str, int]:
    tree = etree.parse(str(pyx12_map_dir() / "dataele.xml"))
    return {e.get("ele_num"): int(e.get("max_len")) for e in tree.iter("data_ele") if e.get("max_len")}


@functools.cache
def element_max_lengths(map_file: str) -> dict[str, int]:
    """Element name as the guide writes it (CLP01, SVC01-02) -> its maximum length.

    Where one element occurs in several loops the guide gives them one data element, so one
    length; should two ever differ, the larger is kept (never refuse what the guide allows)."""
    dictionary = _dictionary_max_lengths()
    tree = etree.parse(str(pyx12_map_dir() / map_file))
    out: dict[str, int] = {}
    for elem in tree.iter("element"):
        name = elem.get("xid") or ""
        length = dictionary.get((elem.findtext("data_ele") or "").strip())
        if name and length is not None:
            out[name] = max(out.get(name, 0), length)
    return out


def max_length(map_file: str, element: str) -> int | None:
    return element_max_lengths(map_file).get(element)
