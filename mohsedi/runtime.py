"""Process-wide settings the command line applies once at start-up (never the library on import)."""

from __future__ import annotations

import contextlib
import gc
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
