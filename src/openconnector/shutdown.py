"""One stop request per process: SIGTERM or Ctrl-C ends running synchronisations cleanly.

``serve``, ``worker`` and ``sync run`` set :data:`STOP` on SIGTERM/SIGINT. A run checks
it between pages: it finishes the page in progress (written and committed), is logged
``interrupted``, deletes nothing and releases its lock, so the process can exit within
seconds and the next process starts the synchronisation afresh. The scheduler starts
no new run once it is set.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("openconnector")

#: Set when the process is shutting down; never cleared except by :func:`reset` (tests, workers).
STOP = threading.Event()


def requested() -> bool:
    return STOP.is_set()


def request(reason: str = "shutdown") -> None:
    """Ask every run in this process to stop after its current page."""
    if not STOP.is_set():
        log.info("%s: runs in progress stop after their current page", reason)
    STOP.set()


def reset() -> None:
    STOP.clear()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, SIGTERM and a first Ctrl-C request a stop; a second Ctrl-C interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: Any) -> None:
        if signum == signal.SIGINT and STOP.is_set():
            raise KeyboardInterrupt
        request(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def work_until_stopped(
    work: Callable[[], int], stopping: threading.Event, wake: threading.Event, poll: float, what: str
) -> None:
    """The loop of a background worker thread (outbox deliverer, text extractor): call
    ``work`` again at once while it did something, else wait for ``wake`` or ``poll``
    seconds; until ``stopping`` is set or the process stops. A failing pass (the
    database briefly away) is logged and the loop goes on."""
    while not stopping.is_set() and not requested():
        try:
            if work():
                continue  # there may be more
        except Exception:
            log.exception("%s failed", what)
        wake.wait(poll)
        wake.clear()
