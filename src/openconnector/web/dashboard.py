"""The dashboard: how many of each piece there are, and what the last week did."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..context import Context
from .charts import bar_chart
from .pages import context_of, page_router
from .templating import render

log = logging.getLogger("openconnector.web")
router = page_router()

COUNTS = (
    ("sources", "Sources", "/sources"),
    ("mappings", "Mappings", "/mappings"),
    ("synchronizations", "Synchronisations", "/synchronizations"),
    ("synchronizationContracts", "Contracts", None),
    ("jobs", "Jobs", "/logs?kind=jobs"),
    ("endpoints", "Endpoints", None),
)


def _stats(context: Context) -> dict[str, Any]:
    try:
        from ..connector.dashboard import DashboardService
    except ImportError:
        return {"counts": _fallback_counts(context), "calls": {}, "runs": {}}
    service = DashboardService(context)
    return {
        "counts": service.counts(),
        "calls": service.callstats(days=7).get("daily", {}),
        "runs": service.syncstats(days=7).get("daily", {}),
    }


def _fallback_counts(context: Context) -> dict[str, int | None]:
    """Counts straight from the entity service while the dashboard service is missing."""
    from ..connector.entities import EntityService

    counts: dict[str, int | None] = {"synchronizationContracts": None}
    for kind, key in (
        ("source", "sources"),
        ("mapping", "mappings"),
        ("synchronization", "synchronizations"),
        ("job", "jobs"),
        ("endpoint", "endpoints"),
    ):
        counts[key] = EntityService(kind, context).count()
    return counts


@router.get("/")
async def dashboard(request: Request) -> Response:
    stats = await run_in_threadpool(_stats, context_of(request))
    return render(
        request,
        "dashboard.html",
        section="dashboard",
        title="Dashboard",
        counts=[(label, stats["counts"].get(key), href) for key, label, href in COUNTS],
        calls=bar_chart(stats["calls"], ["success", "error"]),
        runs=bar_chart(stats["runs"], ["created", "updated", "skipped"]),
    )
