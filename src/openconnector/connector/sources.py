"""Sources as the application uses them: secrets revealed only for the call,
every call logged to the database, rate-limit state saved on the source.

``CallService`` here is the twin of the tutorial's PHP ``CallService``: it
accepts a source as saved by ``ObjectService`` (secrets masked), an entity, an
id or a uuid, and looks the real source up before calling it::

    source = ObjectService().save_object(object={...}, register="openconnector", schema="source")
    response = CallService().call(source, "/pet/findByStatus?status=available")
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any, BinaryIO

import httpx

from ..context import Context, get_context
from ..errors import NotFound
from ..register.objects import ObjectService
from .call import CallResult, Pages
from .call import CallService as BaseCallService
from .entities import REGISTER, EntityService
from .logs import CallLogWriter

_RATE_FIELDS = ("rateLimitLimit", "rateLimitRemaining", "rateLimitReset", "rateLimitWindow")


#: When each source's rate-limit state was last written (monotonic seconds), per process.
_saved_at: dict[str, float] = {}
_saved_lock = threading.Lock()

_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """One connection pool (and TLS context) per process: building a client costs ~100 ms."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = httpx.Client(
                follow_redirects=True,
                headers={"User-Agent": "openconnector"},
                limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            )
        return _shared


class CallService(BaseCallService):
    """``call``/``pages``/``test`` on stored sources, with call logs in the database."""

    def __init__(self, context: Context | None = None, **options: Any) -> None:
        self.context = context or get_context()
        options.setdefault("client", shared_client())
        options.setdefault("log_sink", CallLogWriter(self.context))
        options.setdefault("source_state_sink", self._save_rate_limit)
        if "token_cache" not in options:
            from .tokens import token_cache

            options["token_cache"] = token_cache(self.context)
        super().__init__(**options)
        self.sources = EntityService("source", self.context)

    def resolve(self, source: Any) -> dict[str, Any]:
        """The stored source with its secrets, for a dict, entity, id or uuid.

        A dict that is not a stored source (no known id) is used as it is, so an
        ad-hoc ``{"location": ...}`` works too.
        """
        if isinstance(source, Mapping):
            ref = source.get("uuid") or (source.get("@self") or {}).get("id") or source.get("id")
            if ref is None:
                return dict(source)
            try:
                return self.sources.get_with_secrets(ref)
            except NotFound:
                return dict(source)
        return self.sources.get_with_secrets(source)

    def call(self, source: Any, endpoint: str = "", method: str = "GET", **options: Any) -> CallResult:
        return super().call(self.resolve(source), endpoint, method, **options)

    def call_resolved(
        self, source: dict[str, Any], endpoint: str = "", method: str = "GET", **options: Any
    ) -> CallResult:
        """``call`` for a source already resolved (many calls, e.g. detail calls, share one lookup
        and one rate-limit state)."""
        return super().call(source, endpoint, method, **options)

    def pages(self, source: Any, endpoint: str = "", **options: Any) -> Pages:
        return super().pages(self.resolve(source), endpoint, **options)

    def test(self, source: Any, endpoint: str = "", method: str = "GET", **options: Any) -> dict[str, Any]:
        return super().test(self.resolve(source), endpoint, method, **options)

    def _save_rate_limit(self, source: dict[str, Any], state: dict[str, Any]) -> None:
        """Keep the source's rate-limit state for the next run (and other processes).

        Written when the allowance is used up (the next call must wait) and otherwise at
        most once a second per source: a run fetching pages at once would else write the
        source after every call, each write queueing behind the run's own page writes.
        """
        ref = source.get("uuid")
        if not ref:
            return
        changes = {k: state[k] for k in _RATE_FIELDS if k in state and state[k] is not None}
        if not changes:
            return
        remaining = changes.get("rateLimitRemaining")
        now = time.monotonic()
        with _saved_lock:
            exhausted = remaining is not None and remaining <= 0
            if not exhausted and now - _saved_at.get(ref, float("-inf")) < 1.0:
                return
            _saved_at[ref] = now
        ObjectService(self.context).save_object(changes, REGISTER, "source", uuid=ref, patch=True)


