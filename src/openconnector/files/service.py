"""FileService: files attached to objects — add, list, read, change, delete.

The Python twin of OpenRegister's ``/api/objects/{register}/{schema}/{id}/files``
routes; the REST API, the CLI and the UI all call this one class::

    from openconnector import FileService

    files = FileService()
    made = files.add(obj, "besluit.pdf", name="besluit.pdf", labels=["besluit"], published=True)
    for chunk in files.open(obj, made["id"]):
        ...
    files.update(obj, made["id"], published=False)
    files.delete(obj, made["id"])

``obj`` is an object's uuid (or its numeric id, or the object dict a service
returned); pass ``register=`` and ``schema=`` to also check that the object is
theirs (the REST routes do, so a wrong path is a 404). A file is referenced by
its numeric ``id`` or its ``uuid``.

The bytes are streamed into the storage (``files/storage.py``: a directory or an
S3 bucket) before the row is written, never held whole in memory; the row goes
with its object (``ON DELETE CASCADE``), and the bytes of files whose object is
deleted are removed when that transaction commits (:func:`discard_on_commit`).

What a file looks like (OpenRegister's file object, plus ``uuid``, ``object``,
``created``, ``source``)::

    {"id": 7, "uuid": "0193...", "title": "besluit.pdf", "path": "<object uuid>/besluit.pdf",
     "type": "application/pdf", "extension": "pdf", "size": 48213,
     "hash": "<sha256 hex>", "labels": ["besluit"], "published": "2026-12-06T10:00:00+00:00",
     "accessUrl": ".../api/objects/woo/besluit/<object uuid>/files/7",
     "downloadUrl": ".../api/objects/woo/besluit/<object uuid>/files/7/download",
     "object": "<object uuid>", "register": 3, "schema": 5,
     "created": "...", "modified": "...", "source": null}
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import ColumnElement, Connection, and_, delete, event, insert, select, update

from ..clock import iso, now_iso, utcnow
from ..context import Context, get_context
from ..errors import BadRequest, NotFound, OpenConnectorError
from ..register.dates import parse_datetime
from ..register.objects import ObjectService
from ..register.registers import RegisterService
from ..store import tables as t
from ..store.ids import new_uuid, row_id
from . import search_text
from .names import extension, sanitise_name
from .storage import CHUNK, Storage, new_key, peek
from .types import HEAD_BYTES, decide

log = logging.getLogger("openconnector.files")

#: Content a file can be added from: bytes, a path (``str`` or ``os.PathLike``), a binary
#: file object, or an iterable of byte chunks (a generator streaming a download).
Content = bytes | bytearray | memoryview | str | os.PathLike[str] | BinaryIO | Iterable[bytes]

#: Most labels a file carries, and their longest length.
MAX_LABELS = 50
MAX_LABEL_LENGTH = 100

#: The URL prefix file URLs are built on (OpenRegister's, as the tutorial uses).
API_PREFIX = "/index.php/apps/openregister/api/objects"


def published_clause(now: str) -> ColumnElement[bool]:
    """The SQL clause "this file is published at ``now``" (canonical UTC text): the one rule
    the object's file list, the public catalog, its DCAT feed and its search all use."""
    return and_(t.files.c.published.isnot(None), t.files.c.published <= now)


