"""OpenConnector's REST API: sources, mappings, synchronisations, jobs, endpoints,
rules, consumers, contracts, logs and the dashboard.

Mounted at ``/index.php/apps/openconnector`` and ``/apps/openconnector``; every
route needs login. Explicit routes (``/api/sources/logs``) are declared before the
generic ``/api/{kind}/{id}`` ones so they win, as in the original.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from ..connector.entities import EntityService
from ..errors import BadRequest, OpenConnectorError
from ..store.ids import row_id
from . import bodies
from .bodies import answers, body
from .deps import LOG_QUERY, context_of, flag, json_object, query_docs, query_pairs, require_user
from .responses import FastJSONResponse
from .uploads import refuse_declared_length

router = APIRouter(dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)

#: URL segment → entity kind.
KINDS = {
    "sources": "source",
    "mappings": "mapping",
    "synchronizations": "synchronization",
    "jobs": "job",
    "endpoints": "endpoint",
    "rules": "rule",
    "consumers": "consumer",
}


def _entities(request: Request, kind: str) -> EntityService:
    return EntityService(kind, context_of(request))


def _prepare_job(
    request: Request, body: dict[str, Any], current: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Check a job and fill in ``nextRun`` (a job without one is scheduled from now)."""
    from ..jobs.service import JobService

    return JobService(context_of(request)).prepare(body, current)


# -- explicit routes (before the generic ones) ------------------------------------------


@router.get("/api/dashboard")
async def dashboard(request: Request) -> Any:
    from ..connector.dashboard import DashboardService

    return await run_in_threadpool(DashboardService(context_of(request)).counts)


@router.get("/api/dashboard/callstats")
async def dashboard_callstats(request: Request) -> Any:
    from ..connector.dashboard import DashboardService

    return await run_in_threadpool(DashboardService(context_of(request)).callstats)


@router.get("/api/dashboard/syncstats")
async def dashboard_syncstats(request: Request) -> Any:
    from ..connector.dashboard import DashboardService

    return await run_in_threadpool(DashboardService(context_of(request)).syncstats)


@router.get(
    "/api/sources/logs",
    openapi_extra=query_docs(
        **LOG_QUERY,
        sourceId="only calls of this source (id or uuid; also source_id)",
        synchronization_id="only calls made by this synchronization's runs",
        method="only calls with this HTTP method",
        statusCode="status codes: 404, a range 400-499 or 4xx, or a list 400,500-599 (also status_code)",
        **{"_order[created]": "asc or desc", "_order[status_code]": "asc or desc"},
    ),
)
async def source_logs(request: Request) -> Any:
    from ..connector.logs import LogService

    params = query_pairs(request)
    return await run_in_threadpool(LogService(context_of(request)).call_logs, params)


@router.post(
    "/api/sources/test/{ref}", openapi_extra=body(bodies.SOURCE_TEST, required=False), responses=answers(502)
)
async def test_source(ref: str, request: Request) -> Any:
    from ..connector.sources import SourceService

    body = await json_object(request, required=False, schema=bodies.SOURCE_TEST)
    options = {k: body[k] for k in ("headers", "query", "body", "type") if body.get(k) not in (None, "", {})}
    method = str(body.get("method") or "GET").upper()
    endpoint = str(body.get("endpoint") or "")

    def run() -> dict[str, Any]:
        service = SourceService(context_of(request))
        try:
            return service.test(ref, endpoint, method, **options)
        finally:
            service.calls.close()

    return await run_in_threadpool(run)


@router.post("/api/sources/{ref}/file", openapi_extra=bodies.FILE_UPLOAD, responses=answers(413))
async def upload_source_file(ref: str, request: Request) -> Any:
    """A file as the source's data (``type`` csv, jsonl or xlsx): multipart field ``file``."""
    from ..connector.sources import SourceService

    refuse_declared_length(request, context_of(request).settings.files_max_size)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        raise BadRequest('Send the file as multipart/form-data in the field "file"', parameter="file")

    def run() -> dict[str, Any]:
        return SourceService(context_of(request)).upload(ref, upload.filename or "upload", upload.file)

    try:
        return await run_in_threadpool(run)
    finally:
        await upload.close()


