"""Sources: list and search, add, edit location, authentication and headers, test."""

from __future__ import annotations

import time
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..connector.entities import EntityService
from ..errors import OpenConnectorError
from ..store.secrets import MASK, is_sensitive
from .authfields import AUTH_LABELS, AUTH_TYPES, canonical, field_views, read_auth
from .entity_pages import Column, EntityPages, Field
from .forms import check_choice, check_name, check_url, service_errors
from .pages import (
    context_of,
    entities,
    form_lists,
    form_of,
    is_htmx,
    page_router,
)
from .templating import render

router = page_router()

SOURCE_TYPES = ("api", "json", "xml", "soap", "database", "file")


def _service(request: Request) -> EntityService:
    return entities(request, "source")


SOURCES = EntityPages(
    kind="source",
    path="/sources",
    noun="source",
    plural="sources",
    title="Sources",
    columns=[
        Column("Name", lambda s: s.get("name")),
        Column("Type", lambda s: s.get("type")),
        Column("Location", lambda s: s.get("location") or "–", "wrap"),
        Column("Enabled", lambda s: "yes" if s.get("isEnabled") else "no"),
    ],
    new_fields=[
        Field("name", "Name", required=True),
        Field("type", "Type", "select", [(t, t) for t in SOURCE_TYPES]),
        Field("description", "Description", "textarea"),
    ],
    new_defaults={"type": "api", "isEnabled": True, "auth": "none", "location": ""},
    empty="No sources yet. Add one to pull data from an external API.",
)
SOURCES.mount(router)


_HEADER_PATH = "configuration.headers."


def _marked_headers(source: dict[str, Any]) -> set[str]:
    """Names of the headers this source's user marked secret (``secretFields``)."""
    listed = source.get("secretFields") or []
    return {p[len(_HEADER_PATH) :] for p in listed if isinstance(p, str) and p.startswith(_HEADER_PATH)}


def _header_rows(source: dict[str, Any]) -> list[dict[str, Any]]:
    headers = ((source.get("configuration") or {}).get("headers")) or {}
    marked = _marked_headers(source)
    rows = []
    for name, value in headers.items():
        by_name = is_sensitive(name)
        secret = by_name or name in marked
        rows.append(
            {
                "name": name,
                "value": "" if secret else value,
                "secret": secret,
                "by_name": by_name,
                "is_set": secret and value not in (None, ""),
            }
        )
    return rows


def _detail(
    request: Request,
    source: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
    flash: str | None = None,
    test: dict[str, Any] | None = None,
    headers: list[dict[str, Any]] | None = None,
) -> Response:
    auth = canonical((values or {}).get("auth", source.get("auth")))
    return render(
        request,
        "sources/detail.html",
        status_code=status_code,
        section="sources",
        title=str(source.get("name") or "Source"),
        source=source,
        values=values or source,
        errors=errors or {},
        flash=flash,
        types=SOURCE_TYPES,
        auth=auth,
        auth_types=[(a, AUTH_LABELS[a]) for a in AUTH_TYPES],
        auth_fields=field_views(auth, source.get("authenticationConfig")),
        header_rows=headers if headers is not None else _header_rows(source),
        test=test,
    )


@router.get("/sources/{ref}")
async def show_source(request: Request, ref: str, created: int = 0, saved: int = 0) -> Response:
    source = await run_in_threadpool(_service(request).get, ref)
    flash = "Source created. Now set its location." if created else "Saved." if saved else None
    return _detail(request, source, flash=flash)


@router.get("/sources/{ref}/auth-fields")
async def auth_fields(request: Request, ref: str, auth: str = "none") -> Response:
    """The authentication fields for another method, swapped in by htmx when the select changes."""
    source = await run_in_threadpool(_service(request).get, ref)
    method = canonical(auth)
    stored = source.get("authenticationConfig") if canonical(source.get("auth")) == method else {}
    return render(
        request, "sources/_auth_fields.html", auth=method, auth_fields=field_views(method, stored), errors={}
    )