class FileService:
    """Files of objects, stored in ``context.storage``.

    ``base_url`` (e.g. ``http://localhost:8080``) makes ``accessUrl`` and ``downloadUrl``
    absolute; it defaults to the ``OPENCONNECTOR_BASE_URL`` setting, else the URLs are
    paths from the server's root.
    """

    def __init__(self, context: Context | None = None, *, base_url: str | None = None) -> None:
        self.context = context or get_context()
        self.db = self.context.db
        self.objects = ObjectService(self.context)
        self.registers = RegisterService(self.context)
        self.base_url = (base_url or self.context.settings.base_url or "").rstrip("/")

    @property
    def storage(self) -> Storage:
        return self.context.storage

    # -- adding ----------------------------------------------------------------------

    def add(
        self,
        object: Any,
        content: Content,
        *,
        name: str | None = None,
        content_type: str | None = None,
        labels: Iterable[str] | str | None = None,
        published: bool | str | datetime | None = None,
        register: Any = None,
        schema: Any = None,
        owner: str | None = None,
        source: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Attach a file to ``object`` and return it (the shape in the module docstring).

        ``content`` is streamed to the storage in chunks. ``name`` is sanitised
        (``../../etc/passwd`` becomes ``passwd``; a path's file name when omitted).
        ``content_type`` is the claimed type: checked against the first bytes, a
        contradiction is a 400 before anything is stored (``files/types.py``); left
        out, the type is detected. ``published``: True (now), a date-time (may be in
        the future), or False/None (not published). ``source`` records where a
        synchronisation fetched the file: ``{"url", "etag", "lastModified"}``.
        Too large for ``OPENCONNECTOR_FILES_MAX_SIZE``: 413, nothing kept.
        """
        target = self._object(object, register, schema)
        if name is None and isinstance(content, str | os.PathLike):
            name = os.path.basename(os.fspath(content))
        clean = sanitise_name(name)
        label_list = _labels(labels)
        published_at = self._published(published)
        head, chunks = peek(_chunks(content), HEAD_BYTES)
        kind = decide(content_type, head, clean)
        file_uuid = new_uuid()
        key = new_key(target["id"], new_uuid())
        stored = self.storage.put(key, chunks, max_size=self.context.settings.files_max_size)
        now = now_iso()
        row = {
            "uuid": file_uuid,
            "object_id": target["@self"]["objectId"],
            "object_uuid": target["id"],
            "register_id": int(target["@self"]["register"]),
            "schema_id": int(target["@self"]["schema"]),
            "name": clean,
            "content_type": kind,
            "size": stored.size,
            "checksum": stored.checksum,
            "labels": label_list,
            "published": published_at,
            "storage_key": key,
            **_source_columns(source),
            "owner": owner,
            "created": now,
            "updated": now,
        }
        try:
            with self.db.begin() as conn:
                row["id"] = conn.execute(insert(t.files).values(**row).returning(t.files.c.id)).scalar_one()
        except BaseException:
            self._forget([key])  # the object went away meanwhile, or the database failed
            raise
        return self._wire(row)

    def replace(
        self,
        object: Any,
        file: Any,
        content: Content,
        *,
        content_type: str | None = None,
        register: Any = None,
        schema: Any = None,
        source: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Give a file new bytes (a re-fetched document), keeping its id, name, labels and
        publication; the old bytes stay readable until the new ones are complete."""
        target = self._object(object, register, schema)
        current = self._row(target, file)
        head, chunks = peek(_chunks(content), HEAD_BYTES)
        kind = decide(content_type, head, current.name)
        key = new_key(target["id"], new_uuid())
        stored = self.storage.put(key, chunks, max_size=self.context.settings.files_max_size)
        values = {
            "content_type": kind,
            "size": stored.size,
            "checksum": stored.checksum,
            "storage_key": key,
            "updated": now_iso(),
        }
        if source is not None:
            values.update(_source_columns(source))
        try:
            with self.db.begin() as conn:
                conn.execute(update(t.files).where(t.files.c.id == current.id).values(**values))
                search_text.refresh(conn, current.object_id)  # the old bytes' text no longer finds it
        except BaseException:
            self._forget([key])
            raise
        self._forget([current.storage_key])
        return self._wire({**current._mapping, **values})

    # -- reading ---------------------------------------------------------------------

    def list(
        self, object: Any, *, register: Any = None, schema: Any = None, published_only: bool = False
    ) -> list[dict[str, Any]]:
        """The files of ``object``, oldest first; with ``published_only`` only those whose
        publication date has come (what the public catalog may show)."""
        target = self._object(object, register, schema)
        query = select(t.files).where(t.files.c.object_id == target["@self"]["objectId"])
        if published_only:
            query = query.where(published_clause(now_iso()))
        with self.db.connect() as conn:
            rows = conn.execute(query.order_by(t.files.c.id)).all()
        return [self._wire(r._mapping) for r in rows]

    def get(self, object: Any, file: Any, *, register: Any = None, schema: Any = None) -> dict[str, Any]:
        """One file of ``object``; 404 when the object has no such file."""
        target = self._object(object, register, schema)
        return self._wire(self._row(target, file)._mapping)

    def open(
        self, object: Any, file: Any, *, register: Any = None, schema: Any = None, chunk_size: int = CHUNK
    ) -> Iterator[bytes]:
        """The file's bytes as chunks of ``chunk_size``, streamed from the storage."""
        return self.download(object, file, register=register, schema=schema, chunk_size=chunk_size)[1]

    def download(
        self, object: Any, file: Any, *, register: Any = None, schema: Any = None, chunk_size: int = CHUNK
    ) -> tuple[dict[str, Any], Iterator[bytes]]:
        """The file and its bytes as chunks: what a download response needs (type, size,
        name), with the storage already opened, so a missing file is a 404 up front."""
        target = self._object(object, register, schema)
        row = self._row(target, file)
        return self._wire(row._mapping), self.storage.open(row.storage_key, chunk_size)

    # -- changing --------------------------------------------------------------------

    def update(
        self,
        object: Any,
        file: Any,
        *,
        name: str | None = None,
        labels: Iterable[str] | str | None = None,
        published: bool | str | datetime | None | type[...] = ...,
        register: Any = None,
        schema: Any = None,
    ) -> dict[str, Any]:
        """Change a file's name, labels or publication; arguments left out stay as they are
        (``published=None`` unpublishes, ``published=True`` publishes now)."""
        target = self._object(object, register, schema)
        current = self._row(target, file)
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = sanitise_name(name)  # the type stays: it was checked against the bytes
        if labels is not None:
            values["labels"] = _labels(labels)
        if published is not ...:
            values["published"] = self._published(published)  # type: ignore[arg-type]
        if values:
            values["updated"] = now_iso()
            with self.db.begin() as conn:
                conn.execute(update(t.files).where(t.files.c.id == current.id).values(**values))
                if "published" in values:
                    search_text.refresh(conn, current.object_id)
        return self._wire({**current._mapping, **values})

    def remember_source(self, object: Any, file: Any, source: dict[str, Any], **where: Any) -> None:
        """Keep where a fetched file came from (``{"url", "etag", "lastModified"}``) without
        touching its bytes: a server that sent the same bytes under a new ETag is asked
        with that ETag next time, and can answer 304."""
        current = self._row(self._object(object, where.get("register"), where.get("schema")), file)
        with self.db.begin() as conn:
            conn.execute(update(t.files).where(t.files.c.id == current.id).values(**_source_columns(source)))

    def publish(self, object: Any, file: Any, **where: Any) -> dict[str, Any]:
        """Publish a file now (OpenRegister's ``.../files/{id}/publish``)."""
        return self.update(object, file, published=True, **where)

    def depublish(self, object: Any, file: Any, **where: Any) -> dict[str, Any]:
        """Take a file out of publication."""
        return self.update(object, file, published=None, **where)

    def delete(self, object: Any, file: Any, *, register: Any = None, schema: Any = None) -> None:
        """Remove a file: its row, then its bytes."""
        target = self._object(object, register, schema)
        current = self._row(target, file)
        with self.db.begin() as conn:
            conn.execute(delete(t.files).where(t.files.c.id == current.id))
            search_text.refresh(conn, current.object_id)
        self._forget([current.storage_key])

    def sweep(self, *, older_than: float = 3600.0) -> int:
        """Remove stored bytes no file row names (left by a crash, or by deleting a whole
        register), once older than ``older_than`` seconds so uploads in flight are kept.
        Returns how many were removed."""
        with self.db.connect() as conn:
            known = {r[0] for r in conn.execute(select(t.files.c.storage_key))}
        cutoff = utcnow().timestamp() - older_than
        orphans = [key for key, modified in self.storage.entries() if key not in known and modified < cutoff]
        if orphans:
            self.storage.delete(orphans)
        return len(orphans)

    # -- helpers ---------------------------------------------------------------------

    def _object(self, object: Any, register: Any, schema: Any) -> dict[str, Any]:
        ref = object.get("id") if isinstance(object, dict) else object
        if ref is None or ref == "":
            raise BadRequest("Which object? Give its uuid", property="object")
        return self.objects.find(str(ref), register, schema)

    def _row(self, target: dict[str, Any], file: Any) -> Any:
        ref = str(file.get("id") if isinstance(file, dict) else file).strip().lower()
        number = row_id(ref)
        clause = t.files.c.id == number if number is not None else t.files.c.uuid == ref
        with self.db.connect() as conn:
            row = conn.execute(
                select(t.files).where(clause, t.files.c.object_id == target["@self"]["objectId"])
            ).first()
        if row is None:
            raise NotFound(f"File {file} not found on object {target['id']}", file=str(file))
        return row

    def _published(self, value: bool | str | datetime | None) -> str | None:
        if value is None or value is False or value == "":
            return None
        if value is True:
            return now_iso()
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise BadRequest("A publication date-time needs a timezone", property="published")
            return iso(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("true", "1", "yes", "on", "now"):
                return now_iso()
            if text in ("false", "0", "no", "off", "null", "none"):
                return None
            moment = parse_datetime(value, self.context.settings.timezone) or _rfc3339(value)
            if moment is not None:
                return iso(moment)
        raise BadRequest(
            f"published must be true, false or an ISO 8601 date-time, got {str(value)[:60]!r}",
            property="published",
        )

    def _forget(self, keys: list[str]) -> None:
        try:
            self.storage.delete(keys)
        except OpenConnectorError as exc:  # the row is gone; sweep() removes the bytes later
            log.warning("Could not remove file bytes %s: %s", keys, exc.message)

    def _wire(self, row: Any) -> dict[str, Any]:
        register = self.registers.get_register(row["register_id"])
        schema = self.registers.get_schema(row["schema_id"])
        access = f"{self.base_url}{API_PREFIX}/{register['slug']}/{schema['slug']}/{row['object_uuid']}/files/{row['id']}"
        source = None
        if row["source_url"]:
            source = {
                "url": row["source_url"],
                "etag": row["source_etag"],
                "lastModified": row["source_last_modified"],
            }
        return {
            "id": row["id"],
            "uuid": row["uuid"],
            "title": row["name"],
            "path": f"{row['object_uuid']}/{row['name']}",
            "type": row["content_type"],
            "extension": extension(row["name"]),
            "size": row["size"],
            "hash": row["checksum"],
            "labels": list(row["labels"] or []),
            "published": row["published"],
            "accessUrl": access,
            "downloadUrl": f"{access}/download",
            "object": row["object_uuid"],
            "register": row["register_id"],
            "schema": row["schema_id"],
            "owner": row["owner"],
            "created": row["created"],
            "modified": row["updated"],
            "source": source,
        }


def discard_on_commit(context: Context, conn: Connection, which: ColumnElement[bool]) -> None:
    """Remove the stored bytes of the files ``which`` selects once ``conn``'s transaction
    commits (their rows go with their objects by ``ON DELETE CASCADE``); nothing when it
    rolls back. Object deletions call this before deleting."""
    keys = [r[0] for r in conn.execute(select(t.files.c.storage_key).where(which))]
    if not keys:
        return
    state = {"armed": True}

    def rolled_back(_conn: Connection) -> None:
        state["armed"] = False

    def committed(_conn: Connection) -> None:
        if not state["armed"]:
            return
        try:
            context.storage.delete(keys)
        except OpenConnectorError as exc:
            log.warning("Could not remove the bytes of %d deleted files: %s", len(keys), exc.message)

    event.listen(conn, "rollback", rolled_back, once=True)
    event.listen(conn, "commit", committed, once=True)


def _rfc3339(text: str) -> datetime | None:
    """The RFC 3339 forms ``datetime.fromisoformat`` refuses (``t``/``z`` in lower case,
    more than six fraction digits), which an OpenAPI ``date-time`` allows."""
    from dateutil.parser import isoparse

    try:
        moment = isoparse(text.strip().upper())
    except (ValueError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else None


def _chunks(content: Content) -> Iterator[bytes]:
    """``content`` as byte chunks of about :data:`CHUNK`, read lazily."""
    if isinstance(content, bytes | bytearray | memoryview):
        view = memoryview(content)
        for start in range(0, len(view), CHUNK):
            yield bytes(view[start : start + CHUNK])
        return
    if isinstance(content, str | os.PathLike):
        try:
            handle = open(content, "rb")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise BadRequest(
                f"Cannot read {os.fspath(content)!r}: {exc.strerror}", property="content"
            ) from None
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk
        return
    read = getattr(content, "read", None)
    if read is not None:
        while chunk := read(CHUNK):
            if isinstance(chunk, str):
                raise BadRequest("A file's content must be bytes; open the file in binary mode ('rb')")
            yield chunk
        return
    for chunk in content:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise BadRequest("A file's content must be bytes; got chunks of " + type(chunk).__name__)
        yield bytes(chunk)


def _labels(labels: Iterable[str] | str | None) -> list[str]:
    if labels is None:
        return []
    items = labels.split(",") if isinstance(labels, str) else list(labels)
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise BadRequest(f"Labels must be text, got {type(item).__name__}", property="labels")
        text = item.strip()
        if len(text) > MAX_LABEL_LENGTH:
            raise BadRequest(f"A label has at most {MAX_LABEL_LENGTH} characters", property="labels")
        if text and text not in out:
            out.append(text)
    if len(out) > MAX_LABELS:
        raise BadRequest(f"A file has at most {MAX_LABELS} labels, got {len(out)}", property="labels")
    return out


def _source_columns(source: dict[str, Any] | None) -> dict[str, Any]:
    source = source or {}
    return {
        "source_url": source.get("url"),
        "source_etag": (str(source["etag"])[:255] if source.get("etag") else None),
        "source_last_modified": (str(source["lastModified"])[:64] if source.get("lastModified") else None),
    }
