"""The outbox: object events kept until the push synchronisations of their schema delivered them.

``ObjectService`` writes one row per (push synchronisation, object, event) in the
transaction that creates, updates or deletes the object, so an event exists
exactly when the change committed: a crash before the commit loses both, a crash
after it loses neither. ``OutboxDeliverer`` (run beside the scheduler, in every
process that runs jobs) then sends each event through ``connector/push.py``::

    pending ─ send ─┬─ ok ──────────────────────────────> row deleted
                    ├─ 5xx / 429 / unreachable ─────────> pending again after backoff (1 s, 2 s, 4 s ... 5 min)
                    └─ other 4xx, bad mapping, or too many attempts ─> failed (kept; retry via REST/CLI)

Delivery is at least once and in order per object: an event waits while an
earlier pending event of the same object and synchronisation is not delivered.
A row is claimed for a minute before it is sent, so several processes can
deliver side by side. A parked (failed) event does not hold back later ones:
they carry the object's latest state, which is what the receiver should have.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection, delete, event, exists, func, select, update
from sqlalchemy.orm import aliased

from ..clock import iso, now_iso, utcnow
from ..context import Context
from ..errors import NotFound, OpenConnectorError
from ..store import tables as t
from ..store.ids import row_id
from ..store.statements import Statement, insert_statements
from .mapping import MappingError
from .push import EVENTS, PushFailed, is_push, trigger_events

log = logging.getLogger("openconnector.outbox")

PENDING, FAILED = "pending", "failed"
#: How long the list of push synchronisations per schema is trusted (other processes may change it).
CACHE_SECONDS = 2.0
_cache: dict[int, tuple[float, dict[tuple[int, int], list[tuple[str, set[str]]]]]] = {}
_cache_lock = threading.Lock()
#: Set when a transaction holding events commits: the deliverers of this process look at once.
WAKE = threading.Event()
_listening: set[int] = set()


def forget() -> None:
    """A synchronisation changed in this process: look the push synchronisations up again."""
    with _cache_lock:
        _cache.clear()


def _targets(objects: Any, conn: Connection) -> dict[tuple[int, int], list[tuple[str, set[str]]]]:
    """(register id, schema id) → [(synchronisation uuid, events)], cached for a moment."""
    key = id(objects.db)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and now - hit[0] < CACHE_SECONDS:
            return hit[1]
    found: dict[tuple[int, int], list[tuple[str, set[str]]]] = {}
    try:
        registry = objects.registers.get_register("openconnector")
        sync_schema = objects.registers.get_schema("synchronization", register=registry)
    except NotFound:
        return found
    rows = conn.execute(
        select(t.objects.c.uuid, t.objects.c.object).where(
            t.objects.c.register_id == registry["id"], t.objects.c.schema_id == sync_schema["id"]
        )
    ).all()
    for uuid, data in rows:
        if not isinstance(data, dict) or not is_push(data):
            continue
        ref = str(data.get("sourceId") or "")
        if ref.count("/") != 1:
            continue
        try:
            reg, sch = objects.resolve(*ref.split("/"))
        except OpenConnectorError:
            continue
        found.setdefault((reg["id"], sch["id"]), []).append((uuid, trigger_events(data)))
    with _cache_lock:
        _cache[key] = (now, found)
    return found


def record(
    objects: Any,
    conn: Connection,
    register: dict[str, Any],
    schema: dict[str, Any],
    events: Iterable[tuple[str, str]],
) -> int:
    """Write the outbox rows for ``events`` (object uuid, action) in ``conn``'s transaction."""
    rows = _rows(objects, conn, register, schema, events)
    if rows:
        # straight to the driver: compiling a Core insert per save cost a third of a small write
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(
            f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})",
            [tuple(r[c] for c in _COLUMNS) for r in rows]
            if len(rows) > 1
            else tuple(rows[0][c] for c in _COLUMNS),
        )
        _wake_on_commit(conn)
    return len(rows)


