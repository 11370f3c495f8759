"""Interpreter settings while synchronisations run: fewer garbage collections, and
quicker hand-overs of the GIL.

A page of 1,000 records parses into some 10,000 dicts, lists and strings, so
CPython's cyclic collector (a young-generation pass every 700 allocations, and
passes over older generations in between) ran constantly: a fifth of an unchanged
re-run. Reference counting frees a page's objects as soon as it is done with, so
while any run is going the young-generation threshold is raised to about one pass
per page. (Raising it further let the little cyclic garbage a run does make pile
up: 455 MB at a million records instead of 150.)

A run's page writer gives up the GIL while the database works and needs it back to
go on; the mapping thread, busy in Python, only lets go every switch interval (5 ms
by default). A page's write takes it back some six times, so the writer spent as
long waiting as working. While runs go the interval is 1 ms (measured: first runs
15 to 20 % faster; 0.2 ms was no better than 1 ms).

Both are process-wide: they are set when the first run starts and put back when the
last one ends.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RELAXED_THRESHOLD = 10_000
SWITCH_INTERVAL = 0.001

_lock = threading.Lock()
_active = 0
_saved: tuple[tuple[int, int, int], float] | None = None


@contextmanager
def tuned_for_runs() -> Iterator[None]:
    """Raise the collector's young-generation threshold and shorten the GIL switch
    interval for the duration (re-entrant, thread-safe)."""
    global _active, _saved
    with _lock:
        if _active == 0:
            threshold, interval = gc.get_threshold(), sys.getswitchinterval()
            _saved = (threshold, interval)
            gc.set_threshold(max(RELAXED_THRESHOLD, threshold[0]), *threshold[1:])
            sys.setswitchinterval(min(SWITCH_INTERVAL, interval))
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _saved is not None:
                gc.set_threshold(*_saved[0])
                sys.setswitchinterval(_saved[1])
                _saved = None
