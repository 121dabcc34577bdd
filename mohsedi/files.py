"""Writing output files atomically: a reader never sees half a file, an input is never clobbered.

A new file gets the mode the umask gives (mkstemp's 0600 would hide the HTML report from the
billing manager a cron job writes it for); a file replaced keeps its mode and, where allowed,
its owner and group (`fix --in-place`); a symbolic link is written through to its target and
stays a link.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


def current_umask() -> int:
    """The process umask (read by setting it, as POSIX offers no other way, and set back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _take_over(fd: int, existing: os.stat_result | None) -> None:
    """Give the temporary file the mode (and owner) the finished file should have."""
    if existing is None:
        os.fchmod(fd, 0o666 & ~current_umask())
        return
    os.fchmod(fd, existing.st_mode & 0o7777)
    if (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.fchown(fd, existing.st_uid, existing.st_gid)
        except PermissionError:  # only root gives a file away; a member may still keep its group
            with contextlib.suppress(PermissionError):
                os.fchown(fd, -1, existing.st_gid)


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A file to write, beside ``path``, renamed into place when the block ends without error."""
    target = Path(os.path.realpath(path))  # through a symlink: the link stays, its target is replaced
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        existing: os.stat_result | None = target.stat()
    except FileNotFoundError:
        existing = None
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        _take_over(fd, existing)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: str | Path, data: bytes) -> None:
    with atomic_output(path) as fh:
        fh.write(data)


def sha256_file(path: str | Path) -> tuple[str, int]:
    """The file's SHA-256 (hex) and size, read a megabyte at a time: what the store keys files by."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
