"""Process-wide settings the command line applies once at start-up (never the library on import)."""

from __future__ import annotations

import gc

# A batch holds a whole transaction set of small acyclic objects; at CPython's default
# threshold (700) the cyclic collector re-walks them all several times per set, which
# doubled parse time in `make bench`. Collections still run, just less often.
BATCH_GC_THRESHOLD = (50_000, 20, 20)


def tune_for_batches() -> None:
    gc.set_threshold(*BATCH_GC_THRESHOLD)
