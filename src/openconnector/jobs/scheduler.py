"""The embedded scheduler: ``openconnector serve`` runs due jobs itself, in a small thread pool.

One thread polls for due jobs every ``poll`` seconds (or at once when woken, e.g.
after ``POST /api/synchronizations/{id}/schedule``) and hands each to the pool,
never a job that is still running here and never more than the pool has free
threads, so a late job waits for a thread instead of piling up. The API stays
responsive because runs never touch the event loop.

Exactly-once per slot across processes comes from ``JobService.run`` (job lock +
re-check of ``nextRun``), so several schedulers, or a scheduler beside
procrastinate workers, are safe, only wasteful. ``stop()`` sets the event that
every run receives: runs finish their page, commit and return.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from .. import shutdown
from ..connector.logs import LOG_PURGE_EVERY, LogService
from ..connector.outbox import OutboxDeliverer
from ..connector.sync import recover_dead_runs
from ..context import Context
from ..files.extraction import TextExtractor
from .service import JobService

log = logging.getLogger("openconnector.scheduler")


class Scheduler:
    """Start with :meth:`start`, end with :meth:`stop`; ``running`` lists job uuids in progress."""

    def __init__(
        self,
        context: Context,
        *,
        workers: int = 4,
        poll: float = 0.5,
        grace: float = 30.0,
        repair_every: float = 30.0,
    ) -> None:
        self.context = context
        self.workers = max(1, workers)
        self.poll = poll
        self.grace = grace
        self.repair_every = repair_every
        self.stopping = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._running: dict[str, Future[Any]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self._repaired = 0.0
        self._purged: float | None = None
        self.runs = 0
        self.outbox: OutboxDeliverer | None = None
        self.texts: TextExtractor | None = None

    @property
    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Scheduler:
        if self.alive:
            return self
        self.stopping.clear()
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="job")
        self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self._thread.start()
        # object events for push synchronisations are delivered wherever jobs run
        self.outbox = OutboxDeliverer(self.context).start()
        # and the text of new or changed files is extracted for search (files/extraction.py)
        self.texts = TextExtractor(self.context).start()
        log.info("scheduler started (%d threads, poll %.1fs)", self.workers, self.poll)
        return self

    def wake(self) -> None:
        """Look for due jobs now (a job was scheduled or a run ended)."""
        self._wake.set()

    def stop(self, timeout: float | None = None) -> bool:
        """Stop polling, let runs finish their page; True when all ended within ``timeout`` (default grace)."""
        self.stopping.set()
        self._wake.set()
        if self.outbox is not None:
            self.outbox.stop()
        if self.texts is not None:
            self.texts.stop()
        if self._thread is not None:
            self._thread.join(timeout=5)
        deadline = time.monotonic() + (self.grace if timeout is None else timeout)
        with self._lock:
            futures = list(self._running.values())
        for future in futures:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            with contextlib.suppress(Exception):  # failures are logged by the run itself
                future.result(timeout=remaining)
        done = all(f.done() for f in futures)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        log.info("scheduler stopped%s", "" if done else " (runs still finishing)")
        return done

    def tick(self) -> int:
        """One look for due jobs; returns how many runs were started."""
        service = JobService(self.context)
        now = time.monotonic()
        if now - self._repaired > self.repair_every:
            service.repair()
            self._repaired = now
        if self._purged is None or now - self._purged > LOG_PURGE_EVERY:
            self._purged = now
            LogService(self.context).purge_expired()
        with self._lock:
            free = self.workers - len(self._running)
            busy = set(self._running)
        if free <= 0:
            return 0
        started = 0
        for job in service.due():
            if self.stopping.is_set() or shutdown.requested() or started >= free:
                break
            if job["uuid"] in busy:
                continue
            self._submit(job["uuid"])
            started += 1
        return started

    def _submit(self, job_uuid: str) -> None:
        assert self._pool is not None
        with self._lock:
            self._running[job_uuid] = self._pool.submit(self._execute, job_uuid)

    def _execute(self, job_uuid: str) -> None:
        try:
            JobService(self.context).run(job_uuid, stop=self.stopping)
            self.runs += 1
        except Exception:
            log.exception("job %s could not run", job_uuid)
        finally:
            with self._lock:
                self._running.pop(job_uuid, None)
            self._wake.set()

    def _loop(self) -> None:
        try:  # runs a killed process left "running": interrupted, their locks free
            recover_dead_runs(self.context)
        except Exception:
            log.exception("could not look for runs of a stopped process")
        while not self.stopping.is_set() and not shutdown.requested():
            try:
                self.tick()
            except Exception:  # the database may be briefly away: keep polling
                log.exception("scheduler tick failed")
                self.stopping.wait(min(5.0, self.poll * 4))
            self._wake.wait(self.poll)
            self._wake.clear()
