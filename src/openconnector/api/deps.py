"""Request plumbing shared by the routers: login, JSON bodies, query pairs."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any

import orjson
from fastapi import Request

from ..context import Context
from ..errors import BadRequest, Forbidden, Unauthorized

MAX_BODY = 50 * 1024 * 1024


def context_of(request: Request) -> Context:
    return request.app.state.context


def require_user(request: Request) -> str:
    """HTTP Basic auth (as Nextcloud's API accepts it) or the UI's session; 401 otherwise."""
    session_user = request.scope.get("session", {}).get("user") if "session" in request.scope else None
    header = request.headers.get("authorization", "")
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            username, _, password = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise Unauthorized("The Authorization header is not valid Basic credentials") from None
        throttle = request.app.state.throttle
        address = request.client.host if request.client else None
        if request.app.state.users.verify(
            username, password, before_hashing=lambda: throttle.check(username, address)
        ):
            throttle.succeeded(username, address)
            request.state.user = username
            return username
        throttle.failed(username, address)
        raise Unauthorized("Wrong username or password")
    if session_user:
        # A browser session may read the API; writing needs the UI's CSRF token too, so a
        # page on another site (or this one) cannot make the logged-in browser change data.
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            expected = request.scope["session"].get("csrf")
            given = request.headers.get("x-csrf-token")
            if not expected or not given or not hmac.compare_digest(str(expected), given):
                raise Forbidden(
                    "Writing through the API with a browser session needs the X-CSRF-Token header"
                )
        request.state.user = session_user
        return session_user
    raise Unauthorized("Login required: use HTTP Basic auth (curl -u user:password)")


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The request body as JSON, with a 400 that says where it is malformed."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise BadRequest(f"The body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        if required:
            raise BadRequest("The request needs a JSON body")
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            f"Malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        ) from None


async def json_object(
    request: Request, *, required: bool = True, schema: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The body as a JSON object; with ``schema`` (``api/bodies.py``) also of the right shape."""
    body = await json_body(request, required=required)
    if not isinstance(body, dict):
        raise BadRequest(f"The body must be a JSON object, got {type(body).__name__}")
    if schema is not None:
        from .bodies import checked

        checked(body, schema)
    return body


def query_pairs(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


def flag(value: str | None) -> bool:
    """Boolean query parameters as OpenConnector parses them (true/1/yes/on)."""
    return str(value or "").strip().lower() in ("true", "1", "yes", "on")


#: Query parameters that take numbers or dates: documented as such, so a client (or a
#: fuzzer) that follows the document is never refused.
_QUERY_SCHEMAS: dict[str, dict[str, Any]] = {
    "_page": {"type": "integer", "minimum": 1},
    "_limit": {"type": "integer", "minimum": 1, "maximum": 500},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
    "offset": {"type": "integer", "minimum": 0},
    "_offset": {"type": "integer", "minimum": 0},
    "statusCode": {
        "type": "string",
        "pattern": r"^[1-5](?:xx|XX|[0-9]{2}(?:-[1-5][0-9]{2})?)(?:,[1-5](?:xx|XX|[0-9]{2}(?:-[1-5][0-9]{2})?))*$",
    },
    "date_from": {"type": "string", "format": "date"},
    "date_to": {"type": "string", "format": "date"},
}


def query_docs(**params: str) -> dict[str, Any]:
    """``openapi_extra`` naming the query parameters a route reads from ``query_pairs``.

    Routes that take open-ended or repeated filters parse them themselves; this makes the
    OpenAPI document (``/docs``) list them anyway, by name, with what they do.
    """
    return {
        "parameters": [
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": _QUERY_SCHEMAS.get(name, {"type": "string"}),
                "description": text,
            }
            for name, text in params.items()
        ]
    }


#: Paging and date filters every log list takes.
LOG_QUERY = {
    "_page": "page number, from 1",
    "_limit": "results per page (default 20, at most 500)",
    "date_from": "only logs created at or after this date or date-time",
    "date_to": "only logs created at or before this date-time (a bare date includes the whole day)",
}
