"""Sources: list and search, add, edit location, authentication and headers, test."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..connector import checks
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

#: The types a synchronisation can read, as the save check accepts them (connector/checks.py),
#: less "json", the original's other name for "api".
SOURCE_TYPES = tuple(kind for kind in checks.SOURCE_TYPES if kind != "json")
TYPE_LABELS = {
    "api": "api (JSON; XML by content type)",
    "xml": "xml",
    "soap": "soap (WSDL operation)",
    "csv": "csv file",
    "jsonl": "jsonl file (JSON Lines)",
    "xlsx": "xlsx file (Excel)",
    "dcat": "dcat (harvest a DCAT-AP feed)",
}
FILE_TYPES = checks.FILE_TYPES
_CONCURRENCY = ("detailConcurrency", "Detail calls at once", "For extraDataConfigs; empty = 8")
#: Per type, the configuration settings the form shows: (key, label, help).
TYPE_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "api": [_CONCURRENCY],
    "xml": [_CONCURRENCY],
    "soap": [("wsdl", "WSDL", "Address of the WSDL; empty = the location + ?wsdl"), _CONCURRENCY],
    "csv": [
        ("delimiter", "Delimiter", "Empty = detected (, ; tab |)"),
        ("encoding", "Encoding", "Empty = detected (UTF-8, else Windows-1252)"),
    ],
    "jsonl": [],
    "xlsx": [("sheet", "Sheet", "Empty = the first sheet")],
    "dcat": [],
}
LOCATION_HELP = {
    "soap": "The service address, e.g. https://zaken.example.nl/soap",
    "dcat": "The feed URL, e.g. https://data.example.nl/index.php/apps/opencatalogi/api/dcat",
    "csv": "The file's URL, or upload a file below",
    "jsonl": "The file's URL, or upload a file below",
    "xlsx": "The file's URL, or upload a file below",
}


def _type_options() -> list[tuple[str, str]]:
    return [(t, TYPE_LABELS[t]) for t in SOURCE_TYPES]


def _types(source: dict[str, Any]) -> list[tuple[str, str]]:
    """The types offered: the working ones, and a stored other one so a save keeps it."""
    stored = source.get("type")
    options = _type_options()
    if stored and stored not in SOURCE_TYPES:
        options.append((str(stored), str(stored)))
    return options


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
        Field("type", "Type", "select", _type_options()),
        Field("description", "Description", "textarea"),
    ],
    new_defaults={"type": "api", "isEnabled": True, "auth": "none", "location": ""},
    draft=True,  # the location is set on the source's page, as the tutorial does it
    empty="No sources yet. Add one to pull data from an external API.",
)
SOURCES.mount(router)


@dataclass(frozen=True)
class Pairs:
    """A name/value table of the source form, stored in ``configuration.<key>``.

    Headers and query parameters work alike: a value whose name says it is a
    credential is always secret; any other can be marked secret with its box
    (kept in the source's ``secretFields`` as ``configuration.<key>.<name>``).
    A secret value is write-only: left empty, the stored one is kept.
    """

    field: str  # the form fields' prefix: header.name, header.value, header.secret, header.clear
    key: str  # where in configuration
    noun: str
    forbidden: str  # characters a name cannot hold
    rule: str  # the error text for such a name

    @property
    def path(self) -> str:
        return f"configuration.{self.key}."


HEADERS = Pairs("header", "headers", "header", " :\r\n", "has no spaces or colons")
QUERY = Pairs("query", "query", "query parameter", " &=#\r\n", "has no spaces, &, = or #")


def _marked(source: dict[str, Any], pairs: Pairs) -> set[str]:
    """Names in this table the source's user marked secret (``secretFields``)."""
    listed = source.get("secretFields") or []
    return {p[len(pairs.path) :] for p in listed if isinstance(p, str) and p.startswith(pairs.path)}


def _row(name: str, value: Any, secret: bool, by_name: bool, is_set: bool) -> dict[str, Any]:
    return {
        "name": name,
        "value": "" if secret else value,
        "secret": secret,
        "by_name": by_name,
        "is_set": is_set,
    }


def _rows(source: dict[str, Any], pairs: Pairs) -> list[dict[str, Any]]:
    stored = ((source.get("configuration") or {}).get(pairs.key)) or {}
    if not isinstance(stored, dict):
        return []
    marked = _marked(source, pairs)
    rows = []
    for name, value in stored.items():
        by_name = is_sensitive(name)
        secret = by_name or name in marked
        rows.append(_row(name, value, secret, by_name, secret and value not in (None, "")))
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
    query: list[dict[str, Any]] | None = None,
) -> Response:
    auth = canonical((values or {}).get("auth", source.get("auth")))
    shown = values or source
    kind = str(shown.get("type") or "api")
    configuration = (values or {}).get("configuration") or source.get("configuration") or {}
    type_fields = [
        {"key": key, "label": label, "help": help_text, "value": configuration.get(key, "")}
        for key, label, help_text in TYPE_FIELDS.get(kind, [])
    ]
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
        types=_types(source),
        type_fields=type_fields,
        is_file=kind in FILE_TYPES,
        location_help=LOCATION_HELP.get(kind, "For example https://petstore3.swagger.io/api/v3"),
        auth=auth,
        auth_types=[(a, AUTH_LABELS[a]) for a in AUTH_TYPES],
        auth_fields=field_views(auth, source.get("authenticationConfig")),
        header_rows=headers if headers is not None else _rows(source, HEADERS),
        query_rows=query if query is not None else _rows(source, QUERY),
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


