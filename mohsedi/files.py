"""Writing output files atomically: a reader never sees half a file, an input is never clobbered.

A new file gets the mode the umask gives (mkstemp's 0600 would hide the HTML report from the
billing manager a cron job writes it for); a file replaced keeps its mode and, where allowed,
its owner and group (`fix --in-place`); a symbolic link is written through to its target and
stays a link.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

# Temporary files and spool directories carry the host and process that made them, so the next
# run into the same directory can tell what a killed run left behind (its process is gone) from
# what a run going on right now is writing (left alone; so is anything from another host).
_OWNER = re.compile(r"\.mohsedi-(?P<host>[^/]*)-(?P<pid>\d+)-[^/]*$")
_SWEPT: set[str] = set()


def owner_tag() -> str:
    return f"mohsedi-{socket.gethostname().replace('/', '_')}-{os.getpid()}-"


def _left_by_a_dead_run(name: str) -> bool:
    match = _OWNER.search(name)
    if match is None or match["host"] != socket.gethostname().replace("/", "_"):
        return False
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def sweep_stale(directory: str | Path) -> list[Path]:
    """Remove the temporary files and spools a killed mohsedi run left in ``directory`` (once per
    directory and process). Returns what was removed."""
    key = os.path.abspath(directory)
    if key in _SWEPT:
        return []
    _SWEPT.add(key)
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    for entry in entries:
        if not entry.name.startswith(".") or not _left_by_a_dead_run(entry.name):
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        removed.append(path)
    return removed


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
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        # A device or a pipe (-o /dev/null, /dev/stdout, a FIFO): written into, never replaced;
        # renaming a file onto it would put a plain file where the device was.
        with open(target, "wb") as fh:
            yield fh
        return
    sweep_stale(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{owner_tag()}", suffix=".tmp", dir=target.parent)
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


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file: the same path once resolved, or (both existing) one
    inode, so a hard link or a symlinked directory does not slip through."""
    pa, pb = Path(a), Path(b)
    if pa.resolve() == pb.resolve():
        return True
    try:
        return os.path.samefile(pa, pb)
    except OSError:
        return False


def clobbered_input(outputs: list[str | Path], inputs: list[str | Path]) -> tuple[Path, Path] | None:
    """The first (output, input) pair where writing the output would overwrite an input."""
    for out in outputs:
        for given in inputs:
            if same_file(out, given):
                return Path(out), Path(given)
    return None


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
