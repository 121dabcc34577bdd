"""What the FILE arguments name, and a progress bar that follows bytes read.

A directory means the X12 files of the kind the command reads that lie directly in it (told
by their content: an ISA whose first ST is 837 or 835, as the clearinghouse names vary); ``-``
means standard input, spooled to a temporary file because the reader splits files by byte
offset and may read them from several processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import click

STDIN = "-"
SNIFF_BYTES = 4096


def transaction_kind(path: Path) -> str | None:
    """The first ST01 of an X12 file ("837", "835", ...), or None when it is not one."""
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError:
        return None
    head = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"ISA") or len(head) < 4:
        return None
    sep = head[3:4]
    at = head.find(b"ST" + sep)
    while at > 0 and head[at - 1 : at].isalnum():  # "ST*" inside another element, not a segment
        at = head.find(b"ST" + sep, at + 1)
    if at < 0:
        return None
    return head[at + 3 : at + 6].decode("ascii", "replace")


def expand(args: tuple[str, ...] | list[str], kind: str, *, stdin: bool = False) -> list[str]:
    """Files to read: each directory replaced by its ``kind`` files (sorted by name); ``-`` only
    where the command reads standard input."""
    out: list[str] = []
    for arg in args:
        path = Path(arg)
        if arg != STDIN and path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.is_file() and transaction_kind(p) == kind)
            if not found:
                click.echo(f"mohsedi: {arg}: no {kind} files in this directory", err=True)
            out.extend(found)
        else:
            out.append(arg)
    if STDIN in out and not stdin:
        raise click.UsageError("this command reads files, not standard input (-): save it to a file first")
    if out.count(STDIN) > 1:
        raise click.UsageError("standard input (-) can be read once")
    return out


@contextlib.contextmanager
def stdin_spooled(paths: list[str]) -> Iterator[tuple[list[str], Callable[[str], str]]]:
    """The paths with ``-`` replaced by a temporary copy of standard input, and a function
    giving the name to show for a path (``-`` for the copy). The copy is removed afterwards."""
    if STDIN not in paths:
        yield paths, lambda p: p
        return
    fd, tmp = tempfile.mkstemp(prefix="mohsedi-stdin-", suffix=".x12")
    try:
        with os.fdopen(fd, "wb") as fh:
            shutil.copyfileobj(sys.stdin.buffer, fh, 1 << 20)
        yield [tmp if p == STDIN else p for p in paths], lambda p: STDIN if p == tmp else p
    finally:
        Path(tmp).unlink(missing_ok=True)


class Progress:
    """A bar on standard error, in bytes, for a batch that is more than a moment's work.

    ``file_done(path)`` is called as each file finishes; ``bytes_read(n)`` as a streamed read
    goes (one large file moves the bar while it is read, not only at its end)."""

    def __init__(self, paths: list[str]) -> None:
        self.sizes = {p: os.path.getsize(p) for p in paths if os.path.isfile(p)}
        total = sum(self.sizes.values())
        self.bar = None
        self.finished = 0
        self.streamed = 0
        if sys.stderr.isatty() and (len(paths) >= 5 or total >= 20_000_000):
            self.bar = click.progressbar(length=max(total, 1), label="reading", file=sys.stderr)
            self.bar.__enter__()

    def _show(self) -> None:
        if self.bar is not None:
            self.bar.update(max(self.finished, self.streamed) - self.bar.pos)

    def file_done(self, path: str) -> None:
        self.finished += self.sizes.get(path, 0)
        self._show()

    def bytes_read(self, count: int) -> None:
        self.streamed += count
        self._show()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
