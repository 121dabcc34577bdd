"""ICD-10-CM validity: is a diagnosis code in the code set, and billable (a leaf)?

The codes come from the CMS release the `simple-icd-10-cm` package ships (April 2026), copied
by `make reference-data` into mohsedi/data/reference.sqlite with the package's own billable
flag: importing the package parses a 10 MB XML (seconds), a check asks the SQLite file one
indexed question per distinct code instead.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Literal

from mohsedi.codes import refdata

Status = Literal["billable", "header", "unknown"]


@functools.cache
def release() -> tuple[str, date]:
    """(name, effective date) of the shipped ICD-10-CM release."""
    info = refdata.meta()["icd10cm"]
    return info["source"], date.fromisoformat(info["effective"])


def fiscal_year_start(day: date) -> date:
    """ICD-10-CM code sets change on October 1 (the federal fiscal year); April adds few codes."""
    return date(day.year if day.month >= 10 else day.year - 1, 10, 1)


@functools.cache
def covered() -> tuple[date, date]:
    """The dates of service the shipped release's fiscal year covers (first and last day)."""
    start = fiscal_year_start(release()[1])
    return start, date(start.year + 1, 9, 30)


_cache: dict[str, Status] = {}
BILLABLE: set[str] = set()  # codes, as written on claims, found billable so far (a fast path for rules)


def status(code: str) -> Status:
    """'billable' (a leaf code), 'header' (a category or subcategory with children: not
    billable), or 'unknown' (not an ICD-10-CM code in the shipped release). Dots are ignored."""
    key = code.strip().upper().replace(".", "")
    found = _cache.get(key)
    if found is None:
        rows = refdata.query("SELECT billable FROM icd10cm WHERE code = ?", (key,))
        found = _cache[key] = ("billable" if rows[0][0] else "header") if rows else "unknown"
    if found == "billable":
        BILLABLE.add(code)
    return found


def children(code: str, limit: int = 4) -> list[str]:
    """A few billable codes under a header code, for the message that says what to use instead."""
    key = code.strip().upper().replace(".", "")
    rows = refdata.query(
        "SELECT code FROM icd10cm WHERE code > ? AND code < ? AND billable = 1 ORDER BY code LIMIT ?",
        (key, key + "~", limit),
    )
    return [r[0] for r in rows]


def add_dot(code: str) -> str:
    """C44311 -> C44.311, for people to read."""
    return f"{code[:3]}.{code[3:]}" if len(code) > 3 else code
