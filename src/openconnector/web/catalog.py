"""The public catalog as pages: what anyone may see, without a login.

``/catalog/{slug}`` lists a catalog's published objects (with ``?q=`` searching
their properties and the text of their published documents), and
``/catalog/{slug}/{id}`` shows one with its attachments as download links. Both
call ``CatalogService`` exactly as the public API does (the one publication
rule), so a page can never show what ``/api/{slug}`` hides; an unpublished or
unknown object is the not-found page. Everything shown is source data, escaped.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..catalog.service import CatalogService
from .pages import context_of
from .templating import render

router = APIRouter(include_in_schema=False)

#: Properties shown above the attachments, in this order, when an object has them.
_SHOWN = ("description", "summary", "category", "theme", "keywords", "publicatiedatum", "license")


def _page(request: Request) -> CatalogService:
    request.state.page = True  # a NotFound renders the not-found page
    return CatalogService(context_of(request))


def _base_url(request: Request) -> str:
    return (context_of(request).settings.base_url or str(request.base_url)).rstrip("/")


@router.get("/catalog/{slug}")
async def catalog_list(request: Request, slug: str, q: str = "") -> Response:
    service = _page(request)
    params = [("_limit", "50")] + ([("_search", q)] if q.strip() else [])

    def load() -> tuple[dict[str, Any], dict[str, Any]]:
        catalog, _ = service.resolved(slug)
        return catalog, service.publications(slug, params)

    catalog, found = await run_in_threadpool(load)
    return render(request, "catalog/list.html", catalog=catalog, found=found, q=q, title=catalog.get("title"))


@router.get("/catalog/{slug}/{object_id}")
async def catalog_detail(request: Request, slug: str, object_id: str) -> Response:
    service = _page(request)

    def load() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        catalog, _ = service.resolved(slug)
        found = service.publication(slug, object_id)
        files = service.attachments(slug, object_id, base_url=_base_url(request))["results"]
        return catalog, found, files

    catalog, found, files = await run_in_threadpool(load)
    facts = [(key, found[key]) for key in _SHOWN if found.get(key) not in (None, "", [])]
    return render(
        request,
        "catalog/detail.html",
        catalog=catalog,
        item=found,
        facts=facts,
        attachments=files,
        title=found.get("title") or found["@self"]["name"],
    )
