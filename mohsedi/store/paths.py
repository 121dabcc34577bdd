"""Where the store is, without importing SQLAlchemy: the CLI asks this before deciding to open it."""

from __future__ import annotations

import os
from pathlib import Path


def default_url() -> str:
    """$MOHSEDI_DATABASE_URL, else SQLite under $XDG_DATA_HOME (~/.local/share/mohsedi/mohsedi.db)."""
    url = os.environ.get("MOHSEDI_DATABASE_URL")
    if url:
        return url
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{base / 'mohsedi' / 'mohsedi.db'}"


def existing_store(url: str) -> bool:
    """Whether the store is there to read from (any server URL; a SQLite file that exists)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return path not in ("", ":memory:") and Path(path).exists()
    return True


class StoreError(Exception):
    """The store cannot be used as it is (wrong URL, schema behind the code)."""