@router.post("/api/mappings/test", openapi_extra=body(bodies.MAPPING_TEST))
async def test_mapping(request: Request) -> Any:
    from ..connector.mappings import MappingTester, in_test_pool

    body = await json_object(request, schema=bodies.MAPPING_TEST)
    missing = [k for k in ("mapping", "inputObject") if k not in body]
    if missing:
        raise BadRequest(f"The body needs {' and '.join(missing)}", fields=missing)
    schema = body.get("schema") if body.get("validation", True) is not False else None

    def run() -> dict[str, Any]:
        return MappingTester(context_of(request)).test(body["mapping"], body["inputObject"], schema)

    return await in_test_pool(run)


@router.get(
    "/api/synchronizations/logs",
    openapi_extra=query_docs(
        **LOG_QUERY,
        synchronizationId="only runs of this synchronization (uuid; also synchronization_id)",
        status="success, warning, error, interrupted or running; several comma-separated",
        test="true: only test runs; false: only real runs",
        **{"_order[created]": "asc or desc"},
    ),
)
async def synchronization_logs(request: Request) -> Any:
    from ..connector.logs import LogService

    params = query_pairs(request)
    return await run_in_threadpool(LogService(context_of(request)).sync_logs, params)


@router.get("/api/synchronizations/logs/{ref}")
async def synchronization_log(ref: str, request: Request) -> Any:
    from ..connector.logs import LogService

    return await run_in_threadpool(LogService(context_of(request)).sync_log, ref)


@router.delete("/api/synchronizations/logs/{ref}")
async def delete_synchronization_log(ref: str, request: Request) -> Any:
    from ..connector.logs import LogService

    await run_in_threadpool(LogService(context_of(request)).delete_sync_log, ref)
    return {"message": "Log deleted successfully"}


@router.get("/api/synchronizations/contracts/{ref}")
async def synchronization_contracts_of(ref: str, request: Request) -> Any:
    from ..connector.contracts import list_contracts

    def run() -> list[dict[str, Any]]:
        sync = _entities(request, "synchronization").get(ref)
        with context_of(request).db.connect() as conn:
            return list_contracts(conn, synchronization_id=sync["uuid"], limit=100_000)[0]

    return await run_in_threadpool(run)


_TEST_DOC = (
    "true: a test run that fetches, maps and validates but writes nothing (the body's ``test`` also works)"
)
_FORCE_DOC = (
    "true: process every record, even those unchanged since the last run (the body's ``force`` also works)"
)


async def _run_sync(ref: str, request: Request, *, test: bool, force: bool) -> Any:
    from ..connector.sync import SynchronizationService

    body = await json_object(request, required=False, schema=bodies.RUN)
    test = test or flag(str(body.get("test", "")))
    force = force or flag(str(body.get("force", "")))
    user = request.state.user

    def run() -> dict[str, Any]:
        service = SynchronizationService(context_of(request))
        try:
            return service.synchronize(ref, test=test, force=force, user=user)
        finally:
            service.calls.close()

    try:
        result = await run_in_threadpool(run)
    except OpenConnectorError as exc:
        if exc.status >= 500 or exc.status == 404:
            raise
        return FastJSONResponse(
            {"error": "Synchronization error", "message": exc.message, **exc.details}, status_code=exc.status
        )
    if result["status"] == "error":
        return FastJSONResponse({"error": "Synchronization error", **result}, status_code=400)
    if result["status"] == "interrupted":  # the service is shutting down: try again when it is back
        return FastJSONResponse(
            {"error": "Synchronization interrupted", **result}, status_code=503, headers={"Retry-After": "10"}
        )
    return result


