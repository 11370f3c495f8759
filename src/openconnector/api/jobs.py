"""Job routes (run, test, logs), one-call scheduling of a synchronisation, and the embedded scheduler.

Mounted under ``/index.php/apps/openconnector`` and ``/apps/openconnector`` before
the generic ``/api/jobs/{id}`` CRUD, so ``/api/jobs/logs`` is not read as a job id.
``install(app)`` starts the scheduler with the application when
``settings.scheduler`` is true (``serve``; ``serve --no-scheduler`` leaves runs to workers).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from ..errors import NotFound, OpenConnectorError
from ..jobs.scheduler import Scheduler
from ..jobs.service import JobService
from . import bodies
from .deps import LOG_QUERY, context_of, json_object, query_docs, query_pairs, require_user
from .responses import FastJSONResponse as ORJSONResponse

router = APIRouter(dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)


def _service(request: Request) -> JobService:
    return JobService(context_of(request))


def _wake(request: Request) -> None:
    scheduler: Scheduler | None = getattr(request.app.state, "scheduler", None)
    if scheduler is not None:
        scheduler.wake()


async def _run(request: Request, ref: str, force: bool) -> Any:
    service = _service(request)
    user = getattr(request.state, "user", None)
    try:
        job = await run_in_threadpool(service.get, ref)
    except NotFound:
        return ORJSONResponse({"error": "Job not found"}, status_code=404)
    try:
        entry = await run_in_threadpool(
            lambda: service.run(job["uuid"], force=force, on_conflict="raise", user=user)
        )
    except OpenConnectorError:
        raise  # 409 when the job or its synchronisation is running, 404 for a vanished job
    except Exception as exc:
        return ORJSONResponse({"error": f"Failed to execute job: {exc}"}, status_code=500)
    _wake(request)
    return ORJSONResponse(entry)


@router.get(
    "/api/jobs/logs",
    openapi_extra=query_docs(
        **LOG_QUERY,
        job_id="only logs of this job (id or uuid; also jobId)",
        level="INFO, SUCCESS, WARNING or ERROR; several comma-separated",
    ),
)
async def job_logs(request: Request) -> Any:
    """``_page``, ``_limit``, ``job_id``, ``level``, ``date_from``, ``date_to`` → ``{results, page, pages, results_count, total}``."""
    return await run_in_threadpool(_service(request).logs, query_pairs(request))


@router.post("/api/jobs/run/{ref}")
async def run_job(
    ref: str,
    request: Request,
    force_run: bool = Query(False, alias="forceRun", description="true: run even when the job is not due"),
) -> Any:
    """Run a job: its JobLog, or ``null`` when not forced (``forceRun``) and not due."""
    return await _run(request, ref, force_run)


@router.post("/api/jobs/test/{ref}")
async def test_job(ref: str, request: Request) -> Any:
    """Run a job now, due or not."""
    return await _run(request, ref, True)


@router.post(
    "/api/synchronizations/{ref}/schedule", openapi_extra=bodies.body(bodies.SCHEDULE, required=False)
)
async def schedule_synchronization(ref: str, request: Request) -> Any:
    """``{interval?: seconds, cron?: "*/5 * * * *", isEnabled?: true, force?: false}`` → the sync's job."""
    body = await json_object(request, required=False, schema=bodies.SCHEDULE)
    job = await run_in_threadpool(
        lambda: _service(request).schedule(
            ref,
            interval=body.get("interval"),
            cron=body.get("cron"),
            force=bool(body["force"]) if "force" in body else None,
            enabled=body.get("isEnabled", True) is not False,
        )
    )
    _wake(request)
    return job


def _front(app: FastAPI) -> None:
    """Put these routes before the generic ``/api/{kind}/{id}`` ones, whatever the include order."""
    endpoints = {getattr(r, "endpoint", None) for r in router.routes}
    mine = [r for r in app.router.routes if getattr(r, "endpoint", None) in endpoints]
    rest = [r for r in app.router.routes if getattr(r, "endpoint", None) not in endpoints]
    app.router.routes[:] = mine + rest


def install(app: FastAPI) -> None:
    """Order the routes and run the embedded scheduler for the application's lifetime."""
    _front(app)
    context = app.state.context
    app.state.scheduler = None
    if not getattr(context.settings, "scheduler", False):
        return
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        async with inner(application) as state:
            scheduler = Scheduler(context).start()
            application.state.scheduler = scheduler
            try:
                yield state
            finally:
                application.state.scheduler = None
                await run_in_threadpool(scheduler.stop)

    app.router.lifespan_context = lifespan