class SourceService:
    """What the API and UI do with sources beyond CRUD: test them."""

    def __init__(self, context: Context | None = None, call_service: CallService | None = None) -> None:
        self.context = context or get_context()
        self.calls = call_service or CallService(self.context)

    def test(self, ref: Any, endpoint: str = "", method: str = "GET", **options: Any) -> dict[str, Any]:
        """One call, returned as its log with ``ok`` (2xx) and, when not ok, a ``message``
        saying why; never raises for the remote status or a call that could not be made.

        A successful test also carries ``preview``: the first records read the way a
        synchronisation reads them (``records``, ``count`` on the first page, ``where``).
        A SOAP source is tested by calling the operation named as endpoint; a file source by
        reading its first rows (streamed, never the whole file).
        """
        source = self.calls.resolve(ref)
        kind = str(source.get("type") or "").lower()
        if kind in ("soap", "csv", "jsonl", "xlsx"):
            # a file is streamed and only its first rows read (a plain test call would load it whole)
            preview = self.preview(source, endpoint)
            return {
                "ok": preview["ok"],
                "message": preview.get("message"),
                "preview": preview,
                "response": {"responseTime": None, "size": None},
            }
        try:
            result = self.calls.test(source, endpoint, method, **options)
        except (httpx.HTTPError, httpx.InvalidURL, ValueError, TypeError) as exc:
            # e.g. a location httpx cannot even parse: still an answer, not a 500
            return {
                "ok": False,
                "statusCode": None,
                "statusMessage": None,
                "message": f"The call could not be made: {type(exc).__name__}: {exc}",
                "request": None,
                "response": None,
            }
        if result.get("ok") and method == "GET":
            result["preview"] = self.preview(source, endpoint)
        status = result.get("statusCode") or 0
        if not result.get("ok") and not result.get("message"):
            result["message"] = f"The source answered {status} {result.get('statusMessage') or ''}".rstrip()
        if (
            not endpoint
            and result.get("response")  # the remote answered: not a refusal made here
            and not result.get("ok")
            and 400 <= status < 500
            and status not in (401, 403, 407, 429)
        ):
            # Many APIs answer 404 at their bare base URL; it still proves the source is reachable.
            result["ok"] = True
            result["message"] = (
                f"Reachable: the base URL answered {status}, which is normal for an API root. "
                "Give an endpoint to test a real resource."
            )
        return result

    def upload(self, ref: Any, name: str, stream: BinaryIO) -> dict[str, Any]:
        """Keep an uploaded file (CSV, JSON Lines, .xlsx) as the source's data: written in
        chunks under ``<data dir>/uploads/<source uuid>/``, the location becomes ``upload:<name>``.
        A file over ``OPENCONNECTOR_FILES_MAX_SIZE`` is a 413 and the source keeps its old file."""
        from ..files.storage import limited
        from .files import CHUNK, UPLOAD_PREFIX, upload_path

        sources = EntityService("source", self.context)
        source = sources.get(ref)
        path = upload_path(self.context.settings.data_dir, source["uuid"], name)
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        limit = self.context.settings.files_max_size
        try:
            with partial.open("wb") as handle:
                for chunk in limited(iter(lambda: stream.read(CHUNK), b""), limit):
                    handle.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)  # the source keeps the file it had
            raise
        partial.replace(path)
        return sources.update(source["uuid"], {"location": f"{UPLOAD_PREFIX}{path.name}"})

    def preview(self, source: dict[str, Any], endpoint: str = "", limit: int = 5) -> dict[str, Any]:
        """The first ``limit`` records of the first page, and where they were found."""
        from ..errors import OpenConnectorError
        from .readers import source_pages

        try:
            pages = source_pages(
                self.calls, source, endpoint, {}, self.context.settings.data_dir, max_pages=1
            )
            try:
                page = next(pages, None)
            finally:
                if hasattr(pages, "close"):
                    pages.close()
        except OpenConnectorError as exc:
            return {"ok": False, "message": exc.message, "records": [], "count": 0}
        if page is None:
            return {"ok": True, "records": [], "count": 0, "where": pages.stop_reason or "no records"}
        return {"ok": True, "records": page.records[:limit], "count": len(page.records), "where": page.where}
