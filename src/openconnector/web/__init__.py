"""The web UI: server-rendered pages over the connector and register services.

``install(app)`` (called by :func:`openconnector.api.app.create_app`) adds the
session middleware, the static files (a vendored htmx and one stylesheet: no
CDN, no build step) and the page routers. Pages call the same service classes
as the REST API, so the UI can do nothing the API cannot.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from ..errors import NotFound, OpenConnectorError
from .pages import is_page, not_found
from .security import CsrfRejected, LoginRequired, csrf_refused, login_redirect
from .session import install_sessions

__all__ = ["install"]

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Add the UI to ``app``: sessions, ``/assets``, and the pages."""
    from . import (
        auth,
        catalog,
        dashboard,
        endpoints,
        files,
        logs,
        mappings,
        registers,
        sources,
        synchronizations,
    )
    from .runs import RunRegistry

    install_sessions(app, app.state.context.settings)
    app.state.web_runs = RunRegistry()
    app.mount("/assets", StaticFiles(directory=str(STATIC)), name="web-assets")
    app.add_exception_handler(LoginRequired, login_redirect)  # type: ignore[arg-type]
    app.add_exception_handler(CsrfRejected, csrf_refused)  # type: ignore[arg-type]
    api_error = app.exception_handlers[OpenConnectorError]

    async def not_found_page(request: Request, exc: NotFound) -> Response:
        """A page asked for something that is not there: the not-found page, not JSON."""
        return not_found(request, exc) if is_page(request) else await api_error(request, exc)

    app.add_exception_handler(NotFound, not_found_page)  # type: ignore[arg-type]
    for module in (
        auth,
        catalog,
        dashboard,
        sources,
        mappings,
        synchronizations,
        endpoints,
        logs,
        registers,
        files,
    ):
        app.include_router(module.router)
