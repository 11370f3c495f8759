"""Synchronisation runs started from the UI, in background threads, with live progress.

A run can take minutes, longer than a browser waits for a response, so "Run"
starts a thread and answers at once with a fragment that htmx polls every
500 ms; the thread's progress callback updates the counters the fragment
shows, and its final log replaces them. The registry keeps the last runs of
this process only: the stored sync log (Logs page) is the lasting record.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from ..context import Context
from ..errors import OpenConnectorError

KEEP = 50


@dataclass
class UiRun:
    id: str
    sync_id: str
    test: bool
    status: str = "running"  # running | done | failed
    progress: dict[str, Any] = field(default_factory=dict)
    log: dict[str, Any] | None = None
    error: str | None = None
    started: float = field(default_factory=time.time)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def seconds(self) -> float:
        return round(time.time() - self.started, 1)


class RunRegistry:
    """The runs this process started, by id; at most :data:`KEEP` are remembered."""

    def __init__(self) -> None:
        self._runs: OrderedDict[str, UiRun] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, context: Context, sync_id: str, *, test: bool, user: str | None) -> UiRun:
        run = UiRun(id=uuid.uuid4().hex, sync_id=str(sync_id), test=test)
        with self._lock:
            self._runs[run.id] = run
            while len(self._runs) > KEEP:
                self._runs.popitem(last=False)
        thread = threading.Thread(
            target=self._work, args=(context, run, user), daemon=True, name=f"ui-run-{run.id[:8]}"
        )
        thread.start()
        return run

    def get(self, run_id: str) -> UiRun | None:
        with self._lock:
            return self._runs.get(run_id)

    def active(self, sync_id: str) -> UiRun | None:
        """The run of ``sync_id`` still going, if this process started one."""
        with self._lock:
            return next(
                (r for r in reversed(self._runs.values()) if r.sync_id == str(sync_id) and r.running), None
            )

    @staticmethod
    def _work(context: Context, run: UiRun, user: str | None) -> None:
        from ..connector.sync import SynchronizationService

        def progress(state: dict[str, Any]) -> None:
            run.progress = dict(state)

        try:
            run.log = SynchronizationService(context).synchronize(
                run.sync_id, test=run.test, progress=progress, stop=run.stop, user=user
            )
            run.status = "done"
        except OpenConnectorError as exc:
            run.error, run.status = exc.message, "failed"
        except Exception as exc:  # shown to the user; the service logged the details
            run.error, run.status = f"Unexpected error: {type(exc).__name__}", "failed"