def _read_rows(
    lists: dict[str, list[str]], stored: dict[str, Any], pairs: Pairs
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]]:
    """The table's values (a kept secret as the mask), its rows to show again, and errors."""
    names = lists.get(f"{pairs.field}.name", [])
    values = lists.get(f"{pairs.field}.value", [])
    clears = set(lists.get(f"{pairs.field}.clear", []))
    ticked = set(lists.get(f"{pairs.field}.secret", []))
    found: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    for i, name in enumerate(names):
        name = name.strip()
        value = values[i].strip() if i < len(values) else ""
        by_name = is_sensitive(name)
        secret = by_name or str(i) in ticked
        kept = secret and not value and stored.get(name) not in (None, "") and str(i) not in clears
        rows.append(_row(name, value, secret, by_name, kept))
        if not name:
            if value:
                errors[f"{pairs.field}.{i}"] = f"Give the {pairs.noun} a name."
            continue
        if any(c in name for c in pairs.forbidden):
            errors[f"{pairs.field}.{i}"] = f"A {pairs.noun} name {pairs.rule}: {name!r}."
            continue
        if str(i) in clears:
            continue
        if secret and not value:
            if kept:
                found[name] = MASK
            continue
        found[name] = value
    return found, rows, errors


def _secret_fields(
    source: dict[str, Any], tables: dict[Pairs, tuple[dict[str, Any], list[dict[str, Any]]]]
) -> list[str]:
    """``secretFields`` after a save: the marked rows of the tables in the form, other paths kept."""
    prefixes = tuple(pairs.path for pairs in tables)
    kept = [p for p in source.get("secretFields") or [] if not str(p).startswith(prefixes)]
    marked = [
        pairs.path + row["name"]
        for pairs, (found, rows) in tables.items()
        for row in rows
        if row["secret"] and not row["by_name"] and row["name"] in found
    ]
    return kept + marked


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
    tables: dict[Pairs, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    for pairs in (HEADERS, QUERY):
        if f"{pairs.field}.name" not in lists and pairs is not HEADERS and action != f"add-{pairs.field}":
            continue  # a form without this table (none shown yet) leaves it as stored
        stored = configuration.get(pairs.key)
        found, rows, table_errors = _read_rows(lists, stored if isinstance(stored, dict) else {}, pairs)
        errors.update(table_errors)
        if action == f"add-{pairs.field}":
            rows.append(_row("", "", False, False, False))
        tables[pairs] = (found, rows)
    header_rows = tables[HEADERS][1]
    query_rows = tables[QUERY][1] if QUERY in tables else None
    adding = action in ("add-header", "add-query")
    uploaded = values["type"] in FILE_TYPES and values["location"].startswith("upload:")
    for key, message in {
        "name": check_name(values["name"]),
        "type": check_choice(values["type"], [t for t, _ in _types(source)], "type"),
        "location": None if uploaded else check_url(values["location"]),
        "auth": check_choice(auth, AUTH_TYPES, "authentication method"),
    }.items():
        if message:
            errors[key] = message
    if errors or adding:
        return _detail(
            request,
            source,
            errors=errors,
            values=values,
            headers=header_rows,
            query=query_rows,
            status_code=400 if errors else 200,
        )
    for pairs, (found, _rows_shown) in tables.items():
        configuration[pairs.key] = found
    for key, _, _ in TYPE_FIELDS.get(values["type"], []):
        if f"config.{key}" in form:  # settings of other types, and unshown ones, are kept
            if form[f"config.{key}"]:
                configuration[key] = form[f"config.{key}"]
            else:
                configuration.pop(key, None)
    data = {k: values[k] for k in ("name", "type", "description", "location", "isEnabled", "auth")}
    if data["type"] == source.get("type"):
        del data["type"]  # unchanged: kept as stored, even a type the form would not offer
    if not data["location"] and not source.get("location"):
        del data["location"]  # still a draft (the page says so); clearing a set location is refused
    data["secretFields"] = _secret_fields(source, tables)
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
            query=query_rows,
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


def _preview_table(preview: dict[str, Any] | None) -> dict[str, Any] | None:
    """The preview's records as a table: the first 12 fields the records have, one row each;
    nested values as compact JSON (the template escapes every cell)."""
    if not preview or not preview.get("records"):
        return None
    columns: list[str] = []
    for record in preview["records"]:
        for key in record if isinstance(record, dict) else []:
            if key not in columns and len(columns) < 12:
                columns.append(str(key))

    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return text if len(text) <= 120 else text[:119] + "…"

    rows = [
        [cell(record.get(c)) if isinstance(record, dict) and c in record else "" for c in columns]
        for record in preview["records"]
    ]
    return {"columns": columns, "rows": rows}


@router.post("/sources/{ref}/test")
async def test_source(request: Request, ref: str) -> Response:
    source = await run_in_threadpool(_service(request).get, ref)
    form = await form_of(request)
    result = await run_in_threadpool(_test, request, source, form.get("endpoint", ""))
    result["table"] = _preview_table(result.get("preview"))
    if is_htmx(request):
        return render(request, "sources/_test_result.html", test=result)
    return _detail(request, source, test=result)


@router.post("/sources/{ref}/file")
async def upload_file(request: Request, ref: str) -> Response:
    """A file (CSV, JSON Lines, .xlsx) as the source's data."""
    from ..connector.sources import SourceService

    source = await run_in_threadpool(_service(request).get, ref)
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not upload.filename:
        return _detail(request, source, errors={"file": "Choose a file to upload."}, status_code=400)
    try:
        await run_in_threadpool(
            SourceService(context_of(request)).upload, source["uuid"], upload.filename, upload.file
        )
    except OpenConnectorError as exc:
        return _detail(request, source, errors={"file": exc.message}, status_code=400)
    finally:
        await upload.close()
    return RedirectResponse(f"/sources/{source['id']}?saved=1", status_code=303)
