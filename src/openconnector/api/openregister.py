"""OpenRegister's REST API: registers, schemas and objects.

Mounted at ``/index.php/apps/openregister`` and ``/apps/openregister``. Every
route needs login. Register, schema and object are referenced by id, uuid or slug.

PUT on a register or schema changes only the fields it names, as OpenRegister's
``updateFromArray`` does (a register PUT without ``schemas`` keeps its schemas);
PUT on an object replaces it (OpenRegister's documented full replace), PATCH merges.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..register.objects import ObjectService
from ..register.registers import RegisterService
from . import bodies
from .bodies import body
from .deps import context_of, json_object, query_docs, query_pairs, require_user
from .responses import FastJSONResponse as ORJSONResponse

router = APIRouter(dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)


def _registers(request: Request) -> RegisterService:
    return RegisterService(context_of(request))


def _objects(request: Request) -> ObjectService:
    return ObjectService(context_of(request))


def _envelope(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"results": items, "total": len(items)}


# -- registers -------------------------------------------------------------------------


@router.get("/api/registers", openapi_extra=query_docs(_search="only registers matching this text"))
async def list_registers(request: Request) -> Any:
    search = request.query_params.get("_search")
    return _envelope(await run_in_threadpool(_registers(request).list_registers, search))


@router.post("/api/registers", status_code=201, openapi_extra=body(bodies.REGISTER))
async def create_register(request: Request) -> Any:
    body = await json_object(request, schema=bodies.REGISTER)
    return ORJSONResponse(await run_in_threadpool(_registers(request).create_register, body), status_code=201)


@router.get("/api/registers/{ref}")
async def get_register(ref: str, request: Request) -> Any:
    return await run_in_threadpool(_registers(request).get_register, ref)


@router.put("/api/registers/{ref}", openapi_extra=body(bodies.REGISTER_PATCH))
@router.patch("/api/registers/{ref}", openapi_extra=body(bodies.REGISTER_PATCH))
async def patch_register(ref: str, request: Request) -> Any:
    body = await json_object(request, schema=bodies.REGISTER_PATCH)
    return await run_in_threadpool(_registers(request).update_register, ref, body)


@router.delete("/api/registers/{ref}", status_code=204, response_class=Response)
async def delete_register(ref: str, request: Request) -> Response:
    await run_in_threadpool(_registers(request).delete_register, ref)
    return Response(status_code=204)


@router.get("/api/registers/{ref}/schemas")
async def register_schemas(ref: str, request: Request) -> Any:
    return _envelope(await run_in_threadpool(_registers(request).list_schemas, ref))


# -- schemas ---------------------------------------------------------------------------


@router.get(
    "/api/schemas", openapi_extra=query_docs(register="only the schemas of this register (id, uuid or slug)")
)
async def list_schemas(request: Request) -> Any:
    return _envelope(
        await run_in_threadpool(_registers(request).list_schemas, request.query_params.get("register"))
    )


@router.post("/api/schemas", status_code=201, openapi_extra=body(bodies.SCHEMA))
async def create_schema(request: Request) -> Any:
    body = await json_object(request, schema=bodies.SCHEMA)
    register = body.pop("register", None) or request.query_params.get("register")
    result = await run_in_threadpool(lambda: _registers(request).create_schema(body, register=register))
    return ORJSONResponse(result, status_code=201)


@router.get("/api/schemas/{ref}")
async def get_schema(ref: str, request: Request) -> Any:
    return await run_in_threadpool(_registers(request).get_schema, ref)


@router.put("/api/schemas/{ref}", openapi_extra=body(bodies.SCHEMA_PATCH))
@router.patch("/api/schemas/{ref}", openapi_extra=body(bodies.SCHEMA_PATCH))
async def patch_schema(ref: str, request: Request) -> Any:
    body = await json_object(request, schema=bodies.SCHEMA_PATCH)
    return await run_in_threadpool(_registers(request).update_schema, ref, body)


@router.delete("/api/schemas/{ref}", status_code=204, response_class=Response)
async def delete_schema(ref: str, request: Request) -> Response:
    await run_in_threadpool(_registers(request).delete_schema, ref)
    return Response(status_code=204)


# -- objects ---------------------------------------------------------------------------


@router.get(
    "/api/objects/{register}/{schema}",
    description="Objects of a schema, paged. Filter on any property: ``?title=Bella`` (equal), "
    "``?status[]=a&status[]=b`` (any of), ``?publicatiedatum[gte]=2026-01-01`` (also ``lte``, ``gt``, "
    "``lt``, ``ne``), ``?title=IS NULL``; sort with ``_order[<property>]=asc|desc``; count values with "
    "``_facets[<property>][type]=terms``.",
    openapi_extra=query_docs(
        _limit="results per page (default 20, at most 1000; 0 for only counts and facets)",
        _page="page number, from 1",
        _offset="results to skip (instead of _page)",
        _search="case-insensitive text search over the string properties",
    ),
)
async def list_objects(register: str, schema: str, request: Request) -> Any:
    params = query_pairs(request)
    return await run_in_threadpool(lambda: _objects(request).find_all(register, schema, params=params))


@router.post("/api/objects/{register}/{schema}", status_code=201, openapi_extra=body(bodies.OBJECT))
async def create_object(register: str, schema: str, request: Request) -> Any:
    body = await json_object(request)
    user = request.state.user
    result = await run_in_threadpool(
        lambda: _objects(request).save_object(body, register, schema, owner=user)
    )
    return ORJSONResponse(result, status_code=201)


@router.get("/api/objects/{register}/{schema}/{object_id}")
async def get_object(register: str, schema: str, object_id: str, request: Request) -> Any:
    return await run_in_threadpool(_objects(request).find, object_id, register, schema)


@router.put("/api/objects/{register}/{schema}/{object_id}", openapi_extra=body(bodies.OBJECT))
async def replace_object(register: str, schema: str, object_id: str, request: Request) -> Any:
    body = await json_object(request)
    service = _objects(request)

    def replace() -> dict[str, Any]:
        service.find(object_id, register, schema)
        return service.save_object(body, register, schema, uuid=object_id)

    return await run_in_threadpool(replace)


@router.patch("/api/objects/{register}/{schema}/{object_id}", openapi_extra=body(bodies.OBJECT))
@router.post("/api/objects/{register}/{schema}/{object_id}", openapi_extra=body(bodies.OBJECT))
async def patch_object(register: str, schema: str, object_id: str, request: Request) -> Any:
    body = await json_object(request)
    service = _objects(request)

    def patch() -> dict[str, Any]:
        service.find(object_id, register, schema)
        return service.save_object(body, register, schema, uuid=object_id, patch=True)

    return await run_in_threadpool(patch)


@router.delete("/api/objects/{register}/{schema}/{object_id}", status_code=204, response_class=Response)
async def delete_object(register: str, schema: str, object_id: str, request: Request) -> Response:
    await run_in_threadpool(_objects(request).delete_object, object_id, register, schema)
    return Response(status_code=204)
