"""SynchronizationService: pull a source into a register, page by page.

A synchronisation names a source and an endpoint, where the records sit in a
response (``resultsPosition``: ``_root``, a dot path, or auto-detection), what
identifies a record (``idPosition``), a mapping, and a target register/schema.
A run streams the source::

    page N arrives ─┬─> records ─> conditions ─> origin id + hash ─> contracts (one query)
                    │       unchanged & target exists ───────────────> skipped
                    │       mapping (Twig) ─> schema validation ─────> invalid (with reason)
                    │       one transaction: objects + contracts ────> created | updated
    page N+1 is fetched meanwhile (one prefetch thread)
    after the last page of a complete, non-test run: vanished records ─> deleted

and returns the run log, ``log["result"]["objects"] = {found, created, updated,
skipped, invalid, deleted}``. A bad record never stops a run; a failing page
does, keeping what earlier pages wrote and deleting nothing. Test mode writes
nothing and reports what a real run would do. Two runs of one synchronisation
never overlap: a database lock guards each run, across processes and machines.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from typing import Any, NamedTuple

from sqlalchemy import insert, select, update

from .. import metrics, shutdown
from ..clock import now_iso, utcnow
from ..context import Context, get_context
from ..errors import BadRequest, NotFound, OpenConnectorError, ValidationFailed
from ..register.bulk import BulkLoad
from ..register.objects import ObjectService
from ..register.registers import RegisterService
from ..store import tables as t
from ..store.db import Database, ensure_statistics
from ..store.ids import new_uuid
from ..store.locks import LockService, lock_ttl, new_holder
from ..store.statements import Statement, run_statements
from . import outbox
from .contracts import ContractStore, FirstRun
from .entities import EntityService
from .extradata import DetailFailed, ExtraData
from .fetched_files import FileFetcher, file_fields
from .logs import CallLogWriter
from .mapping import MappingError
from .mappings import MappingService
from .pages import Page
from .pagination import from_source_config
from .push import Pusher, is_push
from .readers import source_pages
from .records import MISSING, Unreadable, content_hash, get_path
from .sources import CallService
from .tuning import tuned_for_runs

log = logging.getLogger("openconnector.sync")

MAX_REASONS = 100
#: Pages requested at once where their addresses are predictable (``connector/pages.py``).
DEFAULT_CONCURRENCY = 4
MAX_CONCURRENCY = 32
#: Pages written at once on PostgreSQL (see ``_PageWriter``). First runs of 100,000 records on
#: the loaded two-core development machine, two rounds: 1 writer 8,525 and 8,672 records/s,
#: 2: 11,308 and 10,182, 3: 11,766 and 12,333, 4: 11,856 and 11,216.
PG_WRITERS = 3
_STOP = object()


def _origin_text(value: Any) -> str | None:
    kind = type(value)
    if kind is int:
        return str(value)
    if kind is str:
        return value or None
    if value is MISSING or value is None or value == "" or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _truthy(value: Any) -> bool:
    """PHP truthiness, as the original applies conditions."""
    return value not in (False, 0, 0.0, "", "0", None, [], {})


class Run:
    """The counters and reasons of one run, and its log row."""

    def __init__(self, sync: dict[str, Any], test: bool, force: bool, kind: str = "externToIntern") -> None:
        self.sync = sync
        self.kind = kind
        #: A test push run's would-be calls (``connector/push.py``).
        self.preview: list[dict[str, Any]] | None = None
        self.test = test
        self.force = force
        self.uuid = new_uuid()
        self.started = time.perf_counter()
        self.started_at = utcnow().isoformat(timespec="microseconds")
        self.objects = {"found": 0, "skipped": 0, "created": 0, "updated": 0, "deleted": 0, "invalid": 0}
        self.reasons: list[dict[str, Any]] = []
        self.pages = 0
        #: Page hashes of pages skipped whole (their contracts count as seen).
        self.fast_pages: list[str] = []
        self.stop_reason: str | None = None
        self.where: str | None = None
        self.status = "running"
        self.message = "Running"
        self.complete = False
        #: When a rate-limited source said to come back (unix seconds); the scheduler reads it.
        self.retry_at: float | None = None
        #: ``{fetched, skipped, failed, deleted}`` when the synchronisation fetches files.
        self.files: dict[str, int] | None = None
        #: Set when the synchronisation had no contracts as the run began (``contracts.FirstRun``).
        self.first: FirstRun | None = None

    def invalid(self, origin_id: str | None, reason: str, errors: list[dict[str, Any]] | None = None) -> None:
        self.objects["invalid"] += 1
        if len(self.reasons) < MAX_REASONS:
            entry: dict[str, Any] = {"originId": origin_id, "reason": reason}
            if errors:
                entry["errors"] = errors
            self.reasons.append(entry)

    def nothing_valid(self) -> bool:
        """Records were found and every one was invalid: nothing could be written (a failure)."""
        o = self.objects
        return o["invalid"] > 0 and o["created"] + o["updated"] + o["skipped"] == 0

    def result(self) -> dict[str, Any]:
        result = {
            "objects": dict(self.objects),
            "invalid": list(self.reasons),
            "pages": self.pages,
            "unchangedPages": len(self.fast_pages),
            "stopReason": self.stop_reason,
            "resultsFoundAt": self.where,
            "complete": self.complete,
            "type": self.kind,
        }
        if self.preview is not None:
            result["wouldSend"] = list(self.preview)
        if self.files is not None:
            result["files"] = dict(self.files)
        return result

    def to_log(self, user: str | None = None) -> dict[str, Any]:
        entry = {
            "uuid": self.uuid,
            "synchronizationId": self.sync["uuid"],
            "message": self.message,
            "status": self.status,
            "test": self.test,
            "force": self.force,
            "result": self.result(),
            "executionTime": round((time.perf_counter() - self.started) * 1000, 1),
            "userId": user,
        }
        if self.retry_at is not None:
            entry["retryAt"] = self.retry_at
        return entry


class PageWrite(NamedTuple):
    """One page's writes, built in the mapping thread so the writer thread only runs them."""

    statements: list[Statement]
    #: The page's origin ids: a next page sharing one waits for this write.
    origins: set[str]
    #: Counted once the write has committed.
    created: int
    updated: int
    #: The page records no outbox events: on PostgreSQL its commit need not wait for the
    #: disk (see ``_PageWriter._write``).
    relaxed: bool = False