@router.post(
    "/api/synchronizations/{ref}/run", openapi_extra=body(bodies.RUN, required=False), responses=answers(502)
)
async def run_synchronization(
    request: Request,
    ref: str = PathParam(description="the synchronization's id, uuid or slug"),
    test: bool = Query(False, description=_TEST_DOC),
    force: bool = Query(False, description=_FORCE_DOC),
) -> Any:
    """Run a synchronisation now and answer its result (counts, log id)."""
    return await _run_sync(ref, request, test=test, force=force)


@router.post(
    "/api/synchronizations/{ref}/test", openapi_extra=body(bodies.RUN, required=False), responses=answers(502)
)
async def test_synchronization(
    request: Request,
    ref: str = PathParam(description="the synchronization's id, uuid or slug"),
    force: bool = Query(False, description=_FORCE_DOC),
) -> Any:
    """A test run: what a run would create, update, skip and delete, without writing."""
    return await _run_sync(ref, request, test=True, force=force)


@router.get(
    "/api/synchronization-contracts",
    openapi_extra=query_docs(
        limit="results per page (default 20, at most 1000; also _limit)",
        offset="results to skip (also _offset)",
        synchronizationId="only contracts of this synchronization (id, uuid or slug)",
        originId="only the contract of this source record id",
        targetId="only the contract of this target object uuid",
    ),
)
async def synchronization_contracts(request: Request) -> Any:
    from ..connector.contracts import list_contracts

    params = request.query_params
    try:
        limit = max(1, min(int(params.get("limit") or params.get("_limit") or 20), 1000))
        offset = max(0, int(params.get("offset") or params.get("_offset") or 0))
    except ValueError:
        raise BadRequest("limit and offset must be integers") from None
    sync_ref = params.get("synchronizationId") or params.get("synchronization_id")

    def run() -> dict[str, Any]:
        sync_uuid = _entities(request, "synchronization").get(sync_ref)["uuid"] if sync_ref else None
        with context_of(request).db.connect() as conn:
            results, total = list_contracts(
                conn,
                synchronization_id=sync_uuid,
                origin_id=params.get("originId"),
                target_id=params.get("targetId"),
                limit=limit,
                offset=offset,
            )
        pages = max(1, -(-total // limit))
        return {
            "results": results,
            "pagination": {
                "page": offset // limit + 1,
                "pages": pages,
                "results": len(results),
                "total": total,
            },
        }

    return await run_in_threadpool(run)


@router.get("/api/synchronization-contracts/{ref}")
async def synchronization_contract(ref: str, request: Request) -> Any:
    from sqlalchemy import select

    from ..connector.contracts import contract_to_wire
    from ..store import tables as t

    def run() -> Any:
        number = row_id(ref)
        column = t.contracts.c.id if number is not None else t.contracts.c.uuid
        with context_of(request).db.connect() as conn:
            row = conn.execute(
                select(t.contracts).where(column == (ref if number is None else number))
            ).first()
        if row is None:
            return FastJSONResponse({"error": "Contract not found"}, status_code=404)
        return contract_to_wire(row)

    return await run_in_threadpool(run)


# -- UI sessions (admin) ---------------------------------------------------------------


def _require_admin(request: Request) -> None:
    if not request.app.state.users.is_admin(request.state.user):
        from ..errors import Forbidden

        raise Forbidden("Only an admin may see or end sessions")


@router.get("/api/sessions")
async def list_sessions(request: Request, user: str | None = None) -> Any:
    """Open UI sessions (never their tokens), newest first; ``?user=`` for one user's."""
    await run_in_threadpool(_require_admin, request)
    found = await run_in_threadpool(request.app.state.sessions.list, user)
    return {"results": found, "total": len(found)}


@router.delete("/api/sessions/{session_id}")
async def revoke_session(session_id: str, request: Request) -> Any:
    """End one UI session: its cookie is refused from the next request on."""
    await run_in_threadpool(_require_admin, request)
    ended = await run_in_threadpool(request.app.state.sessions.revoke, session_id)
    return {"message": "Session ended", "session": ended}


# -- CRUD, one named route per kind and verb -------------------------------------------

#: What the list routes take besides a filter on any field (``?name=Petstore``).
LIST_PARAMETERS = {
    "_search": "case-insensitive text search over the string fields",
    "_order[<field>]": "sort, e.g. ``_order[name]=asc``",
    "<field>": "equality filter on any field, e.g. ``isEnabled=true``; ``<field>[]=a&<field>[]=b`` for any of",
}


def _list_docs(kind: str) -> dict[str, Any]:
    """The list route's parameters for the OpenAPI document (filters are open-ended)."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": text,
            }
            for name, text in LIST_PARAMETERS.items()
            if "<" not in name  # patterns (``_order[<field>]``) are described, not parameters
        ],
        "description": f"All {kind}s, as ``{{results: [...]}}``. Filter on any field with "
        f"``?<field>=<value>``; {LIST_PARAMETERS['_order[<field>]']}.",
    }


def _add_crud(segment: str, kind: str) -> None:
    """Register list/create/get/update/delete of one kind under its own paths and names.

    Named routes (``/api/sources``, ``list_sources``) instead of one ``/api/{segment}``
    pattern, so the OpenAPI document shows every collection with its parameters.
    """
    title = kind.capitalize()
    jobs = kind == "job"

    async def list_(request: Request) -> Any:
        return {"results": await run_in_threadpool(_entities(request, kind).list, query_pairs(request))}

    async def create(request: Request) -> Any:
        body = await json_object(request, schema=bodies.ENTITIES[kind])
        user = request.state.user

        def run() -> dict[str, Any]:
            data = _prepare_job(request, body) if jobs else body
            return _entities(request, kind).create(data, owner=user)

        return await run_in_threadpool(run)

    ref_doc = f"the {kind}'s id, uuid or slug"

    async def get(request: Request, ref: str = PathParam(description=ref_doc)) -> Any:
        return await run_in_threadpool(_entities(request, kind).get, ref)

    async def update(request: Request, ref: str = PathParam(description=ref_doc)) -> Any:
        body = await json_object(request, schema=bodies.ENTITY_PATCHES[kind])

        def run() -> dict[str, Any]:
            service = _entities(request, kind)
            data = _prepare_job(request, body, service.get(ref)) if jobs else body
            return service.update(ref, data)

        return await run_in_threadpool(run)

    async def delete(request: Request, ref: str = PathParam(description=ref_doc)) -> Any:
        await run_in_threadpool(_entities(request, kind).delete, ref)
        return []

    tag = f"{segment}"
    path = f"/api/{segment}"
    item = f"{path}/{{ref}}"
    docs = _list_docs(kind)
    router.add_api_route(
        path,
        list_,
        methods=["GET"],
        name=f"list_{segment}",
        summary=f"List {kind}s",
        tags=[tag],
        description=docs["description"],
        openapi_extra={"parameters": docs["parameters"]},
    )
    router.add_api_route(
        path,
        create,
        methods=["POST"],
        name=f"create_{kind}",
        summary=f"Create a {kind}",
        tags=[tag],
        openapi_extra=body(bodies.ENTITY_DOCS[kind]),
    )
    router.add_api_route(
        item,
        get,
        methods=["GET"],
        name=f"get_{kind}",
        summary=f"{title} by id, uuid or slug",
        tags=[tag],
    )
    router.add_api_route(
        item,
        update,
        methods=["PUT"],
        name=f"update_{kind}",
        tags=[tag],
        openapi_extra=body(bodies.ENTITY_PATCH_DOCS[kind]),
        summary=f"Update a {kind}: the fields the body names replace the stored ones",
    )
    router.add_api_route(
        item,
        update,
        methods=["PATCH"],
        name=f"patch_{kind}",
        tags=[tag],
        openapi_extra=body(bodies.ENTITY_PATCH_DOCS[kind]),
        summary=f"Update a {kind} (same as PUT)",
    )
    router.add_api_route(
        item,
        delete,
        methods=["DELETE"],
        name=f"delete_{kind}",
        summary=f"Delete a {kind}",
        tags=[tag],
    )


for _segment, _kind in KINDS.items():
    _add_crud(_segment, _kind)