def _read_headers(
    lists: dict[str, list[str]], stored: dict[str, Any]
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]]:
    names = lists.get("header.name", [])
    values = lists.get("header.value", [])
    clears = set(lists.get("header.clear", []))
    ticked = set(lists.get("header.secret", []))
    headers: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for i, name in enumerate(names):
        name = name.strip()
        value = values[i].strip() if i < len(values) else ""
        by_name = is_sensitive(name)
        secret = by_name or str(i) in ticked
        kept = secret and not value and stored.get(name) not in (None, "") and str(i) not in clears
        rows.append(
            {
                "name": name,
                "value": "" if secret else value,
                "secret": secret,
                "by_name": by_name,
                "is_set": kept,
            }
        )
        if not name:
            if value:
                errors[f"header.{i}"] = "Give the header a name."
            continue
        if any(c in name for c in " :\r\n"):
            errors[f"header.{i}"] = f"A header name has no spaces or colons: {name!r}."
            continue
        if str(i) in clears:
            continue
        if secret and not value:
            if kept:
                headers[name] = MASK
            continue
        headers[name] = value
    return headers, rows, errors


@router.post("/sources/{ref}")
async def save_source(request: Request, ref: str) -> Response:
    service = _service(request)
    source = await run_in_threadpool(service.get, ref)
    form = await form_of(request)
    lists = await form_lists(request)
    action = form.get("action", "save")
    auth = canonical(form.get("auth", "none"))
    values = {
        **source,
        "name": form.get("name", ""),
        "type": form.get("type", ""),
        "description": form.get("description", ""),
        "location": form.get("location", ""),
        "isEnabled": bool(form.get("isEnabled")),
        "auth": auth,
    }
    stored_auth = source.get("authenticationConfig") if canonical(source.get("auth")) == auth else {}
    auth_config, errors = read_auth(auth, form, stored_auth) if auth in AUTH_TYPES else ({}, {})
    configuration = dict(source.get("configuration") or {})
    headers, header_rows, header_errors = _read_headers(lists, configuration.get("headers") or {})
    errors.update(header_errors)
    if action == "add-header":
        header_rows.append({"name": "", "value": "", "secret": False, "by_name": False, "is_set": False})
    for key, message in {
        "name": check_name(values["name"]),
        "type": check_choice(values["type"], SOURCE_TYPES, "type"),
        "location": check_url(values["location"]),
        "auth": check_choice(auth, AUTH_TYPES, "authentication method"),
    }.items():
        if message:
            errors[key] = message
    if errors or action == "add-header":
        return _detail(
            request,
            source,
            errors=errors,
            values=values,
            headers=header_rows,
            status_code=400 if errors else 200,
        )
    configuration["headers"] = headers
    data = {k: values[k] for k in ("name", "type", "description", "location", "isEnabled", "auth")}
    others = [p for p in source.get("secretFields") or [] if not str(p).startswith(_HEADER_PATH)]
    data["secretFields"] = others + [
        _HEADER_PATH + row["name"]
        for row in header_rows
        if row["secret"] and not row["by_name"] and row["name"] in headers
    ]
    data["authenticationConfig"] = auth_config
    data["configuration"] = configuration
    try:
        await run_in_threadpool(service.update, source["uuid"], data)
    except OpenConnectorError as exc:
        return _detail(
            request,
            source,
            errors=service_errors(exc, "name"),
            values=values,
            headers=header_rows,
            status_code=400,
        )
    return RedirectResponse(f"/sources/{source['id']}?saved=1", status_code=303)


def _test(request: Request, source: dict[str, Any], endpoint: str) -> dict[str, Any]:
    started = time.monotonic()
    try:
        from ..connector.sources import SourceService
    except ImportError:
        return {"ok": False, "message": "Testing sources is not available in this version."}
    try:
        result = SourceService(context_of(request)).test(source["uuid"], endpoint)
    except OpenConnectorError as exc:
        return {
            "ok": False,
            "message": exc.message,
            "response": {"responseTime": round((time.monotonic() - started) * 1000)},
        }
    return result


@router.post("/sources/{ref}/test")
async def test_source(request: Request, ref: str) -> Response:
    source = await run_in_threadpool(_service(request).get, ref)
    form = await form_of(request)
    result = await run_in_threadpool(_test, request, source, form.get("endpoint", ""))
    if is_htmx(request):
        return render(request, "sources/_test_result.html", test=result)
    return _detail(request, source, test=result)
