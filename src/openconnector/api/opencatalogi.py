"""OpenCatalogi's REST API: catalogs (admin) and the anonymous public catalog with its DCAT feed.

Mounted at ``/index.php/apps/opencatalogi`` and ``/apps/opencatalogi``.

Admin (login required)::

    GET/POST /api/catalogs              GET/PUT/PATCH/DELETE /api/catalogs/{id|uuid|slug}

Public (no login; credentials are ignored, so an admin sees what anyone sees)::

    GET /api/{catalogSlug}              published objects, OpenRegister list parameters
    GET /api/{catalogSlug}/{id}         one published object
    GET /api/{catalogSlug}/{id}/attachments                    its published files
    GET /api/{catalogSlug}/{id}/attachments/{fileId}           one of them
    GET /api/{catalogSlug}/{id}/attachments/{fileId}/download  its bytes
    GET /api/catalogs/{slug}/dcat       the catalog's DCAT-AP-NL 3.0 feed
    GET /api/dcat                       every DCAT-enabled catalog in one feed
    GET /api/catalogi                   the listed catalogs

Public responses carry ``Access-Control-Allow-Origin: *`` and OPTIONS preflights
are answered (see :func:`install`). The feed is paged (1000 per page,
``?page=N``), negotiated (Accept or ``?format=jsonld|turtle|rdfxml``) and
cacheable (ETag, Last-Modified, 304).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..catalog.service import RESERVED_SLUGS, CatalogNotFound, CatalogService, FeedPage
from ..clock import parse_iso
from ..errors import BadRequest, NotFound
from . import bodies
from .deps import context_of, json_object, query_pairs, require_user
from .files import file_response
from .responses import FastJSONResponse as ORJSONResponse

__all__ = ["install", "router"]

API = "/index.php/apps/opencatalogi/api"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Last-Modified, Content-Type, Vary",
}
PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Max-Age": "86400",
}

admin = APIRouter(dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)
public = APIRouter(responses=bodies.answers(400, 404))


def _service(request: Request) -> CatalogService:
    return CatalogService(context_of(request))


# -- admin: catalogs ----------------------------------------------------------------------


@admin.get("/api/catalogs")
async def list_catalogs(request: Request) -> Any:
    found = await run_in_threadpool(_service(request).list, request.query_params.get("_search"))
    return {"results": found, "total": len(found)}


@admin.post("/api/catalogs", status_code=201, openapi_extra=bodies.body(bodies.CATALOG_DOC))
async def create_catalog(request: Request) -> Any:
    body = await json_object(request, schema=bodies.CATALOG)
    user = request.state.user
    created = await run_in_threadpool(lambda: _service(request).create(body, owner=user))
    return ORJSONResponse(created, status_code=201)


@admin.get("/api/catalogs/{ref}")
async def get_catalog(ref: str, request: Request) -> Any:
    return await run_in_threadpool(_service(request).get, ref)


@admin.put("/api/catalogs/{ref}", openapi_extra=bodies.body(bodies.CATALOG_DOC))
async def replace_catalog(ref: str, request: Request) -> Any:
    body = await json_object(request, schema=bodies.CATALOG)
    return await run_in_threadpool(lambda: _service(request).update(ref, body, owner=request.state.user))


@admin.patch("/api/catalogs/{ref}", openapi_extra=bodies.body(bodies.CATALOG_PATCH_DOC))
async def patch_catalog(ref: str, request: Request) -> Any:
    body = await json_object(request, schema=bodies.CATALOG_PATCH)
    return await run_in_threadpool(
        lambda: _service(request).update(ref, body, merge=True, owner=request.state.user)
    )


@admin.delete("/api/catalogs/{ref}", status_code=204, response_class=Response)
async def delete_catalog(ref: str, request: Request) -> Response:
    await run_in_threadpool(_service(request).delete, ref)
    return Response(status_code=204)


# -- public: the DCAT feed ------------------------------------------------------------------


@dataclass
class _Feed:
    body: bytes
    media_type: str
    etag: str
    last_modified: datetime | None


def _base_url(request: Request) -> str:
    configured = context_of(request).settings.base_url
    return (configured or str(request.base_url)).rstrip("/")


def _page_param(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    try:
        page = int(raw)
    except ValueError:
        raise BadRequest(f"page must be a whole number, got {raw!r}", parameter="page") from None
    if page < 1:
        raise BadRequest(f"page must be at least 1, got {page}", parameter="page")
    return page


def _feed_url(base: str, path: str, fmt_param: str | None) -> str:
    return f"{base}{API}{path}" + (f"?format={fmt_param}" if fmt_param else "")


@functools.cache
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("openconnector")
    except PackageNotFoundError:  # pragma: no cover
        return "0"


def _fingerprint(fmt: str, base: str, pages: list[FeedPage]) -> str:
    """The ETag: a hash of everything the body is made from, so a 304 needs no graph.

    Catalog, datasets (with their ``updated``), their published files, page, total
    and format decide the bytes exactly; the package version covers changes to the writer.
    """
    digest = hashlib.sha256()
    digest.update(orjson.dumps([_version(), fmt, base]))
    for p in pages:
        digest.update(
            orjson.dumps(
                [p.catalog, p.page, p.per_page, p.total, p.datasets, p.attachments],
                option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
            )
        )
    return '"' + digest.hexdigest()[:32] + '"'


def _last_modified(pages: list[FeedPage]) -> datetime | None:
    """The newest change on the page: an update, or a publication date that has passed."""
    stamps: list[str] = []
    for p in pages:
        stamps.append((p.catalog.get("@self") or {}).get("updated") or "")
        for d in p.datasets:
            meta = d.get("@self") or {}
            stamps.append(meta.get("updated") or "")
            published = d.get("publicatiedatum")
            if isinstance(published, str) and len(published) > 10:
                stamps.append(published)
    moments = []
    for stamp in stamps:
        try:
            moments.append(parse_iso(stamp))
        except ValueError:
            continue
    return max(moments).replace(microsecond=0) if moments else None


def _not_modified(request: Request, etag: str, last_modified: datetime | None) -> bool:
    """RFC 9110: If-None-Match decides when present; otherwise If-Modified-Since."""
    match = request.headers.get("if-none-match")
    if match is not None:
        tags = [t.strip().removeprefix("W/") for t in match.split(",")]
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since and last_modified is not None:
        try:
            moment = parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return last_modified <= moment
    return False


def _build_feed(
    request: Request, pages: list[FeedPage], fmt: str, fmt_param: str | None
) -> tuple[str, datetime | None, Any]:
    base = _base_url(request)
    etag = _fingerprint(fmt, base, pages)
    last_modified = _last_modified(pages)

    def body() -> _Feed:
        from ..catalog.dcat import build_graph, serialize, with_distributions

        graph = None
        for p in pages:
            slug = p.catalog["slug"]
            part = build_graph(
                p.catalog,
                with_distributions(p.datasets, p.attachments, base, slug),
                base_url=base,
                page=p.page,
                per_page=p.per_page,
                total=p.total,
                feed_url=_feed_url(base, f"/catalogs/{slug}/dcat", fmt_param),
            )
            if graph is None:
                graph = part
            else:
                for triple in part:
                    graph.add(triple)
        data, media_type = serialize(graph, fmt)
        return _Feed(data, media_type, etag, last_modified)

    return etag, last_modified, body


async def _serve_feed(request: Request, load: Any) -> Response:
    from ..catalog.dcat import FORMATS, negotiate

    fmt_param = request.query_params.get("format")
    fmt = negotiate(request.headers.get("accept"), fmt_param)  # 406 before any database work
    page = _page_param(request)

    def prepare() -> tuple[str, datetime | None, Any]:
        return _build_feed(request, load(page), fmt, fmt_param)

    # loading and hashing a 1000-dataset page take milliseconds: off the event loop
    etag, last_modified, make = await run_in_threadpool(prepare)
    headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": "public, no-cache"}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    if _not_modified(request, etag, last_modified):
        return Response(status_code=304, headers=headers)
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=FORMATS[fmt])
    feed: _Feed = await run_in_threadpool(make)
    return Response(feed.body, media_type=feed.media_type, headers=headers)


@public.get("/api/dcat", responses=bodies.answers(304, 406))
@public.head("/api/dcat", responses=bodies.answers(304, 406))
async def instance_feed(request: Request) -> Response:
    service = _service(request)

    def load(page: int) -> list[FeedPage]:
        catalogs = service.dcat_catalogs()
        if not catalogs:
            raise NotFound("No catalog has a DCAT feed; set hasDcat on one (openconnector init woo does)")
        pages = [service.feed_page(c, page) for c in catalogs]
        filled = [p for p in pages if p.datasets]
        if not filled and page > 1:
            raise NotFound(f"Page {page} of the DCAT feed does not exist", page=page)
        return filled or pages[:1]

    return await _serve_feed(request, load)


@public.get("/api/catalogs/{slug}/dcat", responses=bodies.answers(304, 406))
@public.head("/api/catalogs/{slug}/dcat", responses=bodies.answers(304, 406))
async def catalog_feed(slug: str, request: Request) -> Response:
    service = _service(request)

    def load(page: int) -> list[FeedPage]:
        found = service.feed_page(slug, page)
        if page > found.pages:
            raise NotFound(
                f"Page {page} of the DCAT feed of {slug!r} does not exist; it has {found.pages}",
                page=page,
                pages=found.pages,
            )
        return [found]

    return await _serve_feed(request, load)


# -- public: catalogs and their publications ---------------------------------------------


@public.get("/api/catalogi")
async def public_catalogs(request: Request) -> Any:
    """The listed catalogs, without their configuration."""
    found = await run_in_threadpool(_service(request).list)
    keys = ("slug", "title", "summary", "description", "homepage", "hasDcat")
    shown = [{"id": c.get("id"), **{k: c[k] for k in keys if k in c}} for c in found if c.get("listed", True)]
    return {"results": shown, "total": len(shown)}


def _catalog_slug(slug: str) -> str:
    if slug.lower() in RESERVED_SLUGS:
        raise CatalogNotFound(f"{slug!r} is a reserved route, not a catalog", catalogSlug=slug)
    return slug


@public.get("/api/{catalog_slug}")
async def publications(catalog_slug: str, request: Request) -> Any:
    service = _service(request)
    params = query_pairs(request)
    return await run_in_threadpool(service.publications, _catalog_slug(catalog_slug), params)


@public.get("/api/{catalog_slug}/{object_id}")
async def publication(catalog_slug: str, object_id: str, request: Request) -> Any:
    service = _service(request)
    return await run_in_threadpool(service.publication, _catalog_slug(catalog_slug), object_id)


@public.get("/api/{catalog_slug}/{object_id}/attachments")
async def attachments(catalog_slug: str, object_id: str, request: Request) -> Any:
    """The published files of a published object (404 as for the object otherwise)."""
    service = _service(request)
    slug = _catalog_slug(catalog_slug)
    return await run_in_threadpool(lambda: service.attachments(slug, object_id, base_url=_base_url(request)))


@public.get("/api/{catalog_slug}/{object_id}/attachments/{file_id}")
async def attachment(catalog_slug: str, object_id: str, file_id: str, request: Request) -> Any:
    service = _service(request)
    slug = _catalog_slug(catalog_slug)

    def describe() -> dict[str, Any]:
        found, chunks = service.attachment(slug, object_id, file_id, base_url=_base_url(request))
        close = getattr(chunks, "close", None)
        if close is not None:
            close()  # only the description is wanted: let the storage go
        return found

    return await run_in_threadpool(describe)


@public.get(
    "/api/{catalog_slug}/{object_id}/attachments/{file_id}/download",
    response_class=StreamingResponse,
    responses={200: {"description": "The file's bytes, with its content type"}, **bodies.answers(304)},
)
@public.head("/api/{catalog_slug}/{object_id}/attachments/{file_id}/download")
async def download_attachment(catalog_slug: str, object_id: str, file_id: str, request: Request) -> Response:
    """A published file's bytes, streamed, with its content type and a download name.

    Sent as an attachment with ``nosniff`` and a sandboxing CSP: a published HTML or
    SVG file must never run as a page of this site.
    """
    service = _service(request)
    slug = _catalog_slug(catalog_slug)
    found, chunks = await run_in_threadpool(
        lambda: service.attachment(slug, object_id, file_id, base_url=_base_url(request))
    )
    response = file_response(found, chunks)  # the admin download's headers: type, length, ETag, sandbox
    response.headers["Cache-Control"] = "public, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.method == "HEAD" or request.headers.get("if-none-match") == response.headers["etag"]:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return Response(
            status_code=200 if request.method == "HEAD" else 304, headers=headers, media_type=found["type"]
        )
    return response


router = APIRouter()
router.include_router(admin)  # first: /api/catalogs is not a catalog slug
router.include_router(public)


# -- CORS ---------------------------------------------------------------------------------

_MOUNTS = ("/index.php/apps/opencatalogi/api/", "/apps/opencatalogi/api/")


def _public_path(path: str) -> bool:
    """True for the public routes; the admin ``/api/catalogs[/{id}]`` routes get no CORS."""
    for mount in _MOUNTS:
        if path.startswith(mount):
            parts = [p for p in path[len(mount) :].split("/") if p]
            return not (parts and parts[0] == "catalogs" and len(parts) <= 2)
    return False


class PublicCors:
    """``Access-Control-Allow-Origin: *`` on public responses (errors included) and OPTIONS preflights.

    A plain ASGI wrapper rather than Starlette's CORSMiddleware: that one
    applies to every route of the app, and the admin and OpenRegister routes
    must not invite cross-origin calls. ``*`` never lets a browser send
    credentials, which suits routes that ignore them anyway.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _public_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            requested = dict(scope["headers"]).get(b"access-control-request-headers", b"").decode("latin-1")
            headers = {**PREFLIGHT_HEADERS, "Allow": "GET, HEAD, OPTIONS"}
            if requested:
                headers["Access-Control-Allow-Headers"] = requested
            response = Response(status_code=204, headers=headers)
            await response(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in CORS_HEADERS.items()]

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_cors)


def install(app: Any) -> None:
    """Add the public CORS handling (``api/app.py`` calls this once)."""
    app.add_middleware(PublicCors)
