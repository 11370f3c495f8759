"""Files as sources: CSV, JSON Lines and Excel (.xlsx), read as they stream in.

A source of ``type`` ``csv``, ``jsonl`` or ``xlsx`` has a URL as location (the
synchronisation's ``endpoint`` is appended, as for APIs) or an uploaded file
(``location`` ``upload:<name>``, stored under ``<data dir>/uploads/<source uuid>/``).
Its rows become records, ``sourceConfig.pageSize`` (default 1000) at a time, so a
synchronisation of a 1 GB file holds one page, never the file::

    id;titel;datum                 {"id": "1", "titel": "Besluit", "datum": "2024-01-02"}
    1;Besluit;2024-01-02     →     ...

CSV: the encoding (``configuration.encoding`` or detected: a BOM, else UTF-8, else
Windows-1252), the delimiter (``sourceConfig.delimiter`` or ``csv.Sniffer`` over the
first 64 KB, one of ``,;<tab>|``) and whether the first row is a header
(``sourceConfig.header`` or the sniffer's guess; without a header the columns are
``column1``, ``column2``...). Values stay text, as in the file: cast them in the
mapping. An empty line is skipped; a row shorter than the header gets ``""``.

JSON Lines: one JSON value per line. Excel: the first sheet (or ``sourceConfig.sheet``),
the first row as header; numbers stay numbers, dates become ISO text.
"""

from __future__ import annotations

import csv
import io
import itertools
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import orjson

from openconnector.connector.pages import Page
from openconnector.connector.pagination import join_location
from openconnector.connector.records import Unreadable, content_hash
from openconnector.errors import BadRequest, SourceRejected
from openconnector.files.storage import peek

__all__ = ["DEFAULT_PAGE_SIZE", "FILE_TYPES", "FilePages", "read_records", "upload_path"]

FILE_TYPES = ("csv", "jsonl", "xlsx")
DEFAULT_PAGE_SIZE = 1000
SAMPLE_SIZE = 64 * 1024
CHUNK = 64 * 1024
UPLOAD_PREFIX = "upload:"


def upload_path(data_dir: Path, source_uuid: str, name: str) -> Path:
    """Where an uploaded file of a source lives; ``name`` cannot leave that folder."""
    safe = Path(str(name).replace("\\", "/")).name
    if not safe or safe in (".", ".."):
        raise BadRequest(f"Not a usable file name: {name!r}")
    return data_dir / "uploads" / source_uuid / safe


class _ChunkReader(io.RawIOBase):
    """A binary file over an iterator of byte chunks (a streamed HTTP body)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # not just a character cut at the end of the sample
            return "cp1252"
    return "utf-8"


def _text_sample(sample: bytes, encoding: str) -> str:
    text = sample.decode(encoding, errors="replace")
    if len(sample) >= SAMPLE_SIZE and "\n" in text:
        text = text[: text.rindex("\n")]  # whole lines only
    return text


def _true(value: Any) -> bool:
    return value in (True, 1, "1", "true", "yes")


def csv_rows(chunks: Iterator[bytes], options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    sample, chunks = peek(chunks, SAMPLE_SIZE)
    encoding = options.get("encoding") or detect_encoding(sample)
    text = _text_sample(sample, encoding)
    sniffer = csv.Sniffer()
    delimiter = options.get("delimiter")
    if delimiter in ("\\t", "tab"):
        delimiter = "\t"
    if not delimiter:
        try:
            delimiter = sniffer.sniff(text, delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    header = options.get("header")
    if header is None:
        try:
            header = sniffer.has_header(text)
        except csv.Error:
            header = True
    stream = io.TextIOWrapper(
        io.BufferedReader(_ChunkReader(chunks), CHUNK), encoding=encoding, errors="replace", newline=""
    )
    reader = csv.reader(stream, delimiter=str(delimiter))
    names: list[str] | None = None
    for row in reader:
        if not row or all(cell == "" for cell in row):
            continue
        if names is None:
            if _true(header):
                names = _names(row)
                continue
            names = []
        if len(row) > len(names):
            names = names + [f"column{i + 1}" for i in range(len(names), len(row))]
        yield {name: (row[i] if i < len(row) else "") for i, name in enumerate(names)}


def _names(row: list[str]) -> list[str]:
    names: list[str] = []
    for i, cell in enumerate(row):
        name = cell.strip() or f"column{i + 1}"
        if name in names:
            name = f"{name}_{i + 1}"
        names.append(name)
    return names


def jsonl_rows(chunks: Iterator[bytes]) -> Iterator[Any]:
    stream = io.BufferedReader(_ChunkReader(chunks), CHUNK)
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError as exc:  # that line is an invalid record; the rest goes on
            yield Unreadable(f"Invalid JSON on line {number}: {exc}")


def _cell(value: Any) -> Any:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return value


def xlsx_rows(chunks: Iterator[bytes], options: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """openpyxl's read-only mode streams rows, but needs a seekable file: spooled to disk."""
    from zipfile import BadZipFile

    import openpyxl

    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as spool:
        for chunk in chunks:
            spool.write(chunk)
        spool.seek(0)
        try:
            book = openpyxl.load_workbook(spool, read_only=True, data_only=True)
        except (BadZipFile, KeyError, ValueError, OSError) as exc:
            raise SourceRejected(f"Not a readable .xlsx file: {exc}") from None
        try:
            wanted = options.get("sheet")
            if wanted:
                if wanted not in book.sheetnames:
                    raise SourceRejected(f"No sheet {wanted!r}; the workbook has {book.sheetnames}")
                sheet = book[wanted]
            else:
                sheet = book.worksheets[0]
            names: list[str] | None = None
            for row in sheet.iter_rows(values_only=True):
                if all(v is None or v == "" for v in row):
                    continue
                if names is None:
                    if options.get("header") is not None and not _true(options.get("header")):
                        names = [f"column{i + 1}" for i in range(len(row))]
                    else:
                        names = _names(["" if v is None else str(v) for v in row])
                        continue
                if len(row) > len(names):
                    names = names + [f"column{i + 1}" for i in range(len(names), len(row))]
                yield {name: _cell(row[i]) if i < len(row) else None for i, name in enumerate(names)}
        finally:
            book.close()