_COLUMNS = (
    "synchronization_id",
    "object_id",
    "action",
    "status",
    "attempts",
    "next_attempt",
    "created",
    "updated",
)


def statements(
    objects: Any,
    conn: Connection,
    register: dict[str, Any],
    schema: dict[str, Any],
    events: Iterable[tuple[str, str]],
) -> list[Statement]:
    """The outbox rows for ``events`` as statements to run later (a synchronisation's page write)."""
    rows = _rows(objects, conn, register, schema, events)
    if not rows:
        return []
    WAKE.set()  # the page commits in a moment; a deliverer polling finds it then at the latest
    columns = ("synchronization_id", "object_id", "action")
    shared = {k: v for k, v in rows[0].items() if k not in columns}
    return insert_statements(
        conn.dialect.name, "outbox", columns, [tuple(r[c] for c in columns) for r in rows], shared=shared
    )


def _rows(
    objects: Any,
    conn: Connection,
    register: dict[str, Any],
    schema: dict[str, Any],
    events: Iterable[tuple[str, str]],
) -> list[dict[str, Any]]:
    if register.get("slug") == "openconnector" and schema.get("slug") == "synchronization":
        forget()
        return []
    subscribers = _targets(objects, conn).get((register["id"], schema["id"]))
    if not subscribers:
        return []
    now, stamp = time.time(), now_iso()
    return [
        {
            "synchronization_id": sync_uuid,
            "object_id": object_id,
            "action": action,
            "status": PENDING,
            "attempts": 0,
            "next_attempt": now,
            "created": stamp,
            "updated": stamp,
        }
        for object_id, action in events
        for sync_uuid, wanted in subscribers
        if action in wanted
    ]


def any_subscribers(objects: Any, conn: Connection) -> bool:
    """Whether any schema has push synchronisations (a delete by uuid only looks its objects up then)."""
    return bool(_targets(objects, conn))


def _wake_on_commit(conn: Connection) -> None:
    engine = conn.engine
    if id(engine) not in _listening:
        _listening.add(id(engine))
        event.listen(engine, "commit", lambda c: WAKE.set() if c.info.pop("outbox", None) else None)
    conn.info["outbox"] = True


# -- reading and retrying --------------------------------------------------------------------


def to_wire(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "synchronizationId": row.synchronization_id,
        "objectId": row.object_id,
        "action": row.action,
        "status": row.status,
        "attempts": row.attempts,
        "nextAttempt": row.next_attempt,
        "lastError": row.last_error,
        "created": row.created,
        "updated": row.updated,
    }


def list_events(
    context: Context, status: str | None = None, limit: int = 100, offset: int = 0
) -> dict[str, Any]:
    """Events not yet delivered (``status``: pending or failed), oldest first."""
    where = [t.outbox.c.status == status] if status else []
    with context.db.connect() as conn:
        rows = conn.execute(
            select(t.outbox).where(*where).order_by(t.outbox.c.id).limit(limit).offset(offset)
        ).all()
        total = conn.execute(select(func.count()).select_from(t.outbox).where(*where)).scalar_one()
    return {"results": [to_wire(r) for r in rows], "total": total}


def retry(context: Context, event_id: int | str | None = None) -> int:
    """Make failed events (one, or all) pending again, due now; returns how many.

    ``event_id`` goes through ``row_id``: an id that cannot be a row's (past 2^63, negative,
    not digits) is "not found" like any unknown one, never a driver overflow (a 500)."""
    where = [t.outbox.c.status == FAILED]
    if event_id is not None:
        number = row_id(event_id)
        found = None
        if number is not None:
            with context.db.connect() as conn:
                found = conn.execute(select(t.outbox.c.status).where(t.outbox.c.id == number)).first()
        if found is None:
            raise NotFound(f"Outbox event {event_id} not found (delivered events are removed)", id=event_id)
        where = [t.outbox.c.id == number]
    with context.db.begin() as conn:
        count = conn.execute(
            update(t.outbox)
            .where(*where)
            .values(
                status=PENDING, attempts=0, next_attempt=time.time(), claimed_until=None, updated=now_iso()
            )
        ).rowcount
    WAKE.set()
    return count


