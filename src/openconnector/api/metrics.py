"""``GET /metrics`` and the middleware that counts HTTP requests by route template.

``/metrics`` needs a login like the admin API (Basic auth or the UI session), unless the
client's address lies in ``OPENCONNECTOR_METRICS_ALLOW`` (comma-separated networks, e.g.
``127.0.0.1/32,10.0.0.0/8``), so a Prometheus server can scrape without a password. Behind
a reverse proxy the address is the proxy's: open the range only where that is meant.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import metrics
from .deps import require_user

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str | None) -> tuple[Network, ...]:
    """``"127.0.0.1/32, ::1"`` → networks; a bare address is a network of one."""
    networks = []
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ValueError(
                f"OPENCONNECTOR_METRICS_ALLOW: {part!r} is not a network such as 127.0.0.1/32 or 10.0.0.0/8"
            ) from None
    return tuple(networks)


def _allowed(request: Request, networks: tuple[Network, ...]) -> bool:
    host = request.client.host if request.client else None
    if not host or not networks:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def route_template(scope: Scope) -> str:
    """The matched route's template with the prefix its router was included under.

    The router leaves the innermost route in the scope, whose path lacks the prefix of an
    included router (``/api/objects/{register}``); the prefix is the part of the raw path
    before the first ``/`` from which the route's own pattern matches the rest (a
    ``{path:path}`` parameter may span several segments).
    """
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return "unmatched"
    if isinstance(route, Mount):
        return path
    raw = str(scope.get("path", ""))
    pattern = getattr(route, "path_regex", None)
    if pattern is not None:
        for index, char in enumerate(raw):
            if char == "/" and pattern.match(raw[index:]):
                return raw[:index] + path
    return path


class RequestMetrics:
    """Counts every HTTP request by method, route template and status, and times it.

    Pure ASGI (no response buffering). The label is the route template
    (``/index.php/apps/openregister/api/objects/{register}/{schema}``, see
    ``route_template``); requests no route matched count as ``unmatched``, so a scanner
    cannot grow the label set.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = route_template(scope)
            metrics.HTTP_REQUESTS.labels(scope.get("method", "GET"), template, str(status)).inc()
            metrics.HTTP_DURATION.labels(template).observe(time.perf_counter() - started)


def install(app: FastAPI) -> None:
    """Add the request counter and ``GET /metrics``."""
    networks = parse_networks(app.state.context.settings.metrics_allow)
    app.add_middleware(RequestMetrics)

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Any:
        if not _allowed(request, networks):
            require_user(request)
        return Response(metrics.exposition(), media_type=metrics.CONTENT_TYPE_LATEST)
