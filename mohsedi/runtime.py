"""Process-wide settings the command line applies once at start-up (never the library on import)."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
from collections.abc import Iterator

# A batch holds a whole transaction set of small acyclic objects; at CPython's default
# threshold (700) the cyclic collector re-walks them all several times per set, which
# doubled parse time in `make bench`. Collections still run, just less often.
BATCH_GC_THRESHOLD = (50_000, 20, 20)


def tune_for_batches() -> None:
    gc.set_threshold(*BATCH_GC_THRESHOLD)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic collection while a batch runs. The claims, lines and segments form no
    reference cycles, so reference counting frees each transaction set when the next one is
    read (a streamed million-segment file leaves about 400 objects for the collector), and
    collections would only re-walk live objects: a sixth of streamed check+fix time, a third
    when a batch is held whole."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Exit codes for a run stopped by a signal, as a shell reports them (128 + signal number):
# not 1, which means findings remain.
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so that every ``finally`` and context manager
    runs: spools and half-written temporary files are removed, inputs stay as they were.
    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it."""


def _terminate(_signum: int, _frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut the clean-up short
    raise Terminated


def clean_up_on_signals() -> None:
    """SIGTERM unwinds like Ctrl-C does (Python's default would end the process on the spot)."""
    import threading

    if threading.current_thread() is threading.main_thread():  # only there can a handler be set
        signal.signal(signal.SIGTERM, _terminate)


def as_worker(parent_pid: int) -> None:
    """In a worker process: the parent handles SIGINT and SIGTERM (and ends its workers), and a
    worker whose parent is gone, even killed with SIGKILL, ends too instead of living on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(EXIT_TERMINATED)
