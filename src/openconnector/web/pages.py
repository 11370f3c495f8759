"""What every page module shares: the guarded router, form reading, services at hand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..context import Context
from ..errors import NotFound
from .security import current_user, verify_csrf
from .templating import render


async def guard(request: Request) -> str:
    """Login for every request; the CSRF token too for anything but GET/HEAD."""
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


def is_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))