class _PageWriter:
    """Writes a run's pages on background threads, each page in one transaction, committed in order.

    The database's work on a page (SQLite's and psycopg's calls release the GIL) then
    overlaps with fetching and mapping the next page. A page's ``created`` and
    ``updated`` count once its transaction has committed; a failed write ends the run
    like a failed page. A page that shares a record with a page being written waits
    for that write, so its contract lookup sees the contract (never a duplicate). The
    same transaction saves the run's counts to its log, so the log of a run killed
    mid-way says what it had written.

    On PostgreSQL :data:`PG_WRITERS` pages are written at once, on as many connections: one
    server process per connection, where a first run spent most of its time waiting for
    the one that inserted the rows. Each transaction writes its rows, then waits for
    the page before it to commit, then saves the counts and commits: commits stay in page
    order, and a page after a failed one is rolled back. They never wait on each
    other's rows: their records differ (the overlap rule above) and new objects get new
    uuids. SQLite has one writer at a time, so there it is one page after the other.
    """

    def __init__(self, db: Database, run: Run, call_logs: CallLogWriter | None = None) -> None:
        self.db = db
        self.run = run
        self.call_logs = call_logs
        self.width = 1 if db.is_sqlite else PG_WRITERS
        self.pool = ThreadPoolExecutor(max_workers=self.width, thread_name_prefix="writer")
        #: Pages being written, oldest first.
        self.pending: deque[tuple[Future[None], PageWrite]] = deque()

    def overlaps(self, origins: set[str]) -> bool:
        return any(not write.origins.isdisjoint(origins) for _, write in self.pending)

    def submit(self, write: PageWrite | None) -> None:
        if write is None:  # a page with nothing to write: what is being written counts now
            self.drain()
            return
        while len(self.pending) >= self.width:
            self._count(*self.pending.popleft())
        progress = self._progress(write)  # taken now, in the mapping thread
        before = self.pending[-1][0] if self.pending else None
        self.pending.append((self.pool.submit(self._write, write, progress, before), write))

    def drain(self, quietly: bool = False) -> None:
        """Wait for the pages being written and count them; ``quietly`` when the run already failed."""
        while self.pending:
            future, write = self.pending.popleft()
            try:
                self._count(future, write)
            except Exception:
                if not quietly:
                    raise
                log.exception("writing the last pages of a failed run failed too")

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def _count(self, future: Future[None], write: PageWrite) -> None:
        future.result()
        self.run.objects["created"] += write.created
        self.run.objects["updated"] += write.updated

    def _progress(self, write: PageWrite) -> dict[str, Any]:
        """The counts as they stand once ``write`` (and the pages before it) commit."""
        result = self.run.result()
        for page in [*(w for _, w in self.pending), write]:
            result["objects"]["created"] += page.created
            result["objects"]["updated"] += page.updated
        return result

    def _write(self, write: PageWrite, progress: dict[str, Any], before: Future[None] | None) -> None:
        with self.db.begin() as conn:
            if write.relaxed and not self.db.is_sqlite:
                # A server crash may then lose the last pages' commits, as if the run had been
                # interrupted before them: the page's objects, contracts and progress go together,
                # and the run's final log commit waits for all of them. Never for a page with
                # outbox events: a deliverer could send an event whose change a crash then undoes.
                conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
            run_statements(conn, write.statements)
            if before is not None:
                before.result()  # the page before commits first; if it failed, this one rolls back
            conn.execute(
                update(t.synchronization_logs)
                .where(t.synchronization_logs.c.uuid == self.run.uuid)
                .values(
                    result=progress,
                    execution_time=round((time.perf_counter() - self.run.started) * 1000, 1),
                    updated=now_iso(),
                )
            )
        if self.call_logs is not None:  # the pages' call logs, held while they were fetched
            self.call_logs.flush()


