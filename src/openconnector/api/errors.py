"""One error shape for every route: ``{"error": ..., "message": ..., <details>}``.

Library errors carry their own status (``openconnector.errors``); FastAPI's
request validation and Starlette's HTTP errors are rendered the same way, and
anything unexpected becomes a logged 500 that reveals no internals.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import OpenConnectorError
from .responses import FastJSONResponse as ORJSONResponse

log = logging.getLogger("openconnector.api")

_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
}


def error_response(status: int, body: dict, headers: dict[str, str] | None = None) -> ORJSONResponse:
    return ORJSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(OpenConnectorError)
    async def _ours(request: Request, exc: OpenConnectorError) -> ORJSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status == 401:
            headers = {"WWW-Authenticate": 'Basic realm="openconnector"'}
        return error_response(exc.status, exc.to_dict(), headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> ORJSONResponse:
        errors = [
            {
                "property": ".".join(str(p) for p in e.get("loc", ())[1:]) or None,
                "location": e.get("loc", ("",))[0],
                "message": e.get("msg"),
            }
            for e in exc.errors()
        ]
        return error_response(
            400, {"error": "Bad Request", "message": "The request is not valid", "errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> ORJSONResponse:
        title = _TITLES.get(exc.status_code, "Error")
        message = exc.detail if isinstance(exc.detail, str) else title
        return error_response(
            exc.status_code, {"error": title, "message": message}, dict(exc.headers) if exc.headers else None
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        log.exception("Unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            500,
            {
                "error": "Internal error",
                "message": "Something went wrong on our side; the server log has details.",
            },
        )
