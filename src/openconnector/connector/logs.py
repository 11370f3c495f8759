"""Call logs and run logs: written by the connector, read by the API and the UI.

Logs live in their own narrow tables (not as register objects) because every
call and every run adds one. Reading them uses the original's log envelope
``{results, page, pages, results_count, total}`` and filters.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from math import ceil
from typing import Any

import orjson
from sqlalchemy import Table, and_, delete, func, insert, or_, select

from ..clock import iso, now_iso, utcnow
from ..context import Context, get_context
from ..errors import BadRequest, NotFound
from ..register.dates import parse_datetime
from ..store import tables as t
from ..store.ids import new_uuid, row_id

#: How long logs are kept (the original's defaults): successes 1 h for calls, errors 30 days.
CALL_LOG_RETENTION = timedelta(days=30)
SUCCESS_CALL_LOG_RETENTION = timedelta(days=7)
SYNC_LOG_RETENTION = timedelta(days=30)


class CallLogWriter:
    """The ``log_sink`` of the CallService: one row per call (bodies only for errors).

    A synchronisation holds its call logs (:meth:`hold`): a page fetched in the
    background then never waits for the database (on SQLite, for the page being
    written), and the run's writer thread stores them between pages (:meth:`flush`).
    A run whose pages are all skipped writes nothing, so past ``MAX_HELD`` held logs
    the thread that logs the next call stores them: memory stays flat.
    """

    MAX_HELD = 100

    def __init__(self, context: Context) -> None:
        self.db = context.db
        self._held: list[dict[str, Any]] = []
        self._holders = 0
        self._lock = threading.Lock()

    def __call__(self, log: dict[str, Any]) -> None:
        row = self._row(log)
        with self._lock:
            self._held.append(row)
            if self._holders and len(self._held) <= self.MAX_HELD:
                return
        self.flush()

    def flush(self) -> None:
        """Store the call logs held so far."""
        with self._lock:
            rows, self._held = self._held, []
        if rows:
            with self.db.begin() as conn:
                conn.execute(insert(t.call_logs), rows)

    @contextmanager
    def hold(self) -> Iterator[CallLogWriter]:
        """Keep call logs in memory until :meth:`flush`; what is left is stored when the
        last holder is done."""
        with self._lock:
            self._holders += 1
        try:
            yield self
        finally:
            with self._lock:
                self._holders -= 1
                last = not self._holders
            if last:
                self.flush()

    def _row(self, log: dict[str, Any]) -> dict[str, Any]:
        status = log.get("statusCode")
        request = log.get("request") or {}
        response = log.get("response") or {}
        keep = CALL_LOG_RETENTION if (status or 0) >= 400 or not status else SUCCESS_CALL_LOG_RETENTION
        return {
            "uuid": log.get("uuid") or new_uuid(),
            "source_id": str(log.get("sourceId")) if log.get("sourceId") is not None else None,
            "synchronization_id": log.get("synchronizationId"),
            "status_code": status,
            "status_message": (log.get("statusMessage") or "")[:255],
            "method": request.get("method"),
            "url": request.get("url"),
            "response_time": response.get("responseTime"),
            "size": response.get("size"),
            "request": request,
            "response": response,
            "created": log.get("created") or now_iso(),
            "expires": iso(utcnow() + keep),
        }


def call_log_to_wire(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "uuid": row.uuid,
        "statusCode": row.status_code,
        "statusMessage": row.status_message,
        "request": row.request,
        "response": row.response,
        "sourceId": row.source_id,
        "synchronizationId": row.synchronization_id,
        "created": row.created,
        "expires": row.expires,
    }


def sync_log_to_wire(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "uuid": row.uuid,
        "synchronizationId": row.synchronization_id,
        "message": row.message,
        "status": row.status,
        "test": row.test,
        "force": row.force,
        "result": row.result,
        "executionTime": row.execution_time,
        "userId": row.user_id,
        "created": row.created,
        "updated": row.updated,
        "expires": row.expires,
    }


def job_log_to_wire(row: Any) -> dict[str, Any]:
    """A JobLog in the original's shape (``jobListId``/``sessionId`` have no meaning here)."""
    data = dict(row._mapping) if hasattr(row, "_mapping") else dict(row)
    out = {
        "id": data["id"],
        "uuid": data["uuid"],
        "level": data["level"],
        "message": data["message"],
        "jobId": data["job_id"],
        "jobListId": None,
        "jobClass": data["job_class"],
        "arguments": data["arguments"] or {},
        "executionTime": data["execution_time"],
        "userId": data["user_id"],
        "sessionId": None,
        "stackTrace": data["stack_trace"] or [],
        "expires": data["expires"],
        "lastRun": data["last_run"],
        "nextRun": data["next_run"],
        "created": data["created"],
    }
    out["size"] = len(orjson.dumps(out))
    return out


_FILTERS: dict[str, dict[str, str]] = {
    "call_logs": {
        "source_id": "source_id",
        "sourceId": "source_id",
        "synchronization_id": "synchronization_id",
        "method": "method",
    },
    "synchronization_logs": {
        "synchronization_id": "synchronization_id",
        "synchronizationId": "synchronization_id",
        "status": "status",
        "test": "test",
    },
    "job_logs": {"job_id": "job_id", "jobId": "job_id", "level": "level"},
}


#: Seconds between two purges of expired call, run and job logs by the scheduler and the
#: enqueuer (the original's LogCleanUpTask); the first purge happens when they start.
LOG_PURGE_EVERY = 600.0


