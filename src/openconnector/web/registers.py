"""Registers → schemas → objects: where a user sees the synchronised datasets arrive."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..errors import OpenConnectorError
from ..register.objects import ObjectService
from ..register.registers import RegisterService
from .pages import context_of, page_router
from .templating import render

router = page_router()

PAGE_SIZE = 20
MAX_FILTERS = 6
MAX_COLUMNS = 4
_SCALARS = ("string", "integer", "number", "boolean")


def _scalar_properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Properties worth a filter input or a column: scalars, enums first."""
    found = []
    for name, spec in (schema.get("properties") or {}).items():
        if not isinstance(spec, dict):
            continue
        kinds = spec.get("type") if isinstance(spec.get("type"), list) else [spec.get("type")]
        if name.startswith("_"):
            continue
        if any(k in _SCALARS for k in kinds) and spec.get("format") not in ("binary", "byte"):
            found.append((name, spec))
    found.sort(key=lambda item: 0 if item[1].get("enum") else 1)
    return found


@router.get("/registers")
async def list_registers(request: Request) -> Response:
    service = RegisterService(context_of(request))
    registers = await run_in_threadpool(service.list_registers)
    return render(request, "registers/list.html", section="registers", title="Registers", registers=registers)


def _register_page(request: Request, ref: str) -> dict[str, Any]:
    context = context_of(request)
    registers, objects = RegisterService(context), ObjectService(context)
    register = registers.get_register(ref)
    schemas = [(s, objects.count(register["id"], s["id"])) for s in registers.list_schemas(register["id"])]
    return {"register": register, "schemas": schemas}


@router.get("/registers/{ref}")
async def show_register(request: Request, ref: str) -> Response:
    data = await run_in_threadpool(_register_page, request, ref)
    return render(
        request,
        "registers/detail.html",
        section="registers",
        title=str(data["register"].get("title")),
        **data,
    )


def _objects_page(request: Request, register_ref: str, schema_ref: str) -> dict[str, Any]:
    context = context_of(request)
    objects = ObjectService(context)
    register, schema = objects.resolve(register_ref, schema_ref)
    props = _scalar_properties(schema)
    filterable = props[:MAX_FILTERS]
    name_field = (schema.get("configuration") or {}).get("objectNameField") or "title"
    columns = [(name, spec) for name, spec in props if name not in (name_field, "name")][:MAX_COLUMNS]
    query = request.query_params
    search = query.get("_search", "").strip()
    filters = {name: query.get(name, "").strip() for name, _ in filterable}
    page = query.get("_page", "1")
    params = [(k, v) for k, v in filters.items() if v]
    if search:
        params.append(("_search", search))
    params += [("_page", page if page.isdigit() and int(page) > 0 else "1"), ("_limit", str(PAGE_SIZE))]
    error = None
    try:
        found = objects.find_all(register["id"], schema["id"], params=params)
    except OpenConnectorError as exc:
        error = exc.message
        found = {"results": [], "total": 0, "page": 1, "pages": 1}
    base_query = {k: v for k, v in filters.items() if v}
    if search:
        base_query["_search"] = search
    base = f"/registers/{register['id']}/schemas/{schema['id']}?" + urlencode(base_query)
    return {
        "register": register,
        "schema": schema,
        "found": found,
        "filters": filters,
        "search": search,
        "filterable": filterable,
        "columns": columns,
        "base": base,
        "error": error,
    }


@router.get("/registers/{register_ref}/schemas/{schema_ref}")
async def list_objects(request: Request, register_ref: str, schema_ref: str) -> Response:
    data = await run_in_threadpool(_objects_page, request, register_ref, schema_ref)
    return render(
        request,
        "registers/objects.html",
        section="registers",
        title=f"{data['schema'].get('title')} · {data['register'].get('title')}",
        **data,
    )


def object_page(request: Request, register_ref: str, schema_ref: str, object_id: str) -> dict[str, Any]:
    """What the object page shows: the object and its files (``web/files.py`` re-renders the files)."""
    from ..files.service import FileService

    context = context_of(request)
    objects = ObjectService(context)
    register, schema = objects.resolve(register_ref, schema_ref)
    obj = objects.find(object_id, register["id"], schema["id"])
    files = FileService(context, base_url=str(request.base_url)).list(obj["id"])
    return {"register": register, "schema": schema, "object": obj, "files": files}


@router.get("/registers/{register_ref}/schemas/{schema_ref}/objects/{object_id}")
async def show_object(request: Request, register_ref: str, schema_ref: str, object_id: str) -> Response:
    data = await run_in_threadpool(object_page, request, register_ref, schema_ref, object_id)
    return render(
        request,
        "registers/object.html",
        section="registers",
        title=str(data["object"]["@self"].get("name")),
        **data,
    )
