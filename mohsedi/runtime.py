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
    """No cyclic collection while a batch runs: check and fix hold every claim of the batch,
    and each collection would re-walk all of them (a third of the check+fix time on a
    million-segment file). The claims, lines and segments form no reference cycles, so little
    waits for the collection that runs when the batch is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
