"""What the public sees of files: the published files of objects, in the catalog's shape.

The public catalog (``catalog/service.py``) lists a published object's
attachments, serves their bytes and turns them into DCAT distributions. It
asks here, with the object uuids it has already found visible, for the files
whose publication date has come (:func:`~openconnector.files.service.published_clause`,
the same rule as ``FileService.list(published_only=True)``); one query per page
of objects, not one per object.

The shape leaves out what only an administrator may know: the numeric row id,
the owner, the storage key, and where a synchronisation fetched the file (a
source URL can carry an API key)::

    {"id": "<file uuid>", "title": "besluit.pdf", "type": "application/pdf",
     "extension": "pdf", "size": 48213, "hash": "<sha256 hex>", "labels": ["besluit"],
     "published": "2026-12-06T10:00:00+00:00", "modified": "...",
     "accessUrl": ".../api/publications/<object uuid>/attachments/<file uuid>",
     "downloadUrl": ".../api/publications/<object uuid>/attachments/<file uuid>/download"}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from ..clock import now_iso
from ..context import Context
from ..store import tables as t
from .names import extension
from .service import published_clause

#: Where the public catalog's routes live (OpenCatalogi's prefix).
CATALOG_API = "/index.php/apps/opencatalogi/api"

_COLUMNS = (
    t.files.c.id,
    t.files.c.uuid,
    t.files.c.object_uuid,
    t.files.c.name,
    t.files.c.content_type,
    t.files.c.size,
    t.files.c.checksum,
    t.files.c.labels,
    t.files.c.published,
    t.files.c.updated,
)


def published_files(
    context: Context, object_uuids: Iterable[str], *, now: str | None = None
) -> dict[str, list[dict[str, Any]]]:
    """The published files of each object (by object uuid), oldest first.

    The caller has checked that the objects themselves are public: this looks only
    at the files' own publication date.
    """
    uuids = list(dict.fromkeys(str(u) for u in object_uuids if u))
    out: dict[str, list[dict[str, Any]]] = {u: [] for u in uuids}
    if not uuids:
        return out
    moment = now or now_iso()
    with context.db.connect() as conn:
        for start in range(0, len(uuids), 500):
            rows = conn.execute(
                select(*_COLUMNS)
                .where(t.files.c.object_uuid.in_(uuids[start : start + 500]), published_clause(moment))
                .order_by(t.files.c.id)
            ).all()
            for row in rows:
                out[row.object_uuid].append(_shape(row))
    return out


def _shape(row: Any) -> dict[str, Any]:
    return {
        "id": row.uuid,
        "title": row.name,
        "type": row.content_type,
        "extension": extension(row.name),
        "size": row.size,
        "hash": row.checksum,
        "labels": list(row.labels or []),
        "published": row.published,
        "modified": row.updated,
        "object": row.object_uuid,
    }


def with_urls(file: dict[str, Any], base_url: str, catalog_slug: str) -> dict[str, Any]:
    """``file`` with its public ``accessUrl`` (the file's description) and ``downloadUrl`` (its bytes)."""
    access = (
        f"{base_url.rstrip('/')}{CATALOG_API}/{quote(catalog_slug, safe='')}/"
        f"{quote(str(file['object']), safe='')}/attachments/{quote(str(file['id']), safe='')}"
    )
    return {**file, "accessUrl": access, "downloadUrl": f"{access}/download"}