def read_records(kind: str, chunks: Iterator[bytes], options: dict[str, Any]) -> Iterator[Any]:
    if kind == "csv":
        return csv_rows(chunks, options)
    if kind == "jsonl":
        return jsonl_rows(chunks)
    if kind == "xlsx":
        return xlsx_rows(chunks, options)
    raise BadRequest(f"Unknown file type {kind!r}; use one of {', '.join(FILE_TYPES)}")


@contextmanager
def _local_chunks(path: Path) -> Iterator[Iterator[bytes]]:
    if not path.is_file():
        raise SourceRejected(f"The uploaded file {path.name!r} is missing; upload it again")
    with path.open("rb") as handle:
        yield iter(lambda: handle.read(CHUNK), b"")


class FilePages(Iterator[Page]):
    """Pages of ``page_size`` rows from a streamed file; the same shape as ``Pages``."""

    def __init__(
        self,
        kind: str,
        open_chunks: Callable[[], AbstractContextManager[Iterator[bytes]]],
        where: str,
        options: dict[str, Any] | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> None:
        self.kind = kind
        self.where = where
        self.options = options or {}
        self.page_size = max(1, page_size)
        self.max_pages = max_pages
        self.stop_reason: str | None = None
        self.pages_fetched = 0
        self.records = 0
        self._open = open_chunks
        self._context: AbstractContextManager[Iterator[bytes]] | None = None
        self._rows: Iterator[Any] | None = None
        self._reading = threading.Lock()

    def __repr__(self) -> str:
        return f"<FilePages {self.kind} {self.where}: {self.pages_fetched} pages>"

    def _finish(self, reason: str) -> None:
        self.stop_reason = reason
        self._close()

    def close(self) -> None:
        """Close the file or the streamed answer; waits for a page being read (another thread)."""
        with self._reading:
            self._close()

    def _close(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)

    def __next__(self) -> Page:
        with self._reading:
            return self._next_page()

    def _next_page(self) -> Page:
        if self.stop_reason is not None or (self._rows is not None and self._context is None):
            raise StopIteration
        if self._rows is None:
            self._context = self._open()
            try:
                chunks = self._context.__enter__()
            except BaseException:
                self._context = None
                raise
            self._rows = read_records(self.kind, chunks, self.options)
        if self.max_pages is not None and self.pages_fetched >= self.max_pages:
            self._finish(f"maxPages ({self.max_pages}) reached")
            raise StopIteration
        try:
            records = list(itertools.islice(self._rows, self.page_size))
        except BaseException:
            self._close()
            raise
        if not records:
            self._finish("end of file")
            raise StopIteration
        self.pages_fetched += 1
        self.records += len(records)
        where = f"{self.kind} rows {self.records - len(records) + 1}-{self.records} of {self.where}"
        return Page(
            number=self.pages_fetched,
            records=records,
            raw=None,
            url=self.where,
            where=where if self.pages_fetched > 1 else f"{self.kind} rows of {self.where}",
            fingerprint=content_hash(records),
        )


def file_pages(
    calls: Any,
    source: dict[str, Any],
    endpoint: str,
    source_config: dict[str, Any],
    data_dir: Path,
    max_pages: int | None = None,
) -> FilePages:
    """``FilePages`` for a file source: streamed over HTTP(S) through ``calls``, or an upload."""
    kind = str(source.get("type") or "").lower()
    configuration = source.get("configuration") or {}
    options = {
        "encoding": source_config.get("encoding") or configuration.get("encoding"),
        "delimiter": source_config.get("delimiter") or configuration.get("delimiter"),
        "header": source_config.get("header", configuration.get("header")),
        "sheet": source_config.get("sheet") or configuration.get("sheet"),
    }
    try:
        page_size = int(source_config.get("pageSize") or DEFAULT_PAGE_SIZE)
    except (TypeError, ValueError):
        raise BadRequest("sourceConfig.pageSize must be a number", field="pageSize") from None
    location = str(source.get("location") or "")
    if location.startswith(UPLOAD_PREFIX):
        path = upload_path(data_dir, str(source.get("uuid") or "none"), location[len(UPLOAD_PREFIX) :])
        return FilePages(kind, lambda: _local_chunks(path), path.name, options, page_size, max_pages)

    @contextmanager
    def remote() -> Iterator[Iterator[bytes]]:
        with calls.stream(source, endpoint) as response:
            yield response.iter_bytes(CHUNK)

    shown = join_location(location, endpoint)
    from openconnector.connector.redaction import redact_url

    return FilePages(kind, remote, redact_url(shown), options, page_size, max_pages)
