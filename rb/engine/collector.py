"""Fewer garbage collections while runs are under way.

A run keeps what it builds (outcomes, events, step tasks) until it ends, so
the collector's passes over them during the run find nothing to free, and in
a large fan-out, where thousands of step tasks live at once, they cost a
third of the engine's time (benchmarks/RESULTS.md, issue 16). While any run
is in progress the collector waits for more allocations before a pass; the
thresholds come back when the last run ends. Reference counting still frees
everything that is not in a cycle at once.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

# Allocations between young-generation passes, and young passes between
# middle ones, while a run is under way (Python's defaults: 700 and 10).
RUN_THRESHOLDS = (10_000, 50, 100)

_lock = threading.Lock()
_active = 0
_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds until the last concurrent run ends."""
    global _active, _saved
    with _lock:
        if _active == 0:
            _saved = gc.get_threshold()
            gc.set_threshold(*(max(a, b) for a, b in zip(RUN_THRESHOLDS, _saved, strict=True)))
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                gc.set_threshold(*_saved)
