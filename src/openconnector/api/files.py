"""OpenRegister's file routes: files attached to an object.

Mounted with OpenRegister's routes (``/index.php/apps/openregister`` and
``/apps/openregister``); every route needs login::

    GET    /api/objects/{register}/{schema}/{id}/files                  the object's files
    POST   /api/objects/{register}/{schema}/{id}/files                  upload (multipart or raw body)
    GET    /api/objects/{register}/{schema}/{id}/files/{fileId}         one file
    PUT    /api/objects/{register}/{schema}/{id}/files/{fileId}         name, labels, published
    DELETE /api/objects/{register}/{schema}/{id}/files/{fileId}
    GET    /api/objects/{register}/{schema}/{id}/files/{fileId}/download   the bytes
    POST   /api/objects/{register}/{schema}/{id}/files/{fileId}/publish|depublish

Uploads and downloads stream (``api/uploads.py``, ``files/storage.py``): a file of
gigabytes passes through in chunks of about a megabyte.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from python_multipart.multipart import parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ..errors import BadRequest
from ..files.names import NAME_PATTERN, content_disposition
from ..files.service import FileService
from . import bodies
from .bodies import answers, body
from .deps import context_of, json_object, require_user
from .responses import FastJSONResponse as ORJSONResponse
from .uploads import MultipartReader, body_chunks, boundary_of, refuse_declared_length

router = APIRouter(dependencies=[Depends(require_user)], responses=bodies.ADMIN_ERRORS)

FILES = "/api/objects/{register}/{schema}/{object_id}/files"
ONE = FILES + "/{file_id}"

_PUBLISHED = {
    "anyOf": [{"type": ["boolean", "null"]}, {"type": "string", "format": "date-time"}],
    "description": "true: published now; a date-time: published from then; false or null: not published",
}
_LABELS = {
    "anyOf": [
        {"type": "array", "items": {"type": "string", "maxLength": 100}, "maxItems": 50},
        {"type": "string"},
    ],
    "description": "Labels (tags) of the file: a list, or one text with commas",
}
_NAME = {"type": "string", "pattern": NAME_PATTERN, "maxLength": 1000, "description": "The file name"}

#: PUT body: what can change about a file (its bytes cannot: upload a new file).
FILE_PATCH = bodies._object({"name": _NAME, "title": _NAME, "labels": _LABELS, "published": _PUBLISHED})

#: POST body: the file as multipart field ``file`` (with ``name``, ``labels``, ``published``
#: fields), or the raw bytes with the name in ``?name=``.
UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "name": _NAME,
                        "labels": {"type": "string", "description": "Labels, comma-separated"},
                        "published": {
                            "type": "string",
                            "format": "date-time",
                            "description": "true, or when the file is published from",
                        },
                    },
                    "required": ["file"],
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    },
    "parameters": [
        {
            "name": "name",
            "in": "query",
            "required": False,
            "schema": _NAME,
            "description": "The file name for a raw body (else the X-File-Name header)",
        },
        {
            "name": "labels",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "Labels, comma-separated",
        },
        {
            "name": "published",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date-time"},
            "description": "true, or when the file is published from",
        },
    ],
}

_DOWNLOAD = {
    200: {
        "description": "The file's bytes, with its content type, size and name",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _files(request: Request) -> FileService:
    context = context_of(request)
    base = context.settings.base_url or str(request.base_url)
    return FileService(context, base_url=base)


@router.get(FILES)
async def list_files(register: str, schema: str, object_id: str, request: Request) -> Any:
    found = await run_in_threadpool(lambda: _files(request).list(object_id, register=register, schema=schema))
    return {"results": found, "total": len(found)}


@router.post(FILES, status_code=201, openapi_extra=UPLOAD, responses=answers(413, 503))
async def upload_file(register: str, schema: str, object_id: str, request: Request) -> Any:
    """Attach a file: multipart ``file`` field, or the raw body named by ``?name=``."""
    service = _files(request)
    await run_in_threadpool(service.objects.find, object_id, register, schema)  # 404 before any byte
    refuse_declared_length(request, service.context.settings.files_max_size)
    boundary = boundary_of(request.headers.get("content-type", ""))
    where = {"register": register, "schema": schema, "owner": request.state.user}

    def from_form() -> dict[str, Any]:
        return store_form(service, object_id, MultipartReader(body_chunks(request), boundary), where)

    def from_body() -> dict[str, Any]:
        query = request.query_params
        name = (
            query.get("name") or unquote(request.headers.get("x-file-name", "")) or _disposition_name(request)
        )
        if not name:
            raise BadRequest(
                "Name the file: ?name=report.pdf, an X-File-Name header, or send multipart/form-data",
                parameter="name",
            )
        return service.add(
            object_id,
            body_chunks(request),
            name=name,
            content_type=request.headers.get("content-type"),
            labels=query.get("labels"),
            published=query.get("published"),
            **where,
        )

    try:
        made = await run_in_threadpool(from_form if boundary else from_body)
    except ClientDisconnect:
        raise BadRequest("The upload was interrupted before the whole file arrived") from None
    return ORJSONResponse(made, status_code=201)


def store_form(service: FileService, object_id: str, reader: MultipartReader, where: dict[str, Any]) -> dict:
    """Store the multipart ``file`` part; fields before it go with it, fields after it
    are applied once it is stored (browsers send fields in form order)."""
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    made: dict[str, Any] | None = None
    for item in reader:
        if isinstance(item, tuple):
            name, value = item
            key = name.removesuffix("[]")
            if key not in ("name", "title", "labels", "published"):
                continue  # unknown fields are ignored, as JSON bodies keep unknown keys
            target = after if made is not None else before
            if key == "labels":
                target.setdefault("labels", []).extend(v for v in value.split(",") if v.strip())
            else:
                target["name" if key == "title" else key] = value
            continue
        if item.field != "file":
            raise BadRequest(f'Send the file in the form field "file", not {item.field!r}', parameter="file")
        if made is not None:
            raise BadRequest("One file per request: send each file in its own POST", parameter="file")
        made = service.add(
            object_id,
            item.chunks,
            name=before.get("name") or item.filename,
            content_type=item.content_type,
            labels=before.get("labels"),
            published=before.get("published"),
            **where,
        )
    if made is None:
        raise BadRequest('Send the file as multipart/form-data in the field "file"', parameter="file")
    if after:
        made = service.update(
            object_id,
            made["id"],
            name=after.get("name"),
            labels=after.get("labels"),
            register=where["register"],
            schema=where["schema"],
            **({"published": after["published"]} if "published" in after else {}),
        )
    return made


def _disposition_name(request: Request) -> str | None:
    header = request.headers.get("content-disposition")
    if not header:
        return None
    _, options = parse_options_header(header)
    encoded = options.get(b"filename*")
    if encoded and b"''" in encoded:
        return unquote(encoded.split(b"''", 1)[1].decode("latin-1"), encoding="utf-8", errors="replace")
    value = options.get(b"filename")
    return value.decode("utf-8", "replace") if value else None


@router.get(ONE)
async def get_file(register: str, schema: str, object_id: str, file_id: str, request: Request) -> Any:
    return await run_in_threadpool(
        lambda: _files(request).get(object_id, file_id, register=register, schema=schema)
    )


@router.put(ONE, openapi_extra=body(FILE_PATCH))
@router.patch(ONE, openapi_extra=body(FILE_PATCH))
async def update_file(register: str, schema: str, object_id: str, file_id: str, request: Request) -> Any:
    """Rename, relabel, publish or unpublish a file; properties left out stay."""
    data = await json_object(request, schema=FILE_PATCH)
    changes: dict[str, Any] = {
        "name": data.get("name") or data.get("title"),
        "labels": data.get("labels"),
    }
    if "published" in data:
        changes["published"] = data["published"]
    return await run_in_threadpool(
        lambda: _files(request).update(object_id, file_id, register=register, schema=schema, **changes)
    )


@router.post(ONE + "/publish", openapi_extra=body(bodies._object({"date": _PUBLISHED}), required=False))
async def publish_file(register: str, schema: str, object_id: str, file_id: str, request: Request) -> Any:
    """Publish a file now, or from ``{"date": ...}`` (OpenRegister's file publish route)."""
    data = await json_object(request, required=False, schema=bodies._object({"date": _PUBLISHED}))
    when = data.get("date") or True
    return await run_in_threadpool(
        lambda: _files(request).update(object_id, file_id, register=register, schema=schema, published=when)
    )


@router.post(ONE + "/depublish", openapi_extra=body(bodies._object({}), required=False))
async def depublish_file(register: str, schema: str, object_id: str, file_id: str, request: Request) -> Any:
    return await run_in_threadpool(
        lambda: _files(request).depublish(object_id, file_id, register=register, schema=schema)
    )


@router.delete(ONE, status_code=204, response_class=Response)
async def delete_file(register: str, schema: str, object_id: str, file_id: str, request: Request) -> Response:
    await run_in_threadpool(
        lambda: _files(request).delete(object_id, file_id, register=register, schema=schema)
    )
    return Response(status_code=204)


@router.get(ONE + "/download", response_class=StreamingResponse, responses={**_DOWNLOAD, **answers(503)})
async def download_file(
    register: str, schema: str, object_id: str, file_id: str, request: Request
) -> StreamingResponse:
    """The file's bytes, streamed, always as an attachment (never rendered on this site)."""
    found, chunks = await run_in_threadpool(
        lambda: _files(request).download(object_id, file_id, register=register, schema=schema)
    )
    return file_response(found, chunks)


def file_response(found: dict[str, Any], chunks: Any, *, inline: bool = False) -> StreamingResponse:
    """A streamed answer for a stored file: its type, exact length, a safe name, its
    sha256 as ETag, and a sandbox policy so a stored HTML or SVG file can never run
    script on this site even when a browser is told to show it."""
    return StreamingResponse(
        chunks,
        media_type=found["type"],
        headers={
            "Content-Length": str(found["size"]),
            "Content-Disposition": content_disposition(found["title"], "inline" if inline else "attachment"),
            "ETag": f'"{found["hash"]}"',
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-cache",
        },
    )