class SynchronizationService:
    """Runs synchronisations: ``SynchronizationService().synchronize(sync)``."""

    def __init__(
        self,
        context: Context | None = None,
        *,
        call_service: CallService | None = None,
        mapping_service: MappingService | None = None,
    ) -> None:
        self.context = context or get_context()
        self.db = self.context.db
        self.objects = ObjectService(self.context)
        self.entities = EntityService("synchronization", self.context)
        self._calls = call_service
        self._mappings = mapping_service
        self.locks = LockService(self.db)

    @property
    def calls(self) -> CallService:
        if self._calls is None:
            self._calls = CallService(self.context)
        return self._calls

    @property
    def mappings(self) -> MappingService:
        if self._mappings is None:
            self._mappings = MappingService(self.context)
        return self._mappings

    # -- public --------------------------------------------------------------------

    def synchronize(
        self,
        synchronization: Any,
        test: bool = False,
        force: bool = False,
        *,
        stop: threading.Event | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
        user: str | None = None,
        wait: float = 0.0,
        records: list[Any] | None = None,
    ) -> dict[str, Any]:
        """Run one synchronisation and return its log (also stored, see ``GET /api/synchronizations/logs``).

        ``test`` writes nothing; ``force`` rewrites records whose hash is unchanged;
        ``stop`` ends the run after the page in progress (status ``interrupted``);
        ``progress`` is called after each page with the counters. Raises
        :class:`Conflict` when the synchronisation is already running (after
        waiting ``wait`` seconds) and :class:`BadRequest` for an incomplete one.

        ``records`` (an endpoint's ``synchronization`` rule pushes the request body) are
        processed as the one page of the run instead of fetching the source; such a run
        never deletes, as it saw only what was pushed.
        """
        sync = self.entities.get(synchronization)
        pusher = Pusher(self) if is_push(sync) else None
        plan = pusher.plan(sync) if pusher is not None else self._plan(sync, pushed=records is not None)
        if pusher is not None and records is not None:
            raise BadRequest("A push synchronization sends the register's objects; it takes no records")
        if records is not None:
            plan["records"] = list(records)
        name = f"synchronization:{sync['uuid']}"
        with self.locks.held(
            name,
            ttl=lock_ttl(),
            wait=wait,
            message=f"Synchronization {sync.get('name') or sync['uuid']!r} is already running; "
            "try again when it has finished",
        ) as heartbeat:
            run = Run(sync, test, force, "internToExtern" if pusher is not None else "externToIntern")
            self._open_log(run, user)
            try:
                if pusher is not None:
                    pusher.run(run, plan, stop, heartbeat)
                else:
                    with tuned_for_runs():
                        self._run(run, plan, stop, progress, heartbeat)
            except OpenConnectorError as exc:
                run.status, run.message = "error", exc.message
                run.retry_at = exc.details.get("retry_at")
                log.warning("synchronization %s failed: %s", sync["uuid"], exc.message)
            except Exception as exc:  # a bug or an unexpected failure: log it, keep the counts
                run.status, run.message = "error", f"Unexpected error: {type(exc).__name__}: {exc}"
                log.error("synchronization %s crashed\n%s", sync["uuid"], traceback.format_exc())
            entry = self._close_log(run, user)
            metrics.observe_run(
                sync["uuid"], run.status, run.test, run.objects, time.perf_counter() - run.started
            )
            return entry

    # -- planning ------------------------------------------------------------------

    def _plan(self, sync: dict[str, Any], pushed: bool = False) -> dict[str, Any]:
        """Everything a run needs, checked up front so a misconfiguration is one clear 400."""
        needed = ("targetId",) if pushed else ("sourceId", "targetId")
        missing = [k for k in needed if not sync.get(k)]
        if missing:
            raise BadRequest(
                f"Synchronization {sync.get('name')!r} has no {' and no '.join(missing)}; "
                "set them before running it",
                fields=missing,
            )
        source_type = (sync.get("sourceType") or "api").lower()
        if source_type not in ("api", "json"):
            raise BadRequest(f"sourceType {source_type!r} is not supported; use 'api'", field="sourceType")
        target_type = sync.get("targetType") or "register/schema"
        if target_type != "register/schema":
            raise BadRequest(
                f"targetType {target_type!r} is not supported; use 'register/schema'", field="targetType"
            )
        target = str(sync["targetId"])
        if target.count("/") != 1:
            raise BadRequest(f"targetId must be '<register>/<schema>', got {target!r}", field="targetId")
        register_ref, schema_ref = target.split("/")
        try:
            register, schema = self.objects.resolve(register_ref, schema_ref)
        except NotFound as exc:
            raise BadRequest(
                f"The target {target!r} does not exist: {exc.message}", field="targetId"
            ) from None
        source = None
        try:
            if not pushed or sync.get("sourceId"):
                source = self.calls.resolve(sync["sourceId"])
        except NotFound:
            if not pushed:
                raise BadRequest(
                    f"The source {sync['sourceId']!r} does not exist", field="sourceId"
                ) from None
        config = dict(sync.get("sourceConfig") or {})
        config = _expand_dotted(config)
        mapping = None
        if sync.get("sourceTargetMapping"):
            try:
                mapping = EntityService("mapping", self.context).get(sync["sourceTargetMapping"])
            except NotFound:
                raise BadRequest(
                    f"The mapping {sync['sourceTargetMapping']!r} does not exist", field="sourceTargetMapping"
                ) from None
        hash_mapping = None
        if sync.get("sourceHashMapping"):
            hash_mapping = EntityService("mapping", self.context).get(sync["sourceHashMapping"])
        conditions = sync.get("conditions") or None
        if conditions is not None and not isinstance(conditions, dict | list | bool):
            raise BadRequest("conditions must be a JSON Logic object", field="conditions")
        pagination, max_pages = from_source_config(config)
        extra_configs = config.get("extraDataConfigs") or None
        extra = self._extra_data(extra_configs, source) if extra_configs else None
        mapping_hash = (
            content_hash(
                [
                    mapping.get("mapping"),
                    mapping.get("unset"),
                    mapping.get("cast"),
                    mapping.get("passThrough"),
                    register["id"],
                    schema["id"],
                    schema,  # its content, not its "updated": that has whole seconds
                    *([extra_configs] if extra_configs else []),
                ]
            )
            if mapping
            else content_hash(
                [register["id"], schema["id"], schema, *([extra_configs] if extra_configs else [])]
            )
        )
        id_position = str(config.get("idPosition") or "id")
        files = file_fields(sync, config, self._rules(sync.get("actions")))
        concurrency = _concurrency(config.get("concurrency"), "sourceConfig.concurrency")
        if concurrency is None:
            concurrency = _concurrency((source or {}).get("concurrency"), "the source's concurrency")
        return {
            "concurrency": DEFAULT_CONCURRENCY if concurrency is None else concurrency,
            "register": register,
            "schema": schema,
            "source": source,
            "config": config,
            "mapping": self.mappings.compile(mapping) if mapping else None,
            "mapping_hash": mapping_hash,
            # Everything besides the records that decides what a page writes: a page whose
            # records and salt are unchanged would write exactly what its contracts hold.
            "page_salt": content_hash([mapping_hash, hash_mapping, conditions, id_position]),
            "hash_mapping": self.mappings.compile(hash_mapping) if hash_mapping else None,
            "conditions": conditions if conditions not in ({}, []) else None,
            "pagination": pagination,
            "max_pages": max_pages,
            "id_position": id_position,
            "results_position": config.get("resultsPosition") or None,
            "endpoint": str(config.get("endpoint") or ""),
            "extra": extra,
            "files": files,
            "extra_first": extra is not None
            and config.get("fetchExtraDataBeforeConditions") in (True, 1, "1", "true"),
        }

    def _rules(self, refs: Any) -> list[dict[str, Any]]:
        """The synchronisation's ``actions`` (rule ids); only ``fetch_file`` rules act on a run.

        A rule that does not exist is left out with a warning, as the original does
        (imported configurations often name rules of another installation).
        """
        if not isinstance(refs, list) or not refs:
            return []
        rules = EntityService("rule", self.context)
        found = []
        for ref in refs:
            try:
                found.append(rules.get(ref))
            except NotFound:
                log.warning("synchronization action %r: no such rule, left out", ref)
        return found

    def _extra_data(self, configs: Any, source: dict[str, Any]) -> ExtraData:
        """Detail calls per record (``extraDataConfigs``), decoded like the source's pages."""
        from ..twig import Environment

        calls = self.calls

        def call(target: dict[str, Any], endpoint: str) -> Any:
            result = calls.call_resolved(target, endpoint)
            result.raise_for_status()
            kind = str(target.get("type") or "").lower()
            return result.data(kind if kind in ("xml", "jsonl", "json") else None)

        def resolve(ref: Any) -> dict[str, Any]:
            try:
                return calls.resolve(ref)
            except NotFound:
                raise BadRequest(
                    f"extraDataConfigs names source {ref!r}, which does not exist", field="extraDataConfigs"
                ) from None

        twig = Environment(autoescape=False, timezone=self.context.settings.timezone)
        return ExtraData(configs, source, call, resolve, twig)

    # -- running -------------------------------------------------------------------

    def _run(
        self,
        run: Run,
        plan: dict[str, Any],
        stop: threading.Event | None,
        progress: Callable[[dict[str, Any]], None] | None,
        heartbeat: Any,
    ) -> None:
        config = plan["config"]
        pages: Any = (
            _Pushed(plan["records"])
            if "records" in plan
            else source_pages(
                self.calls,
                plan["source"],
                plan["endpoint"],
                config,
                self.context.settings.data_dir,
                concurrency=plan["concurrency"],
            )
        )
        contracts = ContractStore(run.sync["uuid"])
        with self.db.connect() as conn:
            run.first = contracts.first_run(conn)  # no contracts yet: lookups can skip what it never wrote
        # Only a test run remembers every origin id (to count what a real run would delete);
        # a real run marks contracts in the database instead, so memory stays flat.
        seen: set[str] | None = set() if run.test else None
        sink = self.calls.log_sink
        call_logs = sink if isinstance(sink, CallLogWriter) else None
        writer = _PageWriter(self.db, run, call_logs)  # a test run prepares no writes: it stays idle
        fetcher = None
        if plan.get("files") and not run.test:  # a test run writes nothing, files included
            fetcher = FileFetcher(
                self.context, self.calls, plan["files"], plan["source"], plan["concurrency"]
            )
            run.files = fetcher.counts
        bulk = None if run.test else BulkLoad(self.objects.registers, plan["schema"], self.db)
        if bulk is not None:
            bulk.start()
        with (
            call_logs.hold() if call_logs is not None else nullcontext(),
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch") as prefetch,
        ):
            upcoming: Future[Any] = prefetch.submit(next, pages, _STOP)
            try:
                while True:
                    page = upcoming.result()  # raises the page's error: the run ends, deleting nothing
                    if page is _STOP:
                        break
                    if (stop is not None and stop.is_set()) or shutdown.STOP.is_set():
                        run.stop_reason = "stopped"
                        break
                    upcoming = prefetch.submit(next, pages, _STOP)
                    run.pages += 1
                    if run.where is None:
                        run.where = page.where
                    # the write waits for the previous page's; meanwhile the next page is fetched and mapped
                    write = self._page(run, plan, page, contracts, seen, writer)
                    if write is not None and bulk is not None and bulk.due(write.created):
                        writer.drain()  # a large load into a small schema: its indexes after it
                        bulk.defer()
                    writer.submit(write)
                    if fetcher is not None:
                        # files go on the page's objects: once they are written (the next
                        # page is still fetched meanwhile)
                        writer.drain()
                        fetcher.page(run, self._file_items(plan, page), contracts)
                    heartbeat.beat()
                    if (
                        run.pages in (1, 4, 16, 64, 256)
                        and not self.db.is_sqlite
                        and not run.test
                        and run.objects["created"]
                    ):
                        self._analyze()
                    if progress is not None:
                        progress(
                            {
                                "pages": run.pages,
                                "records": run.objects["found"],
                                "objects": dict(run.objects),
                            }
                        )
                writer.drain()
            except BaseException:
                writer.drain(quietly=True)  # what was read before the failure is still written
                raise
            finally:
                writer.close()
                if fetcher is not None:
                    fetcher.close()
                pages.close()  # requests sent ahead of a run that ended early are dropped
                if bulk is not None:
                    bulk.finish()  # also after a failure or a stop: the indexes are there again
            if run.stop_reason != "stopped":
                run.stop_reason = pages.stop_reason
        if run.objects["found"] == 0:  # (an empty answer is no page: ``run.pages`` stays 0)
            run.message = (
                f"No records found: {run.where or 'the response held no records'}. Check resultsPosition."
            )
        run.complete = (
            run.stop_reason != "stopped"
            and not (run.stop_reason or "").startswith("maxPages")
            and "records" not in plan
        )
        if run.stop_reason == "stopped":
            run.status, run.message = "interrupted", "Stopped after a complete page; nothing was deleted"
            return
        if run.nothing_valid():
            run.status = "error"
            run.message = (
                f"Failed: all {run.objects['invalid']} records were invalid; nothing was written "
                "and nothing deleted (see result.invalid)"
            )
            return
        if run.complete and not run.test:
            run.objects["deleted"] = self._delete_vanished(run, contracts)
        elif run.complete and run.test and seen is not None:
            with self.db.connect() as conn:
                run.objects["deleted"] = contracts.count_missing(conn, seen)
        if self.db.is_sqlite and not run.test and run.objects["created"] + run.objects["deleted"] > 1000:
            with self.db.begin() as conn:  # fresh statistics after bulk changes keep the planner right
                conn.exec_driver_sql("PRAGMA optimize")
                ensure_statistics(conn)  # optimize skips tables this connection never queried
        early = (
            ""
            if run.complete or "records" in plan
            else f", but the run stopped early ({run.stop_reason}); nothing was deleted"
        )
        if run.objects["invalid"]:
            run.status = "warning"
            run.message = (
                f"Completed with {run.objects['invalid']} invalid of {run.objects['found']} records{early}"
            )
        else:
            run.status = "success"
            if run.message == "Running":
                run.message = f"Success{early}"

    def _page(
        self,
        run: Run,
        plan: dict[str, Any],
        page: Page,
        contracts: ContractStore,
        seen: set[str] | None,
        writer: _PageWriter,
    ) -> PageWrite | None:
        """One page: classify every record and prepare its writes (objects and contracts,
        written in one transaction by the writer thread).

        A page whose records are exactly those of a page a run saw before, under the same
        mapping, is skipped whole when every one of its records has a contract from that
        page and a target object: re-reading, hashing and comparing each record could
        only conclude "unchanged" for each.
        """
        records = page.records
        run.objects["found"] += len(records)
        page_hash = None
        if not run.test and page.fingerprint:
            page_hash = content_hash([plan["page_salt"], page.fingerprint])
            if not run.force and (run.first is None or run.first.may_have_page(page_hash)):
                with self.db.connect() as conn:
                    total, present = contracts.page_census(conn, page_hash)
                if total == present == len(records):
                    run.objects["skipped"] += len(records)
                    run.fast_pages.append(page_hash)
                    return None
        id_position = plan["id_position"]
        conditions = plan["conditions"]
        failed: dict[int, str] = {}
        if plan["extra_first"]:  # fetchExtraDataBeforeConditions: conditions may test the details
            records, failed = self._details_first(plan, records)
        keyed: list[tuple[str, Any]] = []
        on_page: set[str] = set()
        for record in records:
            if not isinstance(record, dict):
                run.invalid(
                    None,
                    record
                    if isinstance(record, Unreadable)
                    else f"The record is not an object but {type(record).__name__}",
                )
                continue
            reason = failed.get(id(record)) if failed else None
            if reason is None and conditions is not None and not _conditions_hold(conditions, record):
                run.objects["skipped"] += 1
                continue
            origin = _origin_text(get_path(record, id_position))
            if origin is None:
                run.invalid(
                    None, f"No id at idPosition {id_position!r}; the record has keys {sorted(record)[:20]}"
                )
                continue
            if origin in on_page:  # the same record twice on one page; later pages meet its contract
                run.objects["skipped"] += 1
                continue
            on_page.add(origin)
            if seen is not None:
                seen.add(origin)
            keyed.append((origin, DetailFailed(reason) if reason else record))
        if not keyed:
            return None
        if writer.overlaps(on_page):
            writer.drain()  # a record also on the page being written: read its contract once written
        first = run.first
        with self.db.connect() as conn:
            existing = (
                contracts.for_origins(conn, [o for o, _ in keyed])
                if first is None or first.may_have(on_page)
                else {}
            )
            if first is not None:
                first.add(on_page, page_hash)
            return self._prepare(run, plan, keyed, existing, contracts, page_hash, on_page, conn)

    def _file_items(self, plan: dict[str, Any], page: Page) -> list[tuple[str, Any]]:
        """The page's records that may have an object, by origin id, for their files."""
        items: dict[str, Any] = {}
        conditions = plan["conditions"]
        for record in page.records:
            if not isinstance(record, dict):
                continue
            if conditions is not None and not _conditions_hold(conditions, record):
                continue
            origin = _origin_text(get_path(record, plan["id_position"]))
            if origin is not None:
                items.setdefault(origin, record)
        return list(items.items())

    def _details_first(self, plan: dict[str, Any], records: list[Any]) -> tuple[list[Any], dict[int, str]]:
        """Every record with an id gets its details before the conditions; returns the records
        and, by ``id()`` of the record, the reason of each failed detail call."""
        id_position = plan["id_position"]
        items = [
            (origin, record)
            for record in records
            if isinstance(record, dict)
            and (origin := _origin_text(get_path(record, id_position))) is not None
        ]
        filled = plan["extra"].fill_many(items)
        replaced: dict[int, Any] = {}
        failed: dict[int, str] = {}
        for (_, record), result in zip(items, filled, strict=True):
            if isinstance(result, DetailFailed):
                failed[id(record)] = str(result)
            else:
                replaced[id(record)] = result
        return [replaced.get(id(r), r) for r in records], failed

    def _prepare(
        self,
        run: Run,
        plan: dict[str, Any],
        keyed: list[tuple[str, Any]],
        existing: dict[str, Any],
        contracts: ContractStore,
        page_hash: str | None,
        on_page: set[str],
        conn: Any,
    ) -> PageWrite | None:
        """Hash, compare, map and validate the page's records; a test run counts and stops there."""
        seen_only: list[str] = []  # skipped as unchanged: their contracts are marked seen
        seen_invalid: list[str] = []  # invalid: marked seen too, but never part of a skippable page
        mapping = plan["mapping"]
        hash_mapping = plan["hash_mapping"]
        mapping_hash = plan["mapping_hash"]
        to_save: list[dict[str, Any]] = []
        uuids: list[str | None] = []
        meta: list[tuple[str, str, Any]] = []
        changed_records: list[tuple[str, Any, str, Any]] = []
        for origin, record in keyed:
            if isinstance(record, DetailFailed):  # fetched before the conditions, and failed
                run.invalid(origin, str(record))
                seen_invalid.append(origin)
                continue
            try:
                origin_hash = content_hash(hash_mapping.apply(record) if hash_mapping else record)
            except MappingError as exc:
                run.invalid(origin, f"sourceHashMapping failed: {exc.message}")
                seen_invalid.append(origin)
                continue
            contract = existing.get(origin)
            if (
                contract is not None
                and not run.force
                and contract.origin_hash == origin_hash
                and contract.mapping_hash == mapping_hash
                and contract.target_exists
            ):
                run.objects["skipped"] += 1
                seen_only.append(origin)
                continue
            changed_records.append((origin, record, origin_hash, contract))
        if plan["extra"] is not None and not plan["extra_first"] and changed_records:
            # Only records whose list entry changed get their detail calls, all of the page's at once.
            filled = plan["extra"].fill_many([(origin, record) for origin, record, _, _ in changed_records])
            changed_records = [
                (origin, full, origin_hash, contract)
                for (origin, _, origin_hash, contract), full in zip(changed_records, filled, strict=True)
            ]
        for origin, record, origin_hash, contract in changed_records:
            if isinstance(record, DetailFailed):
                run.invalid(origin, str(record))
                seen_invalid.append(origin)
                continue
            try:
                target = mapping.apply(record) if mapping else dict(record)
            except MappingError as exc:
                run.invalid(origin, exc.message)
                seen_invalid.append(origin)
                continue
            except Exception as exc:  # a template that fails in an unforeseen way is still one bad record
                run.invalid(origin, f"Mapping failed: {type(exc).__name__}: {exc}")
                seen_invalid.append(origin)
                continue
            if not isinstance(target, dict):
                run.invalid(origin, f"The mapping produced {type(target).__name__}, not an object")
                seen_invalid.append(origin)
                continue
            # A known target keeps its uuid; a new one gets its uuid from ObjectService, which
            # then skips the lookup (it drops any "id" or "@self" the mapping produced).
            to_save.append(target)
            uuids.append(contract.target_id if contract is not None and contract.target_exists else None)
            meta.append((origin, origin_hash, contract))
        batch = self.objects.prepare_objects(
            to_save, plan["register"], plan["schema"], conn, uuids=uuids, raise_invalid=False, shape=False
        )
        new: list[tuple[str, str, str]] = []
        changed: list[tuple[int, str, str]] = []
        updated = 0
        for result, (origin, origin_hash, contract) in zip(batch.results, meta, strict=True):
            if isinstance(result, ValidationFailed):
                run.invalid(origin, _reason(result.errors), result.errors)
                seen_invalid.append(origin)
            elif contract is None:
                new.append((origin, origin_hash, result))
            else:
                changed.append((contract.id, origin_hash, result))
                # a contract whose target had been removed is "created" again, not "updated"
                updated += contract.target_exists
        created = len(new) + len(changed) - updated
        if run.test:
            run.objects["created"] += created
            run.objects["updated"] += updated
            return None
        dialect = conn.dialect.name
        checked = run.started_at
        events = [(u, "create") for u, _ in batch.inserts] + [(u, "update") for u, _, _ in batch.updates]
        recorded = outbox.statements(self.objects, conn, plan["register"], plan["schema"], events)
        statements = [
            *batch.statements(dialect),
            *recorded,
            *contracts.write_statements(dialect, new, changed, mapping_hash, checked, page_hash),
            *contracts.seen_statements(dialect, seen_only, checked, page_hash),
            *contracts.seen_statements(dialect, seen_invalid, checked, None),
        ]
        return PageWrite(statements, on_page, created, updated, relaxed=not recorded)

    def _analyze(self) -> None:
        """Fresh PostgreSQL statistics while a run fills the tables: planned on empty
        tables, contract lookups would otherwise scan instead of using their index."""
        with self.db.engine.connect() as conn:
            # Only the columns those lookups plan with: every column's statistics (the documents
            # compared whole, a dozen timestamp and hash columns) took 0.6-1.2 s of a first run of
            # 100,000 records, competing with the page writes for the machine's two cores.
            conn.exec_driver_sql(
                "ANALYZE synchronization_contracts (id, synchronization_id, origin_id, page_hash)"
            )
            conn.exec_driver_sql("ANALYZE objects (id, uuid, register_id, schema_id)")
            conn.commit()

    def _delete_vanished(self, run: Run, contracts: ContractStore) -> int:
        deleted = 0
        while True:
            with self.db.begin() as conn:
                batch = contracts.unseen_targets(conn, run.started_at, run.fast_pages)
                if not batch:
                    return deleted
                deleted += self.objects.delete_objects([r.target_id for r in batch if r.target_id], conn=conn)
                contracts.remove(conn, [r.id for r in batch])

    # -- logs ----------------------------------------------------------------------

    def _open_log(self, run: Run, user: str | None) -> None:
        now = now_iso()
        with self.db.begin() as conn:
            # We hold the run lock, so a log still "running" belongs to a process that died.
            mark_interrupted(conn, run.sync["uuid"], now)
            conn.execute(
                insert(t.synchronization_logs).values(
                    uuid=run.uuid,
                    synchronization_id=run.sync["uuid"],
                    message=run.message,
                    status=run.status,
                    test=run.test,
                    force=run.force,
                    result=run.result(),
                    execution_time=0.0,
                    user_id=user,
                    created=run.started_at,  # to the microsecond: runs of one sync can start within a second
                    updated=now,
                )
            )

    def _close_log(self, run: Run, user: str | None) -> dict[str, Any]:
        entry = run.to_log(user)
        now = now_iso()
        with self.db.begin() as conn:
            conn.execute(
                update(t.synchronization_logs)
                .where(t.synchronization_logs.c.uuid == run.uuid)
                .values(
                    message=entry["message"],
                    status=entry["status"],
                    result=entry["result"],
                    execution_time=entry["executionTime"],
                    updated=now,
                )
            )
        return {**entry, "created": run.started_at, "updated": now}