class LogService:
    """Lists of call, run and job logs with the original's filters."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.db = self.context.db

    def call_logs(self, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return self._list(t.call_logs, params or [], call_log_to_wire)

    def sync_logs(self, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return self._list(t.synchronization_logs, params or [], sync_log_to_wire)

    def job_logs(self, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        return self._list(t.job_logs, params or [], job_log_to_wire)

    def sync_log(self, ref: str) -> dict[str, Any]:
        number = row_id(ref)
        column = t.synchronization_logs.c.id if number is not None else t.synchronization_logs.c.uuid
        value: Any = number if number is not None else str(ref)
        with self.db.connect() as conn:
            row = conn.execute(select(t.synchronization_logs).where(column == value)).first()
        if row is None:
            raise NotFound("Log not found", id=str(ref))
        return sync_log_to_wire(row)

    def delete_sync_log(self, ref: str) -> None:
        log = self.sync_log(ref)
        with self.db.begin() as conn:
            conn.execute(delete(t.synchronization_logs).where(t.synchronization_logs.c.id == log["id"]))

    def purge_expired(self) -> int:
        """Delete logs whose ``expires`` has passed (the original's LogCleanUpTask)."""
        now = now_iso()
        removed = 0
        with self.db.begin() as conn:
            for table in (t.call_logs, t.synchronization_logs, t.job_logs):
                removed += conn.execute(
                    delete(table).where(table.c.expires.isnot(None), table.c.expires < now)
                ).rowcount
        return removed

    def _list(self, table: Table, params: list[tuple[str, str]], shape: Any) -> dict[str, Any]:
        page, limit = 1, 20
        clauses = []
        order = table.c.id.desc()
        allowed = _FILTERS[table.name]
        for name, value in params:
            if name == "_page":
                page = _positive("_page", value)
            elif name == "_limit":
                limit = min(_positive("_limit", value), 500)
            elif name in ("date_from", "date_to"):
                moment = parse_datetime(value, self.context.settings.timezone)
                if moment is None:
                    raise BadRequest(f"{name} must be a date or date-time, got {value!r}", parameter=name)
                if name == "date_from":
                    clauses.append(table.c.created >= iso(moment))
                elif len(value.strip()) == 10:  # a bare date_to includes that whole day
                    clauses.append(table.c.created < iso(moment + timedelta(days=1)))
                else:
                    clauses.append(table.c.created <= iso(moment))
            elif name in ("status_code", "statusCode") and "status_code" in table.c:
                clauses.append(status_code_clause(table.c.status_code, value, name))
            elif name.startswith("_sort[") or name.startswith("_order["):
                field = name[name.index("[") + 1 : -1]
                column = {"created": table.c.created, "status_code": table.c.get("status_code")}.get(field)
                if column is None:
                    raise BadRequest(f"Cannot sort on {field!r}", parameter=name)
                order = column.asc() if value.lower() == "asc" else column.desc()
            elif name in allowed:
                column = table.c[allowed[name]]
                if name == "test":
                    clauses.append(column == (value.lower() in ("1", "true", "yes")))
                elif name == "level":
                    clauses.append(column.in_([v.strip().upper() for v in value.split(",") if v.strip()]))
                elif name == "status":
                    clauses.append(column.in_([v.strip().lower() for v in value.split(",") if v.strip()]))
                else:
                    clauses.append(column == value)
            elif name.startswith("_"):
                continue
            else:
                raise BadRequest(
                    f"Unknown filter {name!r}; use one of {sorted(allowed)} or date_from, date_to",
                    parameter=name,
                )
        where = and_(*clauses) if clauses else None
        with self.db.connect() as conn:
            count_q = select(func.count()).select_from(table)
            rows_q = select(table).order_by(order).limit(limit).offset((page - 1) * limit)
            if where is not None:
                count_q = count_q.where(where)
                rows_q = rows_q.where(where)
            total = conn.execute(count_q).scalar_one()
            rows = conn.execute(rows_q).all()
        results = [shape(r) for r in rows]
        return {
            "results": results,
            "page": page,
            "pages": max(1, ceil(total / limit)),
            "results_count": len(results),
            "total": total,
        }


def status_code_clause(column: Any, value: str, name: str = "status_code") -> Any:
    """A status code filter: ``404``, ``400,599`` (a range, the original's form), ``500-599``,
    ``4xx``, or a list of those (``401,403,404``, ``4xx,503``)."""
    items = [item.strip().lower() for item in str(value).split(",") if item.strip()]

    def code(text: str) -> bool:  # ASCII digits, at most three: isdigit() also admits "²", int() then fails
        return 0 < len(text) <= 3 and text.isascii() and text.isdigit()

    if len(items) == 2 and all(code(item) for item in items):
        items = [f"{items[0]}-{items[1]}"]
    ranges: list[tuple[int, int]] = []
    for item in items:
        low, sep, high = item.partition("-")
        if item.endswith("xx") and code(item[:-2]) and len(item) == 3:
            ranges.append((int(item[0]) * 100, int(item[0]) * 100 + 99))
        elif code(low) and (not sep or code(high)):
            ranges.append((int(low), int(high or low)))
        else:
            raise BadRequest(
                f"{name} must be codes, ranges or classes like 404, 400,599, 500-599, 4xx "
                f"or 401,403,404; got {value!r}",
                parameter=name,
            )
    if not ranges:
        raise BadRequest(f"{name} is empty", parameter=name)
    return or_(*(column.between(low, high) for low, high in ranges))


def _positive(name: str, value: str) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise BadRequest(f"{name} must be a positive integer, got {value!r}", parameter=name)
    number = int(text)
    if number < 1:
        raise BadRequest(f"{name} must be at least 1", parameter=name)
    # A page past 10^9 is as empty as any page past the last; unclamped it would overflow OFFSET.
    return min(number, 10**9)
