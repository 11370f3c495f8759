"""Delivering the outbox: the thread that sends object events and processes queued notifications.

``OutboxDeliverer`` runs beside the scheduler (``openconnector serve``) and in every
``openconnector worker``. One pass::

    due rows (pending, next_attempt passed, not claimed, no earlier pending row of the same object)
      ─> rows of a synchronisation whose full run is busy wait
      ─> one UPDATE claims them all for ``lease`` seconds (RETURNING the rows it won)
      ─> ``workers`` threads handle them: push events through ``connector/push.py``,
         notifications (``action: notify``) through ``connector/notifications.py``
      ─> ok: the row is deleted in the transaction that saves the contract

It wakes when a transaction holding outbox rows commits in this process
(``outbox.WAKE``), on PostgreSQL also when one commits in another process
(``LISTEN``/``NOTIFY``), and otherwise polls every ``poll`` seconds: the lag from a
commit to the delivery is the time of the call itself, not a polling interval.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, delete, exists, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.orm import aliased

from ..clock import iso, now_iso, utcnow
from ..context import Context
from ..errors import Conflict, NotFound, OpenConnectorError
from ..store import tables as t
from . import outbox
from .mapping import MappingError
from .outbox import CACHE_SECONDS, CHANNEL, FAILED, NOTIFY, PENDING, WAKE
from .push import is_push

log = logging.getLogger("openconnector.outbox")


class OutboxDeliverer:
    """Sends due outbox events; ``deliver_due()`` once, or ``start()`` a thread that keeps at it."""

    def __init__(
        self,
        context: Context,
        *,
        backoff: float = 1.0,
        backoff_max: float = 300.0,
        max_attempts: int = 10,
        poll: float = 1.0,
        batch: int = 100,
        lease: float = 60.0,
        workers: int = 4,
    ) -> None:
        self.context = context
        self.workers = max(1, workers)
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.max_attempts = max_attempts
        self.poll = poll
        self.batch = batch
        self.lease = lease
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._service: Any = None
        self._plans: dict[str, tuple[float, Any]] = {}
        #: Set while the PostgreSQL listener is listening (tests wait for it).
        self.listening = threading.Event()
        self.delivered = 0

    # -- the thread ----------------------------------------------------------------

    def start(self) -> OutboxDeliverer:
        self.stopping.clear()
        outbox.RUNNING.add(id(self))
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)
        self._thread.start()
        if not self.context.settings.is_sqlite:
            self._listener = threading.Thread(target=self._listen, name="outbox-listen", daemon=True)
            self._listener.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        outbox.RUNNING.discard(id(self))
        WAKE.set()
        for thread in (self._thread, self._listener):
            if thread is not None:
                thread.join(timeout=10)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _loop(self) -> None:
        from .. import shutdown

        shutdown.work_until_stopped(self.deliver_due, self.stopping, WAKE, self.poll, "outbox delivery")

    def _listen(self) -> None:
        """PostgreSQL: wake on ``NOTIFY`` from transactions committed in other processes."""
        import psycopg

        dsn = make_url(self.context.settings.url).set(drivername="postgresql")
        while not self.stopping.is_set():
            try:
                with psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    WAKE.set()  # rows may have arrived while nobody listened
                    while not self.stopping.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            WAKE.set()
            except Exception as exc:  # the server restarted: listen again in a moment
                log.debug("outbox listener: %s", exc)
                self.stopping.wait(1.0)
            finally:
                self.listening.clear()

    # -- one pass ------------------------------------------------------------------

    def due(self, conn: Connection) -> list[Any]:
        now = time.time()
        o = t.outbox.c
        earlier = aliased(t.outbox)
        blocked = exists().where(
            earlier.c.synchronization_id == o.synchronization_id,
            earlier.c.object_id == o.object_id,
            earlier.c.status == PENDING,
            earlier.c.id < o.id,
        )
        return conn.execute(
            select(t.outbox)
            .where(
                o.status == PENDING,
                o.next_attempt <= now,
                (o.claimed_until.is_(None)) | (o.claimed_until < now),
                ~blocked,
            )
            .order_by(o.id)
            .limit(self.batch)
        ).all()

    def claim(self) -> list[Any]:
        """The due rows this deliverer won, claimed for ``lease`` seconds in one statement."""
        with self.context.db.connect() as conn:
            rows = self.due(conn)
            if rows:
                # A full run of a synchronisation sends every object itself: its events wait for
                # the run's end, so an object is never sent by both at once (no double create).
                names = {f"synchronization:{r.synchronization_id}" for r in rows}
                busy = set(
                    conn.execute(
                        select(t.locks.c.name).where(
                            t.locks.c.name.in_(names), t.locks.c.expires > iso(utcnow())
                        )
                    ).scalars()
                )
                rows = [r for r in rows if f"synchronization:{r.synchronization_id}" not in busy]
        if not rows:
            return []
        now = time.time()
        o = t.outbox.c
        with self.context.db.begin() as conn:
            won = conn.execute(
                update(t.outbox)
                .where(
                    o.id.in_([r.id for r in rows]),
                    o.status == PENDING,
                    o.next_attempt <= now,  # not one another deliverer just put back with a backoff
                    (o.claimed_until.is_(None)) | (o.claimed_until < now),
                )
                .values(claimed_until=now + self.lease)
                .returning(*t.outbox.c)
            ).all()
        return sorted(won, key=lambda r: r.id)

    def deliver_due(self) -> int:
        """One pass over the due events; returns how many were handled (sent, skipped or parked)."""
        if self.stopping.is_set():
            return 0
        rows = self.claim()
        if not rows:
            return 0
        service = self._sync_service()
        plans = {
            r.synchronization_id: self._plan(r.synchronization_id, service)
            for r in rows
            if r.action != NOTIFY
        }

        def one(row: Any) -> int:
            if self.stopping.is_set() or not self._still_mine(row):
                return 0
            if row.action == NOTIFY:
                self._notify(row)
            else:
                self._deliver(row, service, plans)
            return 1

        # the call logs of a pass are stored together, not one transaction per event
        with service.calls.log_sink.hold():
            # A pass holds at most one event per object (``due``), so its events may go out at once.
            if self.workers == 1 or len(rows) == 1:
                return sum(one(row) for row in rows)
            if self._thread is None:  # one pass called directly: its threads end with it
                with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="outbox") as pool:
                    return sum(pool.map(one, rows))
            if self._pool is None:  # the running deliverer keeps its threads between passes
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="outbox")
            return sum(self._pool.map(one, rows))

    def _still_mine(self, row: Any) -> bool:
        """Whether the row's claim holds for the call to come: a row whose turn comes late in
        a pass of slow calls has its claim renewed first (another process may have taken it
        when it lapsed; then it is that process's to send)."""
        now = time.time()
        if row.claimed_until - now > self.lease / 2:
            return True
        o = t.outbox.c
        with self.context.db.begin() as conn:
            renewed = conn.execute(
                update(t.outbox)
                .where(o.id == row.id, o.claimed_until == row.claimed_until, o.status == PENDING)
                .values(claimed_until=now + self.lease)
            ).rowcount
        return renewed == 1

    def _sync_service(self) -> Any:
        from .sync import SynchronizationService

        if self._service is None:
            self._service = SynchronizationService(self.context)
        return self._service

    def _plan(self, sync_id: str, service: Any) -> Any:
        """The synchronisation's push plan (kept ``CACHE_SECONDS``, like the list of push
        synchronisations per schema); None when it was removed or no longer pushes; the error
        when it cannot be planned (its events are parked with that reason)."""
        from .push import Pusher

        now = time.monotonic()
        cached = self._plans.get(sync_id)
        if cached is not None and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        try:
            sync = service.entities.get(sync_id)
        except NotFound:
            plan: Any = None
        else:
            if not is_push(sync):
                plan = None
            else:
                try:
                    plan = Pusher(service).plan(sync)
                except OpenConnectorError as exc:
                    plan = exc
        self._plans[sync_id] = (now, plan)
        return plan

    # -- one row -------------------------------------------------------------------

    def _deliver(self, row: Any, service: Any, plans: dict[str, Any]) -> None:
        from .push import Pusher

        plan = plans.get(row.synchronization_id)
        if plan is None:
            self._done(row)  # the synchronisation was removed or no longer pushes: nothing to deliver
            return
        if isinstance(plan, OpenConnectorError):
            self._failed(row, plan.message, retryable=False)
            return
        finished = []

        def finish(conn: Connection) -> None:
            """The row goes in the transaction that saves the contract: one commit per event."""
            conn.execute(delete(t.outbox).where(t.outbox.c.id == row.id))
            finished.append(True)

        try:
            obj = None
            if row.action != "delete":
                try:
                    obj = service.objects.find(row.object_id)
                except NotFound:
                    self._done(row)  # deleted since: its delete event follows
                    return
            Pusher(service).send(plan, row.object_id, obj, finish=finish)
        except Exception as exc:
            self._failed_by(row, exc)
            return
        if finished:
            self.delivered += 1
        else:
            self._done(row)  # skipped: nothing was written

    def _notify(self, row: Any) -> None:
        """A queued notification: the subscribed synchronisation fetches (or deletes) its record."""
        from .notifications import NotificationService

        try:
            NotificationService(self.context).process(row.synchronization_id, dict(row.payload or {}))
        except NotFound:
            pass  # the synchronisation was removed: nothing to do
        except Conflict as exc:  # a run of the synchronisation is busy: later
            self._failed(row, exc.message, retryable=True)
            return
        except Exception as exc:
            self._failed_by(row, exc)
            return
        self._done(row)

    def _failed_by(self, row: Any, exc: Exception) -> None:
        if isinstance(exc, MappingError | OpenConnectorError):
            self._failed(row, exc.message, bool(getattr(exc, "retryable", False)))
        else:  # a bug: park the event rather than retry it for ever
            log.error("outbox event %s could not be delivered", row.id, exc_info=exc)
            self._failed(row, f"Unexpected error: {type(exc).__name__}: {exc}", retryable=False)

    def _done(self, row: Any) -> None:
        with self.context.db.begin() as conn:
            conn.execute(delete(t.outbox).where(t.outbox.c.id == row.id))
        self.delivered += 1

    def _failed(self, row: Any, message: str, retryable: bool) -> None:
        attempts = row.attempts + 1
        park = not retryable or attempts >= self.max_attempts
        delay = min(self.backoff_max, self.backoff * 2 ** (attempts - 1))
        with self.context.db.begin() as conn:
            conn.execute(
                update(t.outbox)
                .where(t.outbox.c.id == row.id)
                .values(
                    status=FAILED if park else PENDING,
                    attempts=attempts,
                    next_attempt=time.time() + delay,
                    claimed_until=None,
                    last_error=message[:2000],
                    updated=now_iso(),
                )
            )
        if park:
            log.warning("outbox event %s parked as failed after %d attempt(s): %s", row.id, attempts, message)


__all__ = ["OutboxDeliverer", "outbox"]
