"""The dashboard's counts and charts (``GET /api/dashboard``, ``/callstats``, ``/syncstats``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from ..clock import iso, utcnow
from ..context import Context, get_context
from ..store import tables as t
from .entities import EntityService


class DashboardService:
    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.db = self.context.db

    def counts(self) -> dict[str, int]:
        out = {
            f"{kind}s": EntityService(kind, self.context).count()
            for kind in ("source", "mapping", "synchronization", "job", "endpoint")
        }
        with self.db.connect() as conn:
            out["synchronizationContracts"] = conn.execute(
                select(func.count()).select_from(t.contracts)
            ).scalar_one()
        order = ("sources", "mappings", "synchronizations", "synchronizationContracts", "jobs", "endpoints")
        return {k: out[k] for k in order}

    def _days(self, days: int) -> list[str]:
        today = utcnow().date()
        return [(today - timedelta(days=n)).isoformat() for n in range(days - 1, -1, -1)]

    def callstats(self, days: int = 7) -> dict[str, Any]:
        """Calls per day, success (2xx) and error, zero-filled."""
        daily = {d: {"success": 0, "error": 0} for d in self._days(days)}
        since = iso(utcnow() - timedelta(days=days))
        day = func.substr(t.call_logs.c.created, 1, 10)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(day.label("d"), t.call_logs.c.status_code, func.count().label("n"))
                .where(t.call_logs.c.created >= since)
                .group_by(day, t.call_logs.c.status_code)
            ).all()
        for row in rows:
            if row.d in daily:
                kind = "success" if row.status_code and 200 <= row.status_code < 300 else "error"
                daily[row.d][kind] += row.n
        return {"daily": daily}

    def syncstats(self, days: int = 7) -> dict[str, Any]:
        """Objects created, updated and skipped per day by non-test runs."""
        daily = {d: {"created": 0, "updated": 0, "skipped": 0, "runs": 0} for d in self._days(days)}
        since = iso(utcnow() - timedelta(days=days))
        with self.db.connect() as conn:
            rows = conn.execute(
                select(t.synchronization_logs.c.created, t.synchronization_logs.c.result).where(
                    t.synchronization_logs.c.created >= since, t.synchronization_logs.c.test.is_(False)
                )
            ).all()
        for row in rows:
            bucket = daily.get(row.created[:10])
            if bucket is None:
                continue
            objects = (row.result or {}).get("objects") or {}
            bucket["runs"] += 1
            for key in ("created", "updated", "skipped"):
                bucket[key] += int(objects.get(key) or 0)
        return {"daily": daily}
