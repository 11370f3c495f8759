"""Logs: calls to sources, synchronisation runs and jobs, with filters and paging; the
outbox of push synchronisations and queued notifications (pending or parked as failed,
with a retry button); and the notification subscriptions (synchronisations per kanaal)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..connector.entities import EntityService
from ..errors import NotFound, OpenConnectorError
from .pages import context_of, page_router
from .templating import render

router = page_router()

KINDS = (
    ("calls", "Calls"),
    ("runs", "Runs"),
    ("jobs", "Jobs"),
    ("outbox", "Outbox"),
    ("notifications", "Notifications"),
)
#: Filters each kind accepts, as the log service names them.
FILTERS = {
    "calls": ("source_id", "status_code", "date_from", "date_to"),
    "runs": ("synchronization_id", "status", "date_from", "date_to"),
    "jobs": ("job_id", "level", "date_from", "date_to"),
    "outbox": ("status",),
    "notifications": (),
}
PAGE_SIZE = 25


def _names(context: Any, kind: str, key: str) -> list[tuple[str, str]]:
    return [(str(e[key]), str(e.get("name") or e[key])) for e in EntityService(kind, context).list()]


def _load(request: Request, kind: str, filters: dict[str, str], page: int) -> dict[str, Any]:
    from ..connector.logs import LogService

    if kind == "notifications":
        from ..connector.notifications import NotificationService

        found = NotificationService(context_of(request)).subscriptions()
        return {"results": found, "total": len(found), "page": 1, "pages": 1}
    if kind == "outbox":
        from ..connector import outbox

        status = filters.get("status") if filters.get("status") in (outbox.PENDING, outbox.FAILED) else None
        found = outbox.list_events(context_of(request), status, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        return {**found, "page": page, "pages": max(1, -(-found["total"] // PAGE_SIZE))}
    params = [(k, v) for k, v in filters.items() if v] + [("_page", str(page)), ("_limit", str(PAGE_SIZE))]
    if kind == "jobs":
        from ..jobs.service import JobService

        return JobService(context_of(request)).logs(params)
    service = LogService(context_of(request))
    return service.call_logs(params) if kind == "calls" else service.sync_logs(params)


@router.get("/logs")
async def logs(request: Request, kind: str = "calls", _page: int = 1) -> Response:
    kind = kind if kind in FILTERS else "calls"
    filters = {name: request.query_params.get(name, "").strip() for name in FILTERS[kind]}
    context = context_of(request)
    error = None
    try:
        found = await run_in_threadpool(_load, request, kind, filters, max(1, _page))
    except ImportError:
        found, error = (
            {"results": [], "page": 1, "pages": 1, "total": 0},
            "Logs are not available in this version.",
        )
    except OpenConnectorError as exc:
        found, error = {"results": [], "page": 1, "pages": 1, "total": 0}, exc.message
    sources = await run_in_threadpool(_names, context, "source", "id")
    syncs = await run_in_threadpool(_names, context, "synchronization", "uuid")
    jobs = await run_in_threadpool(_names, context, "job", "uuid")
    base = "/logs?" + urlencode({"kind": kind, **{k: v for k, v in filters.items() if v}})
    return render(
        request,
        "logs.html",
        section="logs",
        title="Logs",
        kind=kind,
        kinds=KINDS,
        filters=filters,
        found=found,
        error=error,
        base=base,
        sources=sources,
        syncs=syncs,
        jobs=jobs,
        source_names=dict(sources),
        sync_names=dict(syncs),
        job_names=dict(jobs),
    )


def _run_page(request: Request, ref: str) -> dict[str, Any]:
    from ..connector.logs import LogService

    context = context_of(request)
    log = LogService(context).sync_log(ref)
    try:
        sync = EntityService("synchronization", context).get(log["synchronizationId"])
    except NotFound:
        sync = None
    return {"log": log, "sync": sync}


@router.get("/logs/runs/{ref}")
async def run_log(request: Request, ref: str) -> Response:
    """One run as stored: counts, timing, stop reason and invalid records, while the log is kept."""
    data = await run_in_threadpool(_run_page, request, ref)
    name = (data["sync"] or {}).get("name") or data["log"]["synchronizationId"]
    return render(request, "run.html", section="logs", title=f"Run of {name}", name=name, **data)


@router.post("/logs/outbox/{event_id}/retry")
async def retry_event(request: Request, event_id: str) -> Response:
    """A failed outbox event pending again (the deliverer sends it at once)."""
    from ..connector import outbox

    await run_in_threadpool(outbox.retry, context_of(request), event_id)
    return RedirectResponse("/logs?kind=outbox", status_code=303)
