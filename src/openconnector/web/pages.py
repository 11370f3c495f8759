"""What every page module shares: the guarded router, form reading, services at hand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..connector.entities import EntityService
from ..context import Context
from ..errors import NotFound, OpenConnectorError
from .forms import service_errors
from .security import current_user, verify_csrf
from .templating import render


async def guard(request: Request) -> str:
    """Login for every request; the CSRF token too for anything but GET/HEAD.

    Also marks the request as a page, so a ``NotFound`` raised while answering it
    renders the not-found page instead of the API's JSON (see ``web.install``).
    """
    request.state.page = True
    user = current_user(request)
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await verify_csrf(request)
    return user


def page_router() -> APIRouter:
    """A router whose every route needs a session (and a CSRF token on POST)."""
    return APIRouter(include_in_schema=False, dependencies=[Depends(guard)])


def context_of(request: Request) -> Context:
    return request.app.state.context


async def form_of(request: Request) -> dict[str, str]:
    """The submitted form as single strings (last value wins), trimmed."""
    form = await request.form()
    return {k: v.strip() for k, v in form.multi_items() if isinstance(v, str)}


async def form_lists(request: Request) -> dict[str, list[str]]:
    """The submitted form with every value of repeated fields (table rows)."""
    form = await request.form()
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


def not_found(request: Request, exc: NotFound) -> Any:
    return render(request, "not_found.html", status_code=404, message=exc.message)


def is_page(request: Request) -> bool:
    return getattr(request.state, "page", False)


def is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


# -- the list, add and delete of an entity kind (source, mapping, synchronization) ------------


def entities(request: Request, kind: str) -> EntityService:
    return EntityService(kind, context_of(request))


async def list_entities(request: Request, kind: str, q: str = "") -> list[dict[str, Any]]:
    """The entities of ``kind`` that match the search box, by name."""
    found = await run_in_threadpool(entities(request, kind).list, [("_search", q)] if q else [])
    return sorted(found, key=lambda e: str(e.get("name") or "").lower())


async def create_entity(
    request: Request, kind: str, path: str, data: dict[str, Any], *, draft: bool = False
) -> tuple[Response | None, dict[str, str]]:
    """Create one and answer the redirect to its page; or no answer and the errors to show.

    ``draft``: the add form asks only the first fields; the entity's page asks the rest.
    """
    try:
        created = await run_in_threadpool(
            lambda: entities(request, kind).create(data, owner=request.session.get("user"), draft=draft)
        )
    except OpenConnectorError as exc:
        return None, service_errors(exc, "name")
    return RedirectResponse(f"{path}/{created['id']}?created=1", status_code=303), {}


async def delete_entity(request: Request, kind: str, ref: str, path: str) -> Response:
    """Delete one and go back to the list (or the not-found page)."""
    await run_in_threadpool(entities(request, kind).delete, ref)
    return RedirectResponse(path, status_code=303)
