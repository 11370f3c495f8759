"""The serving half of OpenConnector: ``ANY /api/endpoint/{path}`` and the endpoint log.

``/api/endpoint/{path}`` is public: who may call an endpoint is decided by its rules
(an endpoint without an authentication rule is public on purpose). Everything else
here needs login. This router is mounted before the generic ``/api/{kind}/{id}``
routes so that ``/api/endpoint/...`` and ``/api/endpoints/logs`` win.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..connector.endpoints import EndpointResponse, EndpointService, max_body, to_xml
from . import bodies
from .deps import context_of, query_pairs, require_user
from .responses import FastJSONResponse

router = APIRouter()

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _service(request: Request) -> EndpointService:
    """One service per application: it keeps its mapping engine (compiled templates) warm."""
    service = getattr(request.app.state, "endpoint_service", None)
    if service is None or service.context is not context_of(request):
        service = request.app.state.endpoint_service = EndpointService(context_of(request))
    return service


async def _read_body(request: Request) -> bytes | EndpointResponse:
    limit = max_body()
    declared = request.headers.get("content-length")
    too_big = EndpointResponse(
        413, {"error": "Payload Too Large", "message": f"The body is larger than {limit} bytes"}
    )
    if declared and declared.isdigit() and int(declared) > limit:
        return too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _render(result: EndpointResponse, request: Request) -> Response:
    headers = dict(result.headers)
    if result.status == 204 or (result.body is None and result.raw is None and request.method == "OPTIONS"):
        return Response(status_code=result.status, headers=headers)
    if result.raw is not None:
        return Response(result.raw, status_code=result.status, headers=headers)
    accept = request.headers.get("accept", "")
    if "application/xml" in accept and "application/json" not in accept.split("application/xml")[0]:
        return Response(
            to_xml(result.body), status_code=result.status, headers=headers, media_type="application/xml"
        )
    return FastJSONResponse(result.body, status_code=result.status, headers=headers)


@router.api_route("/api/endpoint/{path:path}", methods=_METHODS, include_in_schema=False)
async def serve_endpoint(path: str, request: Request) -> Response:
    service = _service(request)
    raw = await _read_body(request) if request.method in ("POST", "PUT", "PATCH", "DELETE") else b""
    url = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    if isinstance(raw, EndpointResponse):
        service.logs.add(
            endpoint=None,
            consumer=None,
            method=request.method,
            path=path,
            status=413,
            duration_ms=0.0,
            message=raw.body["message"],
        )
        return _render(raw, request)
    result = await run_in_threadpool(
        service.handle,
        request.method,
        path,
        body=raw,
        headers=dict(request.headers),
        query=query_pairs(request),
        client=request.client.host if request.client else None,
        url=url,
    )
    return _render(result, request)


@router.get("/api/endpoints/logs", dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)
async def endpoint_logs(request: Request) -> Any:
    from ..connector.endpoint_logs import list_logs

    return await run_in_threadpool(list_logs, context_of(request), query_pairs(request))


@router.post(
    "/api/endpoints/test/{ref}",
    dependencies=[Depends(require_user)],
    openapi_extra=bodies.body(bodies.ENDPOINT_TEST, required=False),
    responses=bodies.ADMIN_ERRORS,
)
async def test_endpoint(ref: str, request: Request) -> Any:
    """The UI's "Try it": send one request through an endpoint and show the answer."""
    from .deps import json_object

    body = await json_object(request, required=False, schema=bodies.ENDPOINT_TEST)

    def run() -> dict[str, Any]:
        return try_endpoint(_service(request), ref, body)

    return await run_in_threadpool(run)


def try_endpoint(service: EndpointService, ref: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Send ``{method?, path?, headers?, query?, body?}`` through endpoint ``ref``:
    the answer as ``{statusCode, headers, body, endpoint, consumer}``."""
    import orjson

    from ..connector.entities import EntityService
    from ..errors import BadRequest

    endpoint = EntityService("endpoint", service.context).get(ref)
    method = str(spec.get("method") or endpoint.get("method") or "GET").upper()
    path = str(spec.get("path") or endpoint.get("endpoint") or "").strip("/")
    if "{{" in path:
        raise BadRequest(f"Fill in the path parameters of {path!r}", field="path")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise BadRequest("headers must be an object", field="headers")
    body = spec.get("body")
    if isinstance(body, str):
        body = body.encode()
    elif body is not None:
        body = orjson.dumps(body)
    query = spec.get("query") or None
    result = service.handle(
        method, path, body=body, headers={str(k): str(v) for k, v in headers.items()}, query=query
    )
    return {
        "statusCode": result.status,
        "headers": result.headers,
        "body": result.body if result.raw is None else result.raw.decode("utf-8", "replace"),
        "endpoint": result.endpoint,
        "consumer": result.consumer,
    }
