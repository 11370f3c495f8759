"""File names as users may give them, made safe to store, show and send back.

A name never becomes a path: the bytes are stored under a key the service makes
(``files/storage.py``), so a name is only ever shown and sent in
``Content-Disposition``. It is still cleaned, because a name a client sends
travels on: into a downloader's file system ("../../etc/passwd"), a header
(a newline would split it), a terminal (escape codes) or Windows ("CON", ``:``).

The rule: keep the last path segment (backslashes count as separators too),
drop control and format characters and the characters Windows forbids, trim
spaces and dots at both ends. ``../../etc/passwd`` becomes ``passwd``; a name
with nothing left (``..``, ``/``) is refused with a 400.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

from ..errors import BadRequest

#: Longest stored name in UTF-8 bytes (most file systems allow 255).
MAX_NAME_BYTES = 255

_FORBIDDEN = set('<>:"|?*')
#: Invisible characters that reorder or hide text (bidi overrides, zero-width, BOM):
#: ``invoice\u202efdp.exe`` shows as ``invoiceexe.pdf``. Other format characters stay.
_INVISIBLE = set("\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064")
_INVISIBLE |= set("\u2066\u2067\u2068\u2069\ufeff\u2028\u2029")

#: JSON Schema ``pattern`` of a name :func:`sanitise_name` accepts: its last path segment
#: holds one character that survives cleaning (the API documents it, so a client or a
#: fuzzer that follows the document never gets the "no usable characters" 400).
NAME_PATTERN = (
    '[^/\\\\\\s.<>:"|?*\\x00-\\x1f\\x7f-\\x9f\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2064\\u2066-\\u2069\\ufeff]'
    "[^/\\\\]*$"
)
_WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def sanitise_name(raw: str | None) -> str:
    """A safe file name from what a client gave; :class:`BadRequest` when nothing is left.

    >>> sanitise_name("../../etc/passwd")
    'passwd'
    >>> sanitise_name("C:\\\\Users\\\\me\\\\report 2026.pdf")
    'report 2026.pdf'
    """
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    text = "".join(
        c
        for c in text
        if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Zl", "Zp") and c not in _FORBIDDEN
    )
    text = text.strip(" .\t")
    if text.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        text = "_" + text
    if not text:
        raise BadRequest(
            f"The file name {str(raw or '')[:100]!r} has no usable characters; give a name like report.pdf",
            property="name",
        )
    return _shorten(text)


def _shorten(name: str) -> str:
    """``name`` cut to :data:`MAX_NAME_BYTES`, keeping its extension."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(ext) > 16:
        stem, ext = name, ""
    keep = MAX_NAME_BYTES - len(ext.encode()) - (1 if ext else 0)
    cut = stem.encode()[:keep].decode("utf-8", "ignore")
    return f"{cut}.{ext}" if ext else cut


def extension(name: str) -> str:
    """The lower-case extension without the dot (``report.PDF`` -> ``pdf``), or ``""``."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def content_disposition(name: str, disposition: str = "attachment") -> str:
    """A ``Content-Disposition`` value that names ``name`` safely for every browser.

    An ASCII fallback (``filename=``, quotes and backslashes replaced) for old clients
    and the exact name percent-encoded (``filename*=UTF-8''...``, RFC 6266/5987).
    """
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in name) or "file"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
