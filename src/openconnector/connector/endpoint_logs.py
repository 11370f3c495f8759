"""One log row per request served through an endpoint: endpoint, consumer, status, duration.

Writing a row inside every request would put a write (and, on SQLite, the single
writer's lock) on the path of every read an endpoint serves. Rows are queued and a
background thread writes them in batches, at the latest a second later;
``flush()`` writes what is queued now (the log list calls it, so a client that just
made a request sees it listed).

Rows older than ``OPENCONNECTOR_ENDPOINT_LOG_DAYS`` (30 by default) are deleted by the
writer, at most once an hour, so a busy public endpoint cannot fill the disk.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from datetime import timedelta
from math import ceil
from typing import Any

from sqlalchemy import delete, func, insert, select

from ..clock import iso, now_iso, utcnow
from ..context import Context
from ..errors import BadRequest
from ..store import tables as t
from ..store.ids import new_uuid

FLUSH_SECONDS = 1.0
PURGE_SECONDS = 3600.0
_writers: weakref.WeakKeyDictionary[Context, EndpointLogWriter] = weakref.WeakKeyDictionary()
_writers_lock = threading.Lock()


class EndpointLogWriter:
    def __init__(self, context: Context) -> None:
        self.db = context.db
        self._pending: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._purged = 0.0

    @classmethod
    def of(cls, context: Context) -> EndpointLogWriter:
        with _writers_lock:
            writer = _writers.get(context)
            if writer is None:
                writer = _writers[context] = cls(context)
            return writer

    def add(
        self,
        *,
        endpoint: dict[str, Any] | None,
        consumer: str | None,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        message: str | None = None,
    ) -> None:
        row = {
            "uuid": new_uuid(),
            "endpoint_id": (endpoint or {}).get("uuid"),
            "endpoint_name": (endpoint or {}).get("name"),
            "consumer": consumer,
            "method": method[:10],
            "path": path[:2000],
            "status_code": status,
            "duration": round(duration_ms, 3),
            "message": (message or None) and str(message)[:1000],
            "created": now_iso(),
        }
        with self._lock:
            self._pending.append(row)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="endpoint-logs", daemon=True)
                self._thread.start()

    def flush(self) -> None:
        with self._lock:
            rows, self._pending = self._pending, []
        if rows:
            with self.db.begin() as conn:
                conn.execute(insert(t.endpoint_logs), rows)
            if time.monotonic() - self._purged > PURGE_SECONDS:
                self._purged = time.monotonic()
                purge_logs(self.db, iso(utcnow() - timedelta(days=retention_days())))

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            try:
                self.flush()
            except Exception:  # the database went away (shutdown): drop this batch, keep serving
                import logging

                logging.getLogger("openconnector.endpoints").warning("endpoint log batch not written")
            with self._lock:
                if not self._pending:
                    self._thread = None
                    return


def _row(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "uuid": row.uuid,
        "endpointId": row.endpoint_id,
        "endpoint": row.endpoint_name,
        "consumer": row.consumer,
        "method": row.method,
        "path": row.path,
        "statusCode": row.status_code,
        "duration": row.duration,
        "message": row.message,
        "created": row.created,
    }


def list_logs(context: Context, params: list[tuple[str, str]]) -> dict[str, Any]:
    """``GET /api/endpoints/logs``: newest first, ``_page``/``_limit``, filters ``endpoint``
    (id or uuid), ``consumer``, ``method``, ``status_code`` (one code or ``min,max``),
    ``date_from``/``date_to``; the envelope of the other log lists."""
    EndpointLogWriter.of(context).flush()
    values = dict(params)
    try:
        limit = max(1, min(int(values.get("_limit") or 20), 1000))
        page = max(1, int(values.get("_page") or 1))
    except ValueError:
        raise BadRequest("_limit and _page must be integers") from None
    where = []
    if values.get("endpoint"):
        ref = values["endpoint"]
        if ref.isdigit():
            from .entities import EntityService

            ref = EntityService("endpoint", context).get(ref)["uuid"]
        where.append(t.endpoint_logs.c.endpoint_id == ref)
    if values.get("consumer"):
        where.append(t.endpoint_logs.c.consumer == values["consumer"])
    if values.get("method"):
        where.append(t.endpoint_logs.c.method == values["method"].upper())
    if values.get("status_code"):
        low, _, high = values["status_code"].partition(",")
        try:
            where.append(t.endpoint_logs.c.status_code >= int(low))
            where.append(t.endpoint_logs.c.status_code <= int(high or low))
        except ValueError:
            raise BadRequest("status_code must be a code or 'min,max'", parameter="status_code") from None
    if values.get("date_from"):
        where.append(t.endpoint_logs.c.created >= values["date_from"])
    if values.get("date_to"):
        where.append(t.endpoint_logs.c.created <= values["date_to"])
    with context.db.connect() as conn:
        total = conn.execute(select(func.count()).select_from(t.endpoint_logs).where(*where)).scalar_one()
        rows = conn.execute(
            select(t.endpoint_logs)
            .where(*where)
            .order_by(t.endpoint_logs.c.id.desc())
            .limit(limit)
            .offset((page - 1) * limit)
        ).all()
    return {
        "results": [_row(r) for r in rows],
        "page": page,
        "pages": max(1, ceil(total / limit)),
        "results_count": len(rows),
        "total": total,
    }


def retention_days() -> float:
    try:
        return float(os.environ.get("OPENCONNECTOR_ENDPOINT_LOG_DAYS") or 30)
    except ValueError:
        return 30.0


def purge_logs(db: Any, before: str) -> int:
    """Delete endpoint log rows created before ``before`` (canonical UTC text)."""
    with db.begin() as conn:
        return conn.execute(delete(t.endpoint_logs).where(t.endpoint_logs.c.created < before)).rowcount
