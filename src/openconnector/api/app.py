"""The ASGI application: routers of the three original apps, the UI, errors, auth.

``create_app(context)`` builds everything from one :class:`~openconnector.context.Context`,
so tests run the real app against their own database file.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI, Request

from ..context import Context, set_context
from ..errors import OpenConnectorError
from ..store.sessions import SessionStore
from ..store.throttle import LoginThrottle
from ..store.users import UserService
from . import docs, errors, metrics, openregister
from .deps import require_user
from .hardening import SecurityHeaders
from .responses import FastJSONResponse as ORJSONResponse

log = logging.getLogger("openconnector")

PREFIXES = ("/index.php/apps/{app}", "/apps/{app}")

#: Optional routers, added when their package is present (each feature lands on its own).
OPTIONAL = (
    ("openregister", "openconnector.api.files"),  # files on objects
    # the public /api/endpoint/{path} and /api/endpoints/logs, before the generic routes
    ("openconnector", "openconnector.api.endpoints"),
    ("openconnector", "openconnector.api.jobs"),  # before the generic /api/{kind}/{id} routes
    ("openconnector", "openconnector.api.events"),  # notifications, webhooks, the outbox
    ("openconnector", "openconnector.api.openconnector"),
    ("opencatalogi", "openconnector.api.opencatalogi"),
)


def create_app(context: Context | None = None, *, make_default: bool = True) -> FastAPI:
    from ..connector.redaction import install_log_redaction

    install_log_redaction()  # before anything logs: no secret in any log line
    context = context or Context()
    if make_default:
        set_context(context)
    users = UserService(context.db)
    users.ensure_admin(context.settings.admin_password)
    app = FastAPI(
        title="openconnector",
        version=_version(),
        default_response_class=ORJSONResponse,
        docs_url=None,  # docs.install serves the pages without a CDN
        openapi_url="/api/openapi.json",
        redoc_url=None,
    )
    app.state.context = context
    app.state.users = users
    app.state.sessions = SessionStore(context.db)
    app.state.throttle = LoginThrottle()
    errors.install(app)
    docs.install(app)
    for prefix in PREFIXES:
        app.include_router(openregister.router, prefix=prefix.format(app="openregister"))
    for name, module_name in OPTIONAL:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for prefix in PREFIXES:
            app.include_router(module.router, prefix=prefix.format(app=name))
        extra = getattr(module, "install", None)
        if extra is not None:
            extra(app)
    try:
        web = importlib.import_module("openconnector.web")
    except ModuleNotFoundError as exc:
        if exc.name != "openconnector.web":
            raise
    else:
        if hasattr(web, "install"):
            web.install(app)

    metrics.install(app)

    @app.get("/health", include_in_schema=False)
    async def health(request: Request) -> dict[str, Any]:
        """Liveness for anyone; the version only for a logged-in user, so an anonymous
        scan cannot match the instance against a list of known vulnerable releases."""
        answer: dict[str, Any] = {"status": "ok"}
        if request.headers.get("authorization") or (request.scope.get("session") or {}).get("user"):
            try:
                require_user(request)
            except OpenConnectorError:
                return answer
            answer["version"] = _version()
        return answer

    app.add_middleware(SecurityHeaders)  # last, so outermost: it sees every response

    return app


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openconnector")
    except PackageNotFoundError:  # pragma: no cover
        return "0.0.0"
