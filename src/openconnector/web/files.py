"""The files panel of an object page: upload, publish, unpublish, delete.

Each action answers the panel again (htmx swaps ``#files``), or, for a browser
without script, the whole object page. An htmx upload carries its CSRF token in
the ``X-CSRF-Token`` header, so the body is never parsed before it gets here and
streams straight into the storage (``api/uploads.py``); a plain form post has
been parsed by the CSRF check already (Starlette spools its file to disk) and is
read from there.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from ..api.files import store_form
from ..api.uploads import MultipartReader, body_chunks, boundary_of
from ..errors import BadRequest, NotFound, OpenConnectorError
from ..files.service import FileService
from .pages import context_of, is_htmx, page_router
from .registers import object_page
from .security import CSRF_HEADER
from .templating import render

router = page_router()

BASE = "/registers/{register_ref}/schemas/{schema_ref}/objects/{object_id}/files"


def _service(request: Request) -> FileService:
    return FileService(context_of(request), base_url=str(request.base_url))


async def _answer(
    request: Request, refs: tuple[str, str, str], *, error: str | None = None, notice: str | None = None
) -> Response:
    data = await run_in_threadpool(object_page, request, *refs)
    status = 400 if error else 200
    extra = {"files_error": error, "files_notice": notice}
    if is_htmx(request):
        # htmx swaps only 2xx answers by default: the panel with its error comes as a 200
        return render(request, "registers/_files.html", **data, **extra)
    return render(
        request,
        "registers/object.html",
        status_code=status,
        section="registers",
        title=str(data["object"]["@self"].get("name")),
        **data,
        **extra,
    )


@router.post(BASE)
async def upload(request: Request, register_ref: str, schema_ref: str, object_id: str) -> Response:
    refs = (register_ref, schema_ref, object_id)
    service = _service(request)
    where = {"register": register_ref, "schema": schema_ref, "owner": request.session.get("user")}
    try:
        await run_in_threadpool(service.objects.find, object_id, register_ref, schema_ref)
        if request.headers.get(CSRF_HEADER):  # htmx: the body is still unread, stream it
            boundary = boundary_of(request.headers.get("content-type", ""))
            if boundary is None:
                raise BadRequest("Choose a file to upload")
            reader = MultipartReader(body_chunks(request), boundary)
            made = await run_in_threadpool(store_form, service, object_id, reader, where)
        else:
            made = await _from_parsed_form(request, service, object_id, where)
    except OpenConnectorError as exc:
        if isinstance(exc, NotFound) and "file" not in exc.details:  # no such object: the 404 page
            raise
        return await _answer(request, refs, error=exc.message)
    return await _answer(request, refs, notice=f"Uploaded {made['title']}.")


async def _from_parsed_form(
    request: Request, service: FileService, object_id: str, where: dict[str, Any]
) -> dict[str, Any]:
    form = await request.form(max_part_size=1024 * 1024)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise BadRequest("Choose a file to upload")
    labels = form.get("labels")
    published = form.get("published")
    try:
        return await run_in_threadpool(
            lambda: service.add(
                object_id,
                upload.file,
                name=upload.filename,
                content_type=upload.content_type,
                labels=labels if isinstance(labels, str) else None,
                published=published if isinstance(published, str) else None,
                **where,
            )
        )
    finally:
        await upload.close()


async def _change(request: Request, refs: tuple[str, str, str], file_id: str, action: str) -> Response:
    register_ref, schema_ref, object_id = refs
    service = _service(request)
    where = {"register": register_ref, "schema": schema_ref}
    try:
        current = await run_in_threadpool(lambda: service.get(object_id, file_id, **where))
        if action == "delete":
            await run_in_threadpool(lambda: service.delete(object_id, file_id, **where))
            notice = f"Deleted {current['title']}."
        else:
            published = True if action == "publish" else None
            await run_in_threadpool(lambda: service.update(object_id, file_id, published=published, **where))
            notice = f"{'Published' if published else 'Unpublished'} {current['title']}."
    except OpenConnectorError as exc:
        if isinstance(exc, NotFound) and "file" not in exc.details:  # no such object: the 404 page
            raise
        return await _answer(request, refs, error=exc.message)
    return await _answer(request, refs, notice=notice)


@router.post(BASE + "/{file_id}/publish")
async def publish(
    request: Request, register_ref: str, schema_ref: str, object_id: str, file_id: str
) -> Response:
    return await _change(request, (register_ref, schema_ref, object_id), file_id, "publish")


@router.post(BASE + "/{file_id}/unpublish")
async def unpublish(
    request: Request, register_ref: str, schema_ref: str, object_id: str, file_id: str
) -> Response:
    return await _change(request, (register_ref, schema_ref, object_id), file_id, "unpublish")


@router.post(BASE + "/{file_id}/delete")
async def delete(
    request: Request, register_ref: str, schema_ref: str, object_id: str, file_id: str
) -> Response:
    return await _change(request, (register_ref, schema_ref, object_id), file_id, "delete")
