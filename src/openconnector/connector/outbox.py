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

The same table queues incoming notifications (``action: notify``, the notification
as ``payload``, one row per subscribed synchronisation; ``connector/notifications.py``):
written before the notification is answered, they survive a stop or crash like events.
Delivery is in ``connector/delivery.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select, update

from ..clock import now_iso
from ..context import Context
from ..errors import NotFound, OpenConnectorError
from ..store import tables as t
from ..store.db import AFTER_COMMIT
from ..store.ids import row_id
from ..store.statements import Statement, insert_statements
from .push import EVENTS, is_push, trigger_events

log = logging.getLogger("openconnector.outbox")

PENDING, FAILED = "pending", "failed"
#: The action of a queued notification (the others are the object events of ``EVENTS``).
NOTIFY = "notify"
#: PostgreSQL channel notified in every transaction that writes rows: deliverers in other
#: processes wake at its commit (``LISTEN``) instead of at their next poll.
CHANNEL = "openconnector_outbox"
_NOTIFY_SQL = f"SELECT pg_notify('{CHANNEL}', '')"
#: How long the list of push synchronisations per schema is trusted (other processes may change it).
CACHE_SECONDS = 2.0
_cache: dict[int, tuple[float, dict[tuple[int, int], list[tuple[str, set[str]]]]]] = {}
_cache_lock = threading.Lock()
#: Set when a transaction holding events commits: the deliverers of this process look at once.
WAKE = threading.Event()
#: Deliverers running in this process: while there is one, it is woken by the commit hook
#: and delivers what this process writes, so other processes need no NOTIFY.
RUNNING: set[int] = set()


def _notify_others(conn: Connection) -> bool:
    return conn.dialect.name != "sqlite" and not RUNNING


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
        _insert(conn, rows)
    return len(rows)


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write outbox rows in ``conn``'s transaction; deliverers wake when it commits."""
    if "payload" in rows[0]:  # queued notifications: few, and their JSON needs the column's type
        conn.execute(t.outbox.insert(), rows)
        if _notify_others(conn):
            conn.exec_driver_sql(_NOTIFY_SQL)
        _wake_on_commit(conn)
        return
    values = [tuple(r[c] for c in _COLUMNS) for r in rows]
    if not _notify_others(conn):
        # straight to the driver: compiling a Core insert per save cost a third of a small write
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(
            f"INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES ({', '.join([mark] * len(_COLUMNS))})",
            values if len(values) > 1 else values[0],
        )
    else:
        # PostgreSQL, no deliverer here: the rows and a NOTIFY for the deliverers of other
        # processes (workers) in one round trip; the notification is sent at commit
        marks = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        for start in range(0, len(values), 1000):
            chunk = values[start : start + 1000]
            conn.exec_driver_sql(
                f"WITH added AS (INSERT INTO outbox ({', '.join(_COLUMNS)}) VALUES "
                f"{', '.join([marks] * len(chunk))} RETURNING 1) {_NOTIFY_SQL}",
                tuple(v for row in chunk for v in row),
            )
    _wake_on_commit(conn)


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
    written = insert_statements(
        conn.dialect.name, "outbox", columns, [tuple(r[c] for c in columns) for r in rows], shared=shared
    )
    if _notify_others(conn):
        written.append(Statement(_NOTIFY_SQL, ()))
    return written


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


def queue(conn: Connection, items: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Queue notifications: (synchronisation uuid, record key, notification), in ``conn``'s
    transaction. The record key (at most 36 characters) keeps them in order per record."""
    now, stamp = time.time(), now_iso()
    rows = [
        {
            "synchronization_id": sync_id,
            "object_id": key,
            "action": NOTIFY,
            "status": PENDING,
            "attempts": 0,
            "next_attempt": now,
            "created": stamp,
            "updated": stamp,
            "payload": payload,
        }
        for sync_id, key, payload in items
    ]
    if rows:
        _insert(conn, rows)
    return len(rows)


def any_subscribers(objects: Any, conn: Connection) -> bool:
    """Whether any schema has push synchronisations (a delete by uuid only looks its objects up then)."""
    return bool(_targets(objects, conn))


def _wake_on_commit(conn: Connection) -> None:
    """The deliverers of this process look as soon as ``conn``'s transaction committed
    (``Database.begin`` runs the callbacks; a transaction not begun there is found at the
    next poll)."""
    callbacks = conn.info.setdefault(AFTER_COMMIT, [])
    if WAKE.set not in callbacks:
        callbacks.append(WAKE.set)


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
        "payload": row.payload if row.action == NOTIFY else None,
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


# the deliverer lives in its own module; ``outbox.OutboxDeliverer`` stays the short name
from .delivery import OutboxDeliverer  # noqa: E402

__all__ = ["EVENTS", "NOTIFY", "OutboxDeliverer", "list_events", "queue", "record", "retry"]
