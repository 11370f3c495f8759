"""Request bodies read as a stream: a raw upload or ``multipart/form-data``, chunk by chunk.

Starlette's ``request.form()`` spools every file part to a temporary file before
the route sees it: a 1 GB upload is written to disk twice and waits for the
whole body. Here the body is pulled from the event loop by the worker thread
that stores it (:func:`body_chunks`), and a multipart body is parsed on the fly
by python-multipart's push parser (:class:`MultipartReader`), so the file's bytes
go straight from the socket to the storage and memory stays flat.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio.from_thread
from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from ..errors import BadRequest
from ..files.storage import too_large

#: Room for a multipart body's boundaries and fields on top of the file itself.
FORM_OVERHEAD = 1024 * 1024

#: Form fields (everything but the file) are small: name, labels, published.
MAX_FIELD_BYTES = 64 * 1024
MAX_FIELDS = 20


def refuse_declared_length(request: Request, limit: int) -> None:
    """413 before a byte of the body is read when its ``Content-Length`` already says it
    is larger than a file of ``limit`` bytes (plus :data:`FORM_OVERHEAD`); the bytes
    themselves are counted again while they are stored."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit + FORM_OVERHEAD:
        raise too_large(limit)


def body_chunks(request: Request) -> Iterator[bytes]:
    """The request body as a blocking iterator, for a worker thread started by the event
    loop (``run_in_threadpool``): each chunk is awaited on the loop, none is buffered."""
    stream: AsyncIterator[bytes] = request.stream()
    while True:
        try:
            chunk = anyio.from_thread.run(stream.__anext__)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


def boundary_of(content_type: str) -> bytes | None:
    """The boundary of a ``multipart/form-data`` content type, else None."""
    kind, options = parse_options_header(content_type)
    if kind != b"multipart/form-data":
        return None
    boundary = options.get(b"boundary")
    if not boundary:
        raise BadRequest("A multipart/form-data body needs a boundary in its Content-Type")
    return boundary


class FilePart:
    """The file of a multipart body: its field, file name, claimed type and its bytes
    (iterate ``chunks`` once, fully, before reading further fields)."""

    def __init__(self, field: str, filename: str | None, content_type: str | None, chunks: Iterator[bytes]):
        self.field = field
        self.filename = filename
        self.content_type = content_type
        self.chunks = chunks


class MultipartReader:
    """Parts of a ``multipart/form-data`` body as they arrive.

    Iterating yields ``(name, value)`` for each text field and a :class:`FilePart` for
    each part with a file name; a file's chunks must be consumed before the next item.
    """

    def __init__(self, chunks: Iterator[bytes], boundary: bytes) -> None:
        self.chunks = chunks
        self._pending: deque[tuple[str, Any]] = deque()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._fields = 0
        callbacks = {
            "on_part_begin": lambda: self._pending.append(("begin", None)),
            "on_part_data": lambda data, start, end: self._pending.append(("data", bytes(data[start:end]))),
            "on_part_end": lambda: self._pending.append(("end", None)),
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
            "on_headers_finished": lambda: self._pending.append(("headers", None)),
        }
        self.parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        self._headers: dict[str, bytes] = {}

    def _header_end(self) -> None:
        name = self._header_field.decode("latin-1").strip().lower()
        self._pending.append(("header", (name, bytes(self._header_value).strip())))
        self._header_field.clear()
        self._header_value.clear()

    def _events(self) -> Iterator[tuple[str, Any]]:
        for raw in self.chunks:
            try:
                self.parser.write(raw)
            except Exception as exc:  # python-multipart's MultipartParseError and friends
                raise BadRequest(f"The multipart body is malformed: {exc}") from None
            yield from self._drain()
        try:
            self.parser.finalize()
        except Exception as exc:
            raise BadRequest(f"The multipart body is malformed: {exc}") from None
        yield from self._drain()

    def _drain(self) -> Iterator[tuple[str, Any]]:
        while self._pending:
            yield self._pending.popleft()

    def __iter__(self) -> Iterator[tuple[str, str] | FilePart]:
        events = self._events()
        for kind, value in events:
            if kind == "begin":
                self._headers = {}
                continue
            if kind == "header":
                self._headers[value[0]] = value[1]
                continue
            if kind != "headers":
                continue
            _, options = parse_options_header(self._headers.get("content-disposition", b""))
            name = options.get(b"name", b"").decode("utf-8", "replace")
            filename = options.get(b"filename")
            if filename is not None:
                yield FilePart(
                    name,
                    filename.decode("utf-8", "replace"),
                    self._headers.get("content-type", b"").decode("latin-1") or None,
                    _part_data(events),
                )
                continue
            self._fields += 1
            if self._fields > MAX_FIELDS:
                raise BadRequest(f"A form takes at most {MAX_FIELDS} fields besides the file")
            text = bytearray()
            for event, data in events:
                if event == "end":
                    break
                text.extend(data)
                if len(text) > MAX_FIELD_BYTES:
                    raise BadRequest(f"The form field {name!r} is longer than {MAX_FIELD_BYTES} bytes")
            yield name, text.decode("utf-8", "replace")


def _part_data(events: Iterator[tuple[str, Any]]) -> Iterator[bytes]:
    for event, data in events:
        if event == "end":
            return
        if event == "data" and data:
            yield data
