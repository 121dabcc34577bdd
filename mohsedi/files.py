"""Writing output files atomically: a reader never sees half a file, an input is never clobbered."""

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


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A file to write, beside ``path``, renamed into place when the block ends without error."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(target.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{owner_tag()}", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.chmod(fh.fileno(), _mode_for(target))
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _mode_for(target: Path) -> int:
    """The file's own mode when it is replaced (--in-place keeps permissions), else what the
    umask gives a new file (mkstemp's 0600 is for the temporary name only)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