# -- delivering -----------------------------------------------------------------------------


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
        self.delivered = 0

    def start(self) -> OutboxDeliverer:
        self._thread = threading.Thread(target=self._loop, name="outbox", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        WAKE.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        from .. import shutdown

        while not self.stopping.is_set() and not shutdown.requested():
            try:
                if self.deliver_due():
                    continue  # there may be more
            except Exception:  # the database may be briefly away: keep going
                log.exception("outbox delivery failed")
            WAKE.wait(self.poll)
            WAKE.clear()

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

    def deliver_due(self) -> int:
        """One pass over the due events; returns how many were handled (sent, skipped or parked)."""
        from .push import Pusher
        from .sync import SynchronizationService

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
            return 0
        service = SynchronizationService(self.context)
        pusher = Pusher(service)
        plans: dict[str, Any] = {}
        for row in rows:  # plans first, so the threads below share them
            if row.synchronization_id not in plans:
                plans[row.synchronization_id] = self._plan(row.synchronization_id, pusher, service)

        def one(row: Any) -> int:
            if self.stopping.is_set() or not self._claim(row):
                return 0
            self._deliver(row, pusher, service, plans)
            return 1

        # A pass holds at most one event per object (``due``), so its events may go out at once.
        if self.workers == 1 or len(rows) == 1:
            return sum(one(row) for row in rows)
        with ThreadPoolExecutor(
            max_workers=min(self.workers, len(rows)), thread_name_prefix="outbox"
        ) as pool:
            return sum(pool.map(one, rows))

    def _plan(self, sync_id: str, pusher: Any, service: Any) -> Any:
        """The synchronisation's push plan; None when it was removed or no longer pushes;
        the error when it cannot be planned (its events are parked with that reason)."""
        try:
            sync = service.entities.get(sync_id)
        except NotFound:
            return None
        if not is_push(sync):
            return None
        try:
            return pusher.plan(sync)
        except OpenConnectorError as exc:
            return exc

    def _claim(self, row: Any) -> bool:
        now = time.time()
        o = t.outbox.c
        with self.context.db.begin() as conn:
            return (
                conn.execute(
                    update(t.outbox)
                    .where(
                        o.id == row.id,
                        o.status == PENDING,
                        (o.claimed_until.is_(None)) | (o.claimed_until < now),
                    )
                    .values(claimed_until=now + self.lease)
                ).rowcount
                == 1
            )

    def _deliver(self, row: Any, pusher: Any, service: Any, plans: dict[str, Any]) -> None:
        plan = plans.get(row.synchronization_id)
        if plan is None:
            self._done(row)  # the synchronisation was removed or no longer pushes: nothing to deliver
            return
        if isinstance(plan, OpenConnectorError):
            self._failed(row, plan.message, retryable=False)
            return
        try:
            obj = None
            if row.action != "delete":
                try:
                    obj = service.objects.find(row.object_id)
                except NotFound:
                    self._done(row)  # deleted since: its delete event follows
                    return
            pusher.send(plan, row.object_id, obj)
        except PushFailed as exc:
            self._failed(row, exc.message, exc.retryable)
            return
        except (MappingError, OpenConnectorError) as exc:
            self._failed(row, exc.message, retryable=False)
            return
        except Exception as exc:  # a bug: park the event rather than retry it for ever
            log.exception("outbox event %s could not be delivered", row.id)
            self._failed(row, f"Unexpected error: {type(exc).__name__}: {exc}", retryable=False)
            return
        self._done(row)

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


__all__ = ["EVENTS", "OutboxDeliverer", "list_events", "record", "retry"]
