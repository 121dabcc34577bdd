"""Where the store is, without importing SQLAlchemy: the CLI asks this before deciding to open it."""

from __future__ import annotations

from pathlib import Path

from mohsedi.settings import Settings, current


def default_url(settings: Settings | None = None) -> str:
    """The configured store ($MOHSEDI_DATABASE_URL, read by the CLI), else SQLite under the data
    directory (~/.local/share/mohsedi/mohsedi.db, or $XDG_DATA_HOME's)."""
    return (settings or current()).store_url


def existing_store(url: str) -> bool:
    """Whether the store is there to read from (any server URL; a SQLite file that exists)."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        return path not in ("", ":memory:") and Path(path).exists()
    return True


class StoreError(Exception):
    """The store cannot be used as it is (wrong URL, schema behind the code)."""


def holds_check_data(url: str) -> bool:
    """Whether a check has anything to read in the store: imported NCCI releases, or remittances
    (the payers' claim numbers X12006 looks up). Asked of a SQLite file with the standard
    library, so a check beside a store holding only claims loads no SQLAlchemy. Anything but a
    definite "nothing" (a server, an unreadable file, a table missing) answers True."""
    if not url.startswith("sqlite:///"):
        return True
    import sqlite3

    path = Path(url.removeprefix("sqlite:///"))
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return any(
                conn.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None  # noqa: S608 - fixed names
                for table in ("data_release", "claim_payment")
            )
        finally:
            conn.close()
    except sqlite3.Error:
        return True
