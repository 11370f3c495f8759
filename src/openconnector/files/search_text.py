"""The words of an object's published files in its full-text index entry.

``_search`` runs on one index (``register/fulltext.py``); an object's entry has an
``extra`` part for text that is not in the object itself. Here that part becomes
the extracted text (``file_texts``) of the object's files that are marked
published, joined, at most :data:`MAX_CHARACTERS`. Only published files count:
the same index serves the public catalog, and words of a file that is not public
must not find anything there (the admin's list finds by them neither; the file's
own page shows its text status).

:func:`refresh` runs in the transaction of every change that alters that text:
a file's text stored, a file published, unpublished, replaced or deleted.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ..register import fulltext
from ..store import tables as t

#: Characters of file text searchable per object (a few hundred pages).
MAX_CHARACTERS = 2_000_000


def refresh(conn: Connection, object_id: int) -> None:
    """Set object ``object_id``'s searchable file text from its published files' current text."""
    f, x = t.files.c, t.file_texts.c
    texts = conn.execute(
        select(x.text)
        .select_from(t.files.join(t.file_texts, x.file_id == f.id))
        .where(
            f.object_id == object_id,
            f.published.isnot(None),
            x.checksum == f.checksum,  # text of the file's current bytes only
            x.text.isnot(None),
        )
        .order_by(f.id)
    ).scalars()
    parts: list[str] = []
    size = 0
    for text in texts:
        parts.append(text[: MAX_CHARACTERS - size])
        size += len(parts[-1]) + 1
        if size >= MAX_CHARACTERS:
            break
    uuid: Any = conn.execute(select(t.objects.c.uuid).where(t.objects.c.id == object_id)).scalar()
    if uuid is not None:
        fulltext.set_extra_text(conn, uuid, "\n".join(parts) or None)
