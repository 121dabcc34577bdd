"""The reference data shipped in the package (mohsedi/data/reference.sqlite), read on demand.

The file holds the whole practitioner PTP table of the shipped NCCI release, its whole MUE
table and the ICD-10-CM code list (built by `make reference-data`, see build_reference.py).
A check opens it read-only on first use and asks for the few codes it meets: one indexed
query per code, so a one-claim file never reads the 100k rows it does not need.
"""

from __future__ import annotations

import functools
import os
import sqlite3
import threading
from contextlib import ExitStack
from importlib import resources
from pathlib import Path

_lock = threading.Lock()
_state: dict[str, object] = {}  # "pid" and "conn": a forked worker opens its own connection
_files = ExitStack()  # keeps an extracted copy alive when the package runs from a zip


def _path() -> Path:
    resource = resources.files("mohsedi.data").joinpath("reference.sqlite")
    if isinstance(resource, Path):
        return resource
    return _files.enter_context(resources.as_file(resource))


def connection() -> sqlite3.Connection:
    """A read-only connection to the shipped file, one per process."""
    with _lock:
        conn = _state.get("conn")
        if conn is None or _state.get("pid") != os.getpid():
            uri = _path().resolve().as_uri() + "?mode=ro&immutable=1"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False)
            _state.update(conn=conn, pid=os.getpid())
        return conn  # type: ignore[return-value]


def query(sql: str, params: tuple = ()) -> list[tuple]:
    if any(isinstance(p, str) and not p.isascii() and not _encodable(p) for p in params):
        return []  # undecodable bytes kept losslessly (surrogates): no code in the tables has them
    return connection().execute(sql, params).fetchall()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@functools.cache
def meta() -> dict[str, dict[str, str]]:
    """kind -> {source, effective, rows, ...} as the build recorded them."""
    out: dict[str, dict[str, str]] = {}
    for kind, key, value in query("SELECT kind, key, value FROM meta"):
        out.setdefault(kind, {})[key] = value
    return out


@functools.cache
def rationales() -> dict[int, str]:
    return dict(query("SELECT id, text FROM rationale"))
