"""Event routes: ZGW notifications and webhooks in, the outbox of push synchronisations out.

``POST /api/notifications`` and ``POST /api/synchronizations/{id}/webhook`` are called
by other systems: they accept HTTP Basic credentials of a user, a consumer's API key
(``Authorization: Bearer <key>``, ``ApiKey <key>`` or ``X-Api-Key``) or a JWT signed
for a consumer (``Authorization: Bearer <jwt>``, ZGW style: ``client_id`` or ``iss``
names the consumer; ``connector/consumer_auth.py``). The outbox
routes are for administrators. Mounted before the generic ``/api/{kind}/{id}`` routes.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..connector import outbox
from ..connector.consumer_auth import ConsumerRefused, consumer_for_jwt, consumer_for_key, looks_like_jwt
from ..connector.notifications import NotificationService, check_notification
from ..errors import BadRequest, Unauthorized
from . import bodies
from .deps import context_of, json_body, require_user
from .responses import FastJSONResponse as ORJSONResponse

router = APIRouter()


def caller(request: Request) -> str:
    """A user (Basic auth or the UI's session), a consumer by its API key or by a JWT it
    signed; 401 otherwise, saying why."""
    header = request.headers.get("authorization", "")
    key = request.headers.get("x-api-key", "")
    if header[:6].lower() == "basic " or (not header and not key):
        return require_user(request)
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    if not key and token and looks_like_jwt(token):
        try:
            name = consumer_for_jwt(context_of(request), token)
        except ConsumerRefused as exc:
            raise Unauthorized(exc.reason) from None
    else:
        name = consumer_for_key(context_of(request), key or header)
    if name is None:
        raise Unauthorized("Invalid API key")
    request.state.user = name
    return name


@router.post(
    "/api/notifications",
    dependencies=[Depends(caller)],
    status_code=204,
    response_model=None,
    openapi_extra=bodies.body({"type": "object", "description": "A ZGW notification"}),
    responses=bodies.ADMIN_ERRORS,
)
async def notification(request: Request) -> Response:
    """A ZGW notification ``{kanaal, resource, resourceUrl, actie, aanmaakdatum, kenmerken?}``:
    queued for each subscribed synchronisation (in the database, before the answer), then 204;
    the outbox deliverer fetches and writes (or deletes) that one record."""
    body = check_notification(await json_body(request))
    await run_in_threadpool(NotificationService(context_of(request)).enqueue, body)
    return Response(status_code=204)


@router.post(
    "/api/synchronizations/{ref}/webhook",
    dependencies=[Depends(caller)],
    openapi_extra=bodies.body({"type": ["object", "array"], "description": "A record or a list of records"}),
    responses=bodies.answers(400, 401, 403, 404, 409, 429, 502),
)
async def webhook(ref: str, request: Request) -> Any:
    """A record or a list of records in the body: the synchronisation runs on exactly those; its log."""
    from ..connector.sync import SynchronizationService

    body = await json_body(request)
    records = body if isinstance(body, list) else [body]
    if not records:
        raise BadRequest("The body holds no records")
    service = SynchronizationService(context_of(request))
    return await run_in_threadpool(lambda: service.synchronize(ref, records=records, wait=30.0))


@router.get("/api/outbox", dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)
async def outbox_list(
    request: Request,
    status: Literal["pending", "failed"] | None = Query(None, description="pending or failed"),
    limit: int = Query(100, alias="_limit", ge=1, le=1000),
    offset: int = Query(0, alias="_offset", ge=0, le=10**9),
) -> Any:
    """Object events not yet delivered to push synchronisations, oldest first: ``{results, total}``."""
    if status not in (None, "", outbox.PENDING, outbox.FAILED):
        raise BadRequest("status is 'pending' or 'failed'", field="status")
    context = context_of(request)
    return await run_in_threadpool(outbox.list_events, context, status or None, limit, offset)


@router.post("/api/outbox/retry", dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)
async def outbox_retry_all(request: Request) -> Any:
    """Every failed event pending again: ``{retried}``."""
    return ORJSONResponse({"retried": await run_in_threadpool(outbox.retry, context_of(request))})


@router.post(
    "/api/outbox/{event_id}/retry", dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS
)
async def outbox_retry(event_id: str, request: Request) -> Any:
    """One failed event pending again, due now: ``{retried: 1}``."""
    return ORJSONResponse({"retried": await run_in_threadpool(outbox.retry, context_of(request), event_id)})


def install(app: FastAPI) -> None:
    """Put these routes before the generic ``/api/{kind}/{id}`` ones, whatever the include order."""
    endpoints = {getattr(r, "endpoint", None) for r in router.routes}
    mine = [r for r in app.router.routes if getattr(r, "endpoint", None) in endpoints]
    rest = [r for r in app.router.routes if getattr(r, "endpoint", None) not in endpoints]
    app.router.routes[:] = mine + rest
