"""Content types: sniffed from the first bytes and checked against what a client claims.

A client's ``Content-Type`` (or, without one, the name's extension) is a claim.
The first bytes of the file are evidence: most binary formats start with a
signature (``%PDF-``, PNG's ``\\x89PNG``, zip's ``PK``), found here with the
``filetype`` library (pure Python, no libmagic).

The decision (docs/user-guide/files.md):

* a claim the bytes contradict is refused with a 400 naming both types: a PNG
  sent as ``application/pdf``, an executable sent as ``text/plain``, or a file
  claimed as a signed format (``application/pdf``) whose bytes lack the signature;
* a claim the bytes agree with, or cannot judge (text formats have no
  signature), is kept: ``text/csv`` stays ``text/csv``;
* zip containers are judged by their family: a ``.docx`` claimed as Word and
  sniffed as zip is Word;
* no claim (or ``application/octet-stream``): the sniffed type, else
  ``text/plain`` for text, else ``application/octet-stream``.
"""

from __future__ import annotations

import mimetypes

import filetype

from ..errors import BadRequest
from .names import extension

#: How many leading bytes sniffing reads (what ``filetype`` looks at).
HEAD_BYTES = 8192

GENERIC = "application/octet-stream"

#: Claims that say nothing about the content.
_UNCLAIMED = {"", GENERIC, "binary/octet-stream", "application/x-www-form-urlencoded", "multipart/form-data"}

#: Other names for the same type, to the one ``filetype`` reports.
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "image/x-png": "image/png",
    "application/x-pdf": "application/pdf",
    "application/x-zip-compressed": "application/zip",
    "application/x-zip": "application/zip",
    "application/x-gzip": "application/gzip",
    "image/x-ms-bmp": "image/bmp",
    "image/vnd.microsoft.icon": "image/x-icon",
    "audio/wav": "audio/x-wav",
    "audio/x-flac": "audio/flac",
    "video/x-ms-asf": "video/x-ms-wmv",
}

#: Types whose files are zip archives inside; sniffing may only see the zip.
_ZIP_FAMILY = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
_ZIP_TYPES = {"application/epub+zip", "application/java-archive", "application/vnd.ms-xpsdocument"}

#: Old Office files share one container (OLE2); sniffing names only one of them.
_OLE_TYPES = {
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/x-msi",
}

#: Types that have a signature sniffing knows; a file claimed as one must carry it.
_SIGNED = {m.mime for m in filetype.types} - {GENERIC}

_TEXTUAL = (
    "application/json",
    "application/xml",
    "application/ld+json",
    "application/javascript",
    "image/svg+xml",
)


def normalise(content_type: str | None) -> str:
    """``Text/CSV; charset=utf-8`` -> ``text/csv``; aliases to their usual name."""
    base = str(content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def sniff(head: bytes) -> str | None:
    """The type the first bytes show, or None when they carry no known signature."""
    if not head:
        return None
    found = filetype.guess_mime(head)
    return _ALIASES.get(found, found) if found else None


def looks_textual(head: bytes) -> bool:
    """Whether the first bytes read as text (UTF-8 without NUL; a cut last character is fine)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def is_textual(content_type: str) -> bool:
    return (
        content_type.startswith("text/")
        or content_type in _TEXTUAL
        or content_type.endswith(("+json", "+xml"))
    )


def _agrees(claimed: str, sniffed: str) -> bool:
    if claimed == sniffed:
        return True
    if sniffed == "application/zip":
        return claimed.startswith(_ZIP_FAMILY) or claimed in _ZIP_TYPES or claimed.endswith("+zip")
    if sniffed in _OLE_TYPES:
        return claimed in _OLE_TYPES or claimed.startswith("application/vnd.ms-")
    if sniffed.startswith(("application/vnd.openxmlformats", "application/vnd.oasis")):
        return claimed == "application/zip"
    return False


def decide(claimed: str | None, head: bytes, name: str) -> str:
    """The content type to store for a file whose first bytes are ``head``.

    ``claimed`` is the client's ``Content-Type``; without one the name's extension is
    the claim. Raises :class:`BadRequest` when the bytes contradict the claim.
    """
    given = normalise(claimed)
    source = "content type"
    if given in _UNCLAIMED:
        guessed = mimetypes.guess_type(f"x.{extension(name)}")[0] if extension(name) else None
        given, source = normalise(guessed), "extension"
    sniffed = sniff(head)
    if given in _UNCLAIMED:
        if sniffed:
            return sniffed
        return "text/plain" if head and looks_textual(head) else GENERIC
    if sniffed and not _agrees(given, sniffed):
        raise _lie(given, source, name, f"its bytes are {sniffed}")
    if not sniffed and given in _SIGNED and given not in _OLE_TYPES | {"application/zip"}:
        raise _lie(given, source, name, f"its bytes do not start like {given}")
    if not sniffed and is_textual(given) and head and not looks_textual(head):
        raise _lie(given, source, name, "its bytes are not text")
    return given


def _lie(given: str, source: str, name: str, found: str) -> BadRequest:
    if source == "content type":
        told, fix = f"content type {given}", "send the file's real type, or leave it out to have it detected"
    else:
        told, fix = f"extension of {name!r} ({given})", "give the file a name with its real extension"
    return BadRequest(
        f"The {told} does not match the file: {found}; {fix}",
        property="contentType" if source == "content type" else "name",
        claimed=given,
    )
