"""Plain text out of PDF, DOCX and ODT files, for search: limited, never raising.

The catalog's ``_search`` finds a dataset by words in its documents, so the
text of each file is extracted once (in the background, ``files/extraction.py``)
and stored beside it. Documents come from anyone (a synchronisation fetches
whatever a source links to), so extraction assumes the worst:

* size: at most ``max_pages`` pages of a PDF, at most ``max_chars`` characters in
  all, at most ``max_seconds`` of work; the text is cut there (``truncated``);
* zip bombs: a DOCX or ODT whose XML part unpacks to more than ``max_xml_bytes``
  is refused before any XML is parsed;
* malformed files: any error of the parser means "no text"; the reason is
  returned (and logged by the caller), nothing is raised.

Example::

    result = extract(open("besluit.pdf", "rb"), "application/pdf")
    result.text        # "Besluit op het Woo-verzoek ..."
    result.error       # None, or "PdfReadError: EOF marker not found"
"""

from __future__ import annotations

import io
import logging
import re
import time
import zipfile
from dataclasses import dataclass
from typing import IO

log = logging.getLogger("openconnector.files.text")

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
TEXT = "text/plain"

#: Types text is extracted from; other files are recorded as "nothing to extract".
EXTRACTABLE = frozenset({PDF, DOCX, ODT, TEXT})
_BY_EXTENSION = {".pdf": PDF, ".docx": DOCX, ".odt": ODT, ".txt": TEXT}
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_LINES = re.compile(r"\n\s*\n+")


@dataclass(frozen=True)
class Limits:
    """How much work one file may cost."""

    max_chars: int = 1_000_000
    max_pages: int = 500
    max_seconds: float = 30.0
    #: Largest unpacked XML part of a DOCX/ODT (a zip bomb stops here).
    max_xml_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class Extracted:
    """The outcome for one file: ``text`` ("" when there is none), and why not when it failed."""

    text: str
    truncated: bool = False
    error: str | None = None


def kind_of(content_type: str | None, name: str | None = None) -> str | None:
    """The extractable type of a file, by its content type, else its name's extension; else None."""
    base = str(content_type or "").split(";", 1)[0].strip().lower()
    if base in EXTRACTABLE:
        return base
    if name and base in ("", "application/octet-stream", "application/zip"):
        lowered = name.lower()
        for ext, kind in _BY_EXTENSION.items():
            if lowered.endswith(ext):
                return kind
    return None


def extract(
    stream: IO[bytes], content_type: str | None, name: str | None = None, limits: Limits | None = None
) -> Extracted:
    """The text of one document; never raises for what is in the file.

    ``stream`` must be seekable (PDF and zip readers jump around); the caller
    spools non-seekable storage to a temporary file first.
    """
    limits = limits or Limits()
    kind = kind_of(content_type, name)
    if kind is None:
        return Extracted("")
    collector = _Collector(limits)
    try:
        if kind == PDF:
            _pdf(stream, collector)
        elif kind == DOCX:
            _docx(stream, collector)
        elif kind == ODT:
            _odt(stream, collector)
        else:
            _plain(stream, collector)
    except _Full:
        pass
    except RecursionError:  # deeply nested objects in a hostile file
        return Extracted("", error="the document nests too deeply")
    except MemoryError:
        return Extracted("", error="the document needs too much memory")
    except Exception as exc:  # any parser error: the file has no usable text
        return Extracted(collector.text(), collector.truncated, f"{type(exc).__name__}: {str(exc)[:300]}")
    return Extracted(collector.text(), collector.truncated)


class _Full(Exception):
    """The character, page or time budget is spent: stop reading, keep what we have."""


class _Collector:
    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.parts: list[str] = []
        self.size = 0
        self.truncated = False
        self.deadline = time.monotonic() + limits.max_seconds

    def add(self, piece: str | None) -> None:
        if not piece:
            return
        room = self.limits.max_chars - self.size
        if len(piece) >= room:
            self.parts.append(piece[:room])
            self.size = self.limits.max_chars
            self.truncated = True
            raise _Full
        self.parts.append(piece)
        self.size += len(piece)
        self.check_time()

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            self.truncated = True
            raise _Full

    def text(self) -> str:
        joined = "\n".join(self.parts).replace("\x00", "")
        return _LINES.sub("\n\n", _SPACES.sub(" ", joined)).strip()


def _pdf(stream: IO[bytes], out: _Collector) -> None:
    from pypdf import PdfReader

    reader = PdfReader(stream, strict=False)
    if reader.is_encrypted:
        # an owner-password-only PDF opens with the empty password; others have no text for us
        try:
            if not reader.decrypt(""):
                raise ValueError("the PDF is encrypted")
        except Exception as exc:
            raise ValueError("the PDF is encrypted") from exc
    for number, page in enumerate(reader.pages):
        if number >= out.limits.max_pages:
            out.truncated = True
            raise _Full
        out.check_time()
        out.add(page.extract_text())


def _zip_part(stream: IO[bytes], part: str, limit: int) -> None:
    """Refuse a zip whose ``part`` is missing or unpacks to more than ``limit`` bytes."""
    with zipfile.ZipFile(stream) as archive:
        try:
            info = archive.getinfo(part)
        except KeyError:
            raise ValueError(f"the document has no {part}") from None
        if info.file_size > limit:
            raise ValueError(f"{part} unpacks to {info.file_size} bytes, more than {limit}")
    stream.seek(0)


def _docx(stream: IO[bytes], out: _Collector) -> None:
    import docx

    _zip_part(stream, "word/document.xml", out.limits.max_xml_bytes)
    document = docx.Document(stream)
    for paragraph in document.paragraphs:
        out.add(paragraph.text)
    for table in document.tables:
        for row in table.rows:
            out.add(" | ".join(cell.text for cell in row.cells))


def _odt(stream: IO[bytes], out: _Collector) -> None:
    from odf import teletype
    from odf.namespaces import TEXTNS
    from odf.opendocument import load

    _zip_part(stream, "content.xml", out.limits.max_xml_bytes)
    document = load(stream)
    blocks = {(TEXTNS, "h"), (TEXTNS, "p")}
    pending = [document.text]
    while pending:  # document order, without recursion (a deep file cannot overflow the stack)
        node = pending.pop()
        if getattr(node, "qname", None) in blocks:
            out.add(teletype.extractText(node))
            continue
        pending.extend(reversed(getattr(node, "childNodes", [])))


def _plain(stream: IO[bytes], out: _Collector) -> None:
    # characters are at most 4 bytes: read no more than the cap can use
    data = stream.read(out.limits.max_chars * 4 + 1)
    out.add(data.decode("utf-8", errors="replace"))


def extract_bytes(
    data: bytes, content_type: str | None, name: str | None = None, limits: Limits | None = None
) -> Extracted:
    """:func:`extract` for bytes in memory (tests, small files)."""
    return extract(io.BytesIO(data), content_type, name, limits)
