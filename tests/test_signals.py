"""SIGTERM and SIGINT: the input stays, no temporary file or spool is left, exit 143 / 130;
workers end with their parent; what a killed run left is swept by the next run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES

sys.path.insert(0, str(ROOT / "bench"))


@pytest.fixture(scope="module")
def big_837(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import run as bench

    path = tmp_path_factory.mktemp("big") / "big.837"
    bench.generate(path, 150_000, "837")
    return path


def start_fix(*args: str | Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "mohsedi", "fix", *map(str, args), "--fail-on", "never", "-q"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_work(directory: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    """Until the run has a spool or temporary file in the directory: it is mid-way."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if any(p.name.startswith(".") for p in directory.iterdir()):
            time.sleep(0.3)
            return
        time.sleep(0.02)
    raise AssertionError("the run never started writing")


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_fix_in_place_leaves_the_input_and_nothing_else(
    big_837: Path, tmp_path: Path, signum: int, code: int
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    path = Path(shutil.copy(big_837, work / "claims.837"))
    before = path.read_bytes()
    proc = start_fix(path, "--in-place")
    wait_for_work(work, proc)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert b"Traceback" not in err
    assert path.read_bytes() == before
    assert [p.name for p in work.iterdir()] == ["claims.837"]


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_workers_end_with_their_parent(big_837: Path, tmp_path: Path, signum: int) -> None:
    out = tmp_path / "out"
    second = Path(shutil.copy(big_837, tmp_path / "second.837"))  # two files: two tasks for two workers
    proc = start_fix(big_837, second, "-o", out, "--jobs", "2")
    deadline = time.monotonic() + 60
    while not (workers := children(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert workers, "no worker process started"
    proc.send_signal(signum)
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 10
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(w) for w in workers)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_next_run_sweeps_what_a_killed_run_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    host, dead, live = socket.gethostname(), dead_pid(), os.getppid()
    stale_spool = out / f".spool.mohsedi-{host}-{dead}-abc123"
    stale_spool.mkdir()
    (stale_spool / "0.spool").write_bytes(b"x" * 100)
    stale_tmp = out / f".claims.837.mohsedi-{host}-{dead}-x1y2.tmp"
    stale_tmp.write_bytes(b"half")
    running = out / f".other.837.mohsedi-{host}-{live}-q9.tmp"  # a run going on now: kept
    running.write_bytes(b"in progress")
    elsewhere = out / f".other.837.mohsedi-another-host-{dead}-q9.tmp"  # cannot be judged from here: kept
    elsewhere.write_bytes(b"?")
    mine = out / ".notes.txt"
    mine.write_text("the user's own")
    proc = start_fix(SAMPLES / "12-modifier-and-x12-errors.837", "-o", str(out))
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["12-modifier-and-x12-errors.837", running.name, elsewhere.name, mine.name]
    )
