"""Maximum element lengths from the implementation guide (pyx12's maps and data dictionary).

The store checks values against these before writing them, so an over-long value is a finding
on every database instead of a DataError on PostgreSQL and a silent success on SQLite. The map
and the data dictionary are read through mohsedi.guide.limits (the fix gate's reading of them).
"""

from __future__ import annotations

import functools

from mohsedi.guide.limits import _data_elements, _map_tree


@functools.cache
def element_max_lengths(map_file: str) -> dict[str, int]:
    """Element name as the guide writes it (CLP01, SVC01-02) -> its maximum length.

    Where one element occurs in several loops the guide gives them one data element, so one
    length; should two ever differ, the larger is kept (never refuse what the guide allows)."""
    dictionary = _data_elements()
    out: dict[str, int] = {}
    for elem in _map_tree(map_file).iter("element"):
        name = elem.get("xid") or ""
        found = dictionary.get((elem.findtext("data_ele") or "").strip())
        if name and found is not None and found[2]:
            out[name] = max(out.get(name, 0), found[2])
    return out


def max_length(map_file: str, element: str) -> int | None:
    return element_max_lengths(map_file).get(element)
