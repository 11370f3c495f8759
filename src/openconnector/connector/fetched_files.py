"""Files fetched by synchronisations: document URLs in source records become files on objects.

A synchronisation declares which record fields hold document URLs, in its
``sourceConfig``::

    "sourceConfig": {"files": [
        {"path": "documents", "urlKey": "url", "nameKey": "title",
         "labels": ["woo"], "published": true}
    ]}

``path`` is a dot path in the source record to a URL, a list of URLs, or a list
of objects holding one (under ``urlKey``, default ``url``; ``nameKey`` names the
file). Or, as the original, with a ``fetch_file`` rule among the
synchronisation's ``actions``: ``{"type": "fetch_file", "configuration":
{"fetch_file": {"source": ..., "filePath": "documents", "tags": [...],
"autoShare": true}}}`` (``filePath`` → path, ``tags`` → labels, ``autoShare`` →
published, ``filenamePath`` → nameKey).

After a page's objects are written, :class:`FileFetcher` looks at every record
of the page (unchanged ones too: a document can change while its record does
not) and, per URL:

* a URL the object has no file for yet: downloaded and attached (``fetched``);
* a URL it has: fetched again conditionally (``If-None-Match`` with the ETag,
  ``If-Modified-Since`` with the Last-Modified the server gave last time); a 304,
  or bytes with the same sha256, leave the file alone (``skipped``); other bytes
  replace it, keeping its id, labels and publication (``fetched``);
* a file the object got from an earlier run whose URL the record no longer has, or
  whose URL now answers ``410 Gone``, is deleted (``deleted``); files added by hand
  are never touched.

Downloads run ``concurrency`` at a time through the source's ``CallService``
(its HTTP pool, auth, rate limit and call logs), streamed to a spool file, never
held whole in memory. The source's credentials go only to URLs under the
source's own location; a URL elsewhere is fetched without them. A failed
download (network, HTTP error, too large, a content type the bytes contradict)
is ``failed`` and makes its record invalid with the reason; the run goes on.
The run log counts ``result.files = {fetched, skipped, failed, deleted}``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from ..context import Context
from ..errors import BadRequest, NotFound, OpenConnectorError
from ..files.service import FileService
from .contracts import ContractStore
from .pagination import join_location
from .records import MISSING, get_path

log = logging.getLogger("openconnector.sync.files")

#: Bytes of a download kept in memory before the spool goes to disk.
SPOOL_BYTES = 8 * 1024 * 1024
#: Most URLs one record may name (a runaway list is cut here, and reported).
MAX_FILES_PER_RECORD = 1000


@dataclass(frozen=True)
class FileField:
    """One declaration of where a record keeps document URLs."""

    path: str
    url_key: str = "url"
    name_key: str | None = None
    labels: tuple[str, ...] = ()
    published: bool = False
    #: The source whose credentials fetch these URLs (default: the synchronisation's).
    source: Any = None


@dataclass(frozen=True)
class Wanted:
    url: str
    name: str | None
    field: FileField


def _bool(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True", "yes", "on")


def _labels(value: Any, where: str) -> tuple[str, ...]:
    if value in (None, "", []):
        return ()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{where} must be a list of texts", field=where)
    return tuple(v.strip() for v in value)


def _field(spec: Any, where: str) -> FileField:
    if isinstance(spec, str):
        spec = {"path": spec}
    if not isinstance(spec, dict):
        raise BadRequest(f"{where} must be an object like {{'path': 'documents'}}", field=where)
    path = spec.get("path") or spec.get("filePath")
    if not isinstance(path, str) or not path.strip():
        raise BadRequest(f"{where} needs a path: the record field holding the URLs", field=f"{where}.path")
    url_key = spec.get("urlKey") or "url"
    name_key = spec.get("nameKey") or spec.get("filenamePath")
    for key, value in (("urlKey", url_key), ("nameKey", name_key)):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{where}.{key} must be a text", field=f"{where}.{key}")
    return FileField(
        path=path.strip(),
        url_key=url_key,
        name_key=name_key,
        labels=_labels(spec.get("labels", spec.get("tags")), f"{where}.labels"),
        published=_bool(spec.get("published", spec.get("autoShare", False))),
        source=spec.get("source"),
    )


def file_fields(
    sync: dict[str, Any], config: dict[str, Any], rules: Iterable[dict[str, Any]] = ()
) -> list[FileField]:
    """The file declarations of a synchronisation: ``sourceConfig.files`` and its
    ``fetch_file`` rules (given resolved); 400 naming the bad one."""
    declared = config.get("files")
    if declared in (None, [], {}):
        declared = []
    elif isinstance(declared, dict | str):
        declared = [declared]
    if not isinstance(declared, list):
        raise BadRequest("sourceConfig.files must be a list of {path, ...}", field="sourceConfig.files")
    fields = [_field(spec, f"sourceConfig.files[{n}]") for n, spec in enumerate(declared)]
    for rule in rules:
        if str(rule.get("type") or "") != "fetch_file":
            continue
        configuration = rule.get("configuration") or {}
        spec = configuration.get("fetch_file", configuration) if isinstance(configuration, dict) else None
        fields.append(_field(spec, f"rule {rule.get('name') or rule.get('id')!r} fetch_file"))
    return fields


def wanted_files(
    record: Any, fields: list[FileField], location: str | None
) -> tuple[list[Wanted], str | None]:
    """The URLs a record names (relative ones joined to ``location``), or why they cannot be read."""
    wanted: dict[str, Wanted] = {}
    for field in fields:
        value = get_path(record, field.path)
        if value is MISSING or value in (None, "", []):
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            name = None
            if isinstance(item, dict):
                name = get_path(item, field.name_key) if field.name_key else None
                item = get_path(item, field.url_key)
            elif field.name_key and isinstance(record, dict):
                name = get_path(record, field.name_key)
            if item is MISSING or item in (None, ""):
                continue
            if not isinstance(item, str):
                return [], f"{field.path}: expected a URL, got {type(item).__name__}"
            url = item.strip()
            if not url.startswith(("http://", "https://")):
                if "://" in url or not location:
                    return [], f"{field.path}: {url[:200]!r} is not an http(s) URL"
                url = join_location(location, url if url.startswith("/") else "/" + url)
            if len(wanted) >= MAX_FILES_PER_RECORD:
                return [], f"{field.path}: more than {MAX_FILES_PER_RECORD} files in one record"
            wanted.setdefault(url, Wanted(url, name if isinstance(name, str) and name else None, field))
    return list(wanted.values()), None


def _under(url: str, location: str | None) -> bool:
    """True when ``url`` is on the source's own host and below its path (credentials may go there)."""
    if not location:
        return False
    a, b = urlsplit(url), urlsplit(location)
    if (a.scheme, a.hostname, a.port) != (b.scheme, b.hostname, b.port):
        return False
    return a.path.startswith(b.path.rstrip("/") + "/") or a.path == b.path or not b.path.strip("/")