def _concurrency(value: Any, where: str) -> int | None:
    """A page concurrency setting: None when unset, else a whole number 1..MAX_CONCURRENCY."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if isinstance(value, bool) or number != value and str(number) != str(value).strip() or number < 1:
        raise BadRequest(
            f"{where} must be a whole number of pages to fetch at once (1 = one by one), not {value!r}",
            field="concurrency",
        )
    return min(number, MAX_CONCURRENCY)


class _Pushed:
    """Records given to the run (an endpoint's body) as its one page."""

    def __init__(self, records: list[Any]) -> None:
        self._pages = iter([Page(number=1, records=records, raw=records, url="(pushed records)")])
        self.stop_reason: str | None = "pushed"

    def __iter__(self) -> _Pushed:
        return self

    def __next__(self) -> Page:
        return next(self._pages)

    def close(self) -> None:
        """Nothing was requested ahead (``Pages.close``'s twin)."""


DIED = "Interrupted: the process running it stopped; its counts are those of its last written page"


def mark_interrupted(conn: Any, sync_uuid: str | None, now: str | None = None) -> int:
    """Logs still ``running`` (of one synchronisation, or all) whose process died: ``interrupted``.

    Only call it knowing no live process runs them (holding the run's lock, or having
    checked the lock is free). Their counts stay as the last written page saved them.
    """
    where = [t.synchronization_logs.c.status == "running"]
    if sync_uuid is not None:
        where.append(t.synchronization_logs.c.synchronization_id == sync_uuid)
    return conn.execute(
        update(t.synchronization_logs)
        .where(*where)
        .values(status="interrupted", message=DIED, updated=now or now_iso())
    ).rowcount


def recover_dead_runs(context: Context) -> int:
    """Mark the logs of runs whose process died ``interrupted`` and free their locks; returns how many.
    Also builds the property indexes a bulk load of such a run left dropped.

    A service, scheduler or worker calls this when it starts, so a run killed with
    ``kill -9`` does not show as running, and its synchronisation can start again at once.
    """
    locks = LockService(context.db)
    with context.db.connect() as conn:
        running = (
            conn.execute(
                select(t.synchronization_logs.c.synchronization_id)
                .where(t.synchronization_logs.c.status == "running")
                .distinct()
            )
            .scalars()
            .all()
        )
    recovered = 0
    for sync_uuid in running:
        name = f"synchronization:{sync_uuid}"
        holder = new_holder()
        if not locks.acquire(name, holder, ttl=lock_ttl()):
            continue  # alive: a process still holds (and beats) the lock
        try:
            with context.db.begin() as conn:
                recovered += mark_interrupted(conn, sync_uuid)
        finally:
            locks.release(name, holder)
    if recovered:
        log.warning("%d synchronization run(s) of a stopped process marked interrupted", recovered)
    # a bulk load killed before it built its schema's property indexes again (register/bulk.py)
    try:
        rebuilt = RegisterService(context).restore_indexes()
    except Exception:  # the service starts anyway: the next run into the schema builds them
        log.exception("could not build property indexes left dropped by a stopped bulk load")
        rebuilt = 0
    if rebuilt:
        log.warning("%d property index(es) left dropped by a stopped bulk load built again", rebuilt)
    return recovered


def _reason(errors: list[dict[str, Any]]) -> str:
    parts = [f"{e.get('property') or '(object)'}: {e.get('message')}" for e in errors[:5]]
    return "Schema validation failed: " + "; ".join(parts)


def _conditions_hold(conditions: Any, record: dict[str, Any]) -> bool:
    from json_logic import jsonLogic

    try:
        return _truthy(jsonLogic(conditions, record))
    except Exception:  # a rule that cannot be evaluated on this record does not hold
        return False


def _expand_dotted(config: dict[str, Any]) -> dict[str, Any]:
    """``{"query.status": "x"}`` → ``{"query": {"status": "x"}}``, as the original expands sourceConfig."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if "." in key and key not in ("resultsPosition", "idPosition"):
            node = out
            *parents, last = key.split(".")
            for part in parents:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    break
            else:
                node[last] = value
                continue
        out[key] = value
    return out
