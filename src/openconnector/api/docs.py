"""The OpenAPI documentation pages, served without any CDN.

FastAPI's own ``/docs`` page loads Swagger UI from jsDelivr, which an offline or
locked-down server cannot reach. The assets come from the ``fastapi-offline``
package instead (Swagger UI 5, which renders OpenAPI 3.1, and ReDoc; MIT/Apache-2.0
licensed upstream projects) and are served under ``/docs/assets/``. The pages need no
inline script, so a strict Content-Security-Policy (``script-src 'self'``) allows them.

Paths: ``/docs`` and ``/api/docs`` (Swagger UI), ``/redoc`` (ReDoc), the document at
``/api/openapi.json`` and ``/openapi.json``.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from ..errors import NotFound

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}

#: Started by a file rather than an inline ``<script>``; reads the document's URL from the page.
SWAGGER_INIT = """\
window.addEventListener("load", function () {
  var root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: root.dataset.openapi,
    dom_id: "#swagger-ui",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout"
  });
});
"""


#: Nothing leaves this server: ReDoc's badge image on cdn.redoc.ly is not even requested.
#: The viewers set inline styles (and ReDoc searches in a blob: worker), so those stay allowed.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)


def _page(title: str, head: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<link rel='icon' href='/docs/assets/favicon.png'>{head}</head><body>{body}</body></html>",
        headers={"Content-Security-Policy": CSP},
    )


def install(app: FastAPI) -> None:
    """Add the documentation pages and their assets to ``app`` (made with ``docs_url=None``)."""
    openapi_url = app.openapi_url or "/api/openapi.json"
    title = f"{app.title} {app.version} - API"

    async def swagger(request: Request) -> HTMLResponse:
        return _page(
            title,
            "<link rel='stylesheet' href='/docs/assets/swagger-ui.css'>",
            f"<div id='swagger-ui' data-openapi='{escape(openapi_url)}'></div>"
            "<script src='/docs/assets/swagger-ui-bundle.js'></script>"
            "<script src='/docs/assets/swagger-init.js'></script>",
        )

    async def redoc(request: Request) -> HTMLResponse:
        return _page(
            title,
            "",
            f"<redoc spec-url='{escape(openapi_url)}'></redoc>"
            "<script src='/docs/assets/redoc.standalone.js'></script>",
        )

    async def asset(name: str) -> Response:
        if name == "swagger-init.js":
            return Response(SWAGGER_INIT, media_type="text/javascript")
        if name not in ASSET_TYPES:
            raise NotFound(f"No documentation asset {name!r}")
        return FileResponse(
            ASSETS / name, media_type=ASSET_TYPES[name], headers={"Cache-Control": "public, max-age=86400"}
        )

    async def document(request: Request) -> Response:
        from .responses import FastJSONResponse

        return FastJSONResponse(app.openapi())

    for path in ("/docs", "/api/docs"):
        app.add_api_route(path, swagger, methods=["GET"], include_in_schema=False)
    app.add_api_route("/redoc", redoc, methods=["GET"], include_in_schema=False)
    app.add_api_route("/docs/assets/{name}", asset, methods=["GET"], include_in_schema=False)
    if openapi_url != "/openapi.json":
        app.add_api_route("/openapi.json", document, methods=["GET"], include_in_schema=False)