def _name_from(response: httpx.Response, url: str) -> str:
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        found = message.get_filename()
        if found:
            return found
    tail = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return tail or "file"


class _Outcome:
    __slots__ = ("kind", "reason")

    def __init__(self, kind: str, reason: str | None = None) -> None:
        self.kind = kind
        self.reason = reason


class FileFetcher:
    """Fetches the files of one run's records; :meth:`page` after each written page."""

    def __init__(
        self,
        context: Context,
        calls: Any,
        fields: list[FileField],
        source: dict[str, Any] | None,
        concurrency: int,
    ) -> None:
        self.context = context
        self.calls = calls
        self.fields = fields
        self.source = source
        self.files = FileService(context)
        self.max_size = context.settings.files_max_size
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="files")
        self.counts = {"fetched": 0, "skipped": 0, "failed": 0, "deleted": 0}
        self._sources: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def page(self, run: Any, items: list[tuple[str, Any]], contracts: ContractStore) -> None:
        """The files of a page's records (``(origin id, record)``), whose objects are written."""
        if not items:
            return
        with self.context.db.connect() as conn:
            existing = contracts.for_origins(conn, [origin for origin, _ in items])
        tasks: list[tuple[str, str, Wanted, dict[str, Any] | None]] = []
        stale: list[tuple[str, str, dict[str, Any]]] = []
        problems: dict[str, list[str]] = {}
        for origin, record in items:
            contract = existing.get(origin)
            if contract is None or not contract.target_exists or not contract.target_id:
                continue  # invalid or filtered out: no object to attach files to
            wanted, error = wanted_files(record, self.fields, (self.source or {}).get("location"))
            if error is not None:
                self.counts["failed"] += 1
                problems.setdefault(origin, []).append(error)
                continue
            try:
                have = [f for f in self.files.list(contract.target_id) if f.get("source")]
            except NotFound:
                continue  # the object was deleted meanwhile
            by_url = {f["source"]["url"]: f for f in have}
            urls = {w.url for w in wanted}
            for w in wanted:
                tasks.append((origin, contract.target_id, w, by_url.get(w.url)))
            stale.extend((origin, contract.target_id, f) for url, f in by_url.items() if url not in urls)
        for (origin, _, wanted_file, _), outcome in zip(tasks, self.pool.map(self._one, tasks), strict=True):
            self.counts[outcome.kind] += 1
            if outcome.kind == "failed":
                problems.setdefault(origin, []).append(f"file {wanted_file.url}: {outcome.reason}")
        for _origin, target, file in stale:
            try:
                self.files.delete(target, file["id"])
                self.counts["deleted"] += 1
            except NotFound:
                continue
        for origin, reasons in problems.items():
            run.invalid(
                origin,
                "; ".join(reasons[:5]) + (f" (and {len(reasons) - 5} more)" if len(reasons) > 5 else ""),
            )
        if self.counts["fetched"]:
            from ..files.extraction import wake

            wake()

    # -- one file ----------------------------------------------------------------------

    def _source_for(self, wanted: Wanted) -> dict[str, Any]:
        """The source whose credentials may fetch ``wanted``; a credential-free one elsewhere."""
        source = self.source
        ref = wanted.field.source
        if ref is not None:
            key = str(ref)
            if key not in self._sources:
                self._sources[key] = self.calls.resolve(ref)
            source = self._sources[key]
        if source is not None and _under(wanted.url, source.get("location")):
            return source
        return {"name": "files", "location": "", "configuration": {}}

    def _one(self, task: tuple[str, str, Wanted, dict[str, Any] | None]) -> _Outcome:
        _, target, wanted, current = task
        try:
            return self._fetch(target, wanted, current)
        except OpenConnectorError as exc:
            if current is not None and exc.details.get("statusCode") == 410:
                # 410 Gone: the source says the document was removed on purpose
                with contextlib.suppress(NotFound):
                    self.files.delete(target, current["id"])
                return _Outcome("deleted")
            return _Outcome("failed", exc.message)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            return _Outcome("failed", f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # one bad file is one failed file, never the run
            log.exception("fetching %s failed unexpectedly", wanted.url)
            return _Outcome("failed", f"{type(exc).__name__}: {exc}")

    def _fetch(self, target: str, wanted: Wanted, current: dict[str, Any] | None) -> _Outcome:
        headers: dict[str, str] = {}
        known = (current or {}).get("source") or {}
        if known.get("etag"):
            headers["If-None-Match"] = known["etag"]
        if known.get("lastModified"):
            headers["If-Modified-Since"] = known["lastModified"]
        source = self._source_for(wanted)
        with self.calls.stream(
            source, wanted.url, config={"headers": headers} if headers else None
        ) as response:
            if response.status_code == 304:
                return _Outcome("skipped")
            origin = {
                "url": wanted.url,
                "etag": response.headers.get("etag"),
                "lastModified": response.headers.get("last-modified"),
            }
            claimed = response.headers.get("content-type")
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                digest = hashlib.sha256()
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_size:
                        return _Outcome(
                            "failed",
                            f"larger than the limit of {self.max_size} bytes (OPENCONNECTOR_FILES_MAX_SIZE)",
                        )
                    digest.update(chunk)
                    spool.write(chunk)
                if current is not None and digest.hexdigest() == current.get("hash"):
                    if (origin["etag"], origin["lastModified"]) != (
                        known.get("etag"),
                        known.get("lastModified"),
                    ):
                        self.files.remember_source(target, current["id"], origin)  # 304 next time
                    return _Outcome("skipped")  # the server sent the same bytes again
                spool.seek(0)
                if current is not None:
                    self.files.replace(target, current["id"], spool, content_type=claimed, source=origin)
                else:
                    self.files.add(
                        target,
                        spool,
                        name=wanted.name or _name_from(response, wanted.url),
                        content_type=claimed,
                        labels=list(wanted.field.labels),
                        published=wanted.field.published,
                        source=origin,
                    )
        return _Outcome("fetched")
