"""Scale-out on PostgreSQL: ``openconnector worker`` processes run jobs from a procrastinate queue.

Why procrastinate: the queue lives in the same PostgreSQL database, so there is
nothing else to deploy, and it gives the three guarantees the scheduler needs:

* ``queueing_lock="job:<uuid>"``: at most one waiting run per job, so enqueuers
  on several machines can never pile up duplicates;
* ``lock="job:<uuid>"``: at most one run per job executing at a time, across
  every worker (the synchronisation's own database lock covers manual runs);
* worker heartbeats: a worker killed mid-run stops beating; the others find its
  job with ``get_stalled_jobs`` and put it back in the queue (``retry_job``).
  The retried run waits (``RetryLater``) until the dead run's locks expire
  (``OPENCONNECTOR_LOCK_TTL``), then resumes; contracts make it idempotent.

Every worker also runs the *enqueuer*: every ``poll`` seconds it defers a run for
each due job that has no run waiting or executing. ``JobService.run`` re-checks
that the job is still due under the job lock, so a slot runs once even when two
enqueuers race. ``openconnector scheduler --enqueue-only`` runs just the enqueuer,
for deployments that want it apart from the workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import procrastinate
from procrastinate import JobContext, RetryDecision
from procrastinate.retry import BaseRetryStrategy
from sqlalchemy import select
from sqlalchemy.engine import make_url

from .. import shutdown
from ..clock import parse_iso, utcnow
from ..connector.logs import LOG_PURGE_EVERY, LogService
from ..context import Context
from ..errors import BadRequest, Conflict, NotFound
from ..store import tables as t
from .service import JobService

log = logging.getLogger("openconnector.worker")

TASK = "openconnector.run_job"
QUEUE = "openconnector"
SCHEMA_LOCK = 7_310_051  # pg_advisory_lock key: one process applies the queue schema

#: Set on SIGTERM/SIGINT: runs finish the page in progress, commit and return "interrupted".
STOP = shutdown.STOP


class RetryLater(Exception):  # noqa: N818 - it is a signal, not an error
    """The run must wait for ``at`` (a dead run's lock expires then)."""

    def __init__(self, at: datetime) -> None:
        super().__init__(f"retry at {at.isoformat()}")
        self.at = at


class RunRetry(BaseRetryStrategy):
    """``RetryLater`` waits for its time; anything else escaping a run is retried 5 times, 2^n s apart."""

    def get_retry_decision(
        self, *, exception: BaseException, job: procrastinate.jobs.Job
    ) -> RetryDecision | None:
        if isinstance(exception, RetryLater):
            return RetryDecision(retry_at=exception.at)
        if job.attempts < 5:
            return RetryDecision(retry_in={"seconds": 2**job.attempts})
        return None


def dsn_of(context: Context) -> str:
    """The libpq connection string of the instance's PostgreSQL database."""
    if context.settings.is_sqlite:
        raise BadRequest(
            "Workers need PostgreSQL (OPENCONNECTOR_DATABASE_URL=postgresql+psycopg://...); "
            "on SQLite `openconnector serve` runs the jobs itself"
        )
    url = make_url(context.settings.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def ensure_schema(dsn: str) -> bool:
    """Create procrastinate's tables if they are missing (idempotent, safe for workers starting together)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            exists = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if exists and exists[0]:
                return False
            schema = procrastinate.schema.SchemaManager.get_schema()
            with conn.transaction():
                conn.execute(schema)  # type: ignore[arg-type]
            log.info("procrastinate schema applied")
            return True
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def lock_expiry(context: Context, name: str | None) -> datetime:
    """When the lock ``name`` expires (a moment from now when it is free or unknown)."""
    soon = utcnow() + timedelta(seconds=1)
    if not name:
        return soon
    with context.db.connect() as conn:
        expires = conn.execute(select(t.locks.c.expires).where(t.locks.c.name == name)).scalar()
    if not expires:
        return soon
    return max(parse_iso(expires) + timedelta(milliseconds=200), soon)


def make_app(context: Context, *, pool_size: int = 4) -> procrastinate.App:
    """The procrastinate app of this instance, with the run task registered."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=dsn_of(context), min_size=1, max_size=max(2, pool_size)
        )
    )

    @app.task(name=TASK, queue=QUEUE, pass_context=True, retry=RunRetry())
    def run_job(job_context: JobContext, job_uuid: str, force: bool = False) -> dict[str, Any] | None:
        """One run of a job. A recovered run (attempts > 0) waits for the dead run's locks."""
        recovering = job_context.job.attempts > 0
        service = JobService(context)
        try:
            entry = service.run(
                job_uuid, force=force, stop=STOP, on_conflict="raise" if recovering else "skip"
            )
        except NotFound:
            return None  # deleted since it was queued
        except Conflict as exc:
            if not recovering:
                return None
            name = exc.details.get("lock") or f"job:{job_uuid}"
            raise RetryLater(lock_expiry(context, name)) from None
        if entry is None:
            return None
        return {
            "level": entry["level"],
            "message": entry["message"][:200],
            "executionTime": entry["executionTime"],
        }

    return app


def defer(app: procrastinate.App, job_uuid: str, force: bool = False) -> int | None:
    """Queue one run of a job (synchronously); None when one is already waiting."""
    try:
        return app.configure_task(
            TASK, queue=QUEUE, lock=f"job:{job_uuid}", queueing_lock=f"job:{job_uuid}"
        ).defer(job_uuid=job_uuid, force=force)
    except procrastinate.exceptions.AlreadyEnqueued:
        return None


_ACTIVE = """
SELECT queueing_lock FROM procrastinate_jobs
 WHERE status IN ('todo', 'doing') AND task_name = %(task)s AND queueing_lock IS NOT NULL
"""


async def enqueue_due(app: procrastinate.App, context: Context, executor: ThreadPoolExecutor) -> int:
    """Defer a run for every due job without a run waiting or executing; returns how many."""
    loop = asyncio.get_running_loop()
    due = await loop.run_in_executor(executor, JobService(context).due)
    if not due:
        return 0
    rows = await app.connector.execute_query_all_async(_ACTIVE, task=TASK)  # type: ignore[arg-type]
    active = {r["queueing_lock"] for r in rows}
    count = 0
    for job in due:
        key = f"job:{job['uuid']}"
        if key in active:
            continue
        try:
            await app.configure_task(TASK, queue=QUEUE, lock=key, queueing_lock=key).defer_async(
                job_uuid=job["uuid"], force=False
            )
            count += 1
        except procrastinate.exceptions.AlreadyEnqueued:
            continue
    return count


async def enqueuer(app: procrastinate.App, context: Context, poll: float = 0.5) -> None:
    """Enqueue due jobs every ``poll`` seconds, for ever (cancel to stop)."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="enqueuer")
    repaired = 0.0
    purged: float | None = None
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                if loop.time() - repaired > 30:
                    await loop.run_in_executor(executor, JobService(context).repair)
                    repaired = loop.time()
                if purged is None or loop.time() - purged > LOG_PURGE_EVERY:
                    purged = loop.time()
                    await loop.run_in_executor(executor, LogService(context).purge_expired)
                queued = await enqueue_due(app, context, executor)
                if queued:
                    log.debug("queued %d due job(s)", queued)
            except asyncio.CancelledError:
                raise
            except Exception:  # a database hiccup: log it and try again next tick
                log.exception("enqueuing due jobs failed")
            await asyncio.sleep(poll)
    finally:
        executor.shutdown(wait=False)


async def recover_stalled(app: procrastinate.App, stalled_after: float, every: float) -> None:
    """Put the runs of dead workers (no heartbeat for ``stalled_after`` s) back in the queue."""
    while True:
        await asyncio.sleep(every)
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                queue=QUEUE, seconds_since_heartbeat=stalled_after
            )
            for job in stalled:
                try:
                    await app.job_manager.retry_job(job)
                    log.warning(
                        "run %s of %s was stalled (dead worker); queued again",
                        job.id,
                        job.task_kwargs.get("job_uuid"),
                    )
                except Exception as exc:  # another worker retried it first
                    log.debug("could not retry stalled run %s: %s", job.id, exc)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("looking for stalled runs failed")


async def run_worker(
    context: Context,
    *,
    concurrency: int = 4,
    enqueue: bool = True,
    poll: float = 0.5,
    heartbeat: float = 10.0,
    stalled_after: float = 30.0,
    name: str | None = None,
) -> None:
    """Run one worker until SIGTERM/SIGINT: executes queued runs, enqueues due jobs, recovers stalled runs.

    On a signal the runs in progress get ``STOP``: they finish their page, commit and
    end "interrupted" (their job stays due), then the worker leaves.
    """
    dsn = dsn_of(context)
    await asyncio.to_thread(ensure_schema, dsn)
    loop = asyncio.get_running_loop()
    # Sync tasks run in the default executor: give it room for every run plus the lock heartbeats.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=concurrency + 4, thread_name_prefix="run"))
    app = make_app(context, pool_size=concurrency + 3)
    STOP.clear()
    await asyncio.to_thread(_recover, context)
    from ..connector.outbox import OutboxDeliverer

    # every worker also delivers outbox events (rows are claimed, so workers share them)
    deliverer = OutboxDeliverer(context).start()
    from ..files.extraction import TextExtractor

    texts = TextExtractor(context).start()  # and extracts the text of new files for search
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                name=name or "openconnector",
                install_signal_handlers=False,
                update_heartbeat_interval=heartbeat,
                stalled_worker_timeout=stalled_after,
                delete_jobs="successful",
                fetch_job_polling_interval=max(poll, 1.0),
            )
        )
        side = [asyncio.create_task(recover_stalled(app, stalled_after, max(1.0, heartbeat)))]
        if enqueue:
            side.append(asyncio.create_task(enqueuer(app, context, poll)))

        def stop() -> None:
            log.info("stopping: runs in progress finish their page")
            STOP.set()
            for task in side:
                task.cancel()
            worker.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread
                loop.add_signal_handler(sig, stop)
        try:
            await worker
        except asyncio.CancelledError:
            pass
        finally:
            for task in side:
                task.cancel()
            await asyncio.gather(*side, return_exceptions=True)
            await asyncio.to_thread(deliverer.stop)
            await asyncio.to_thread(texts.stop)


def _recover(context: Context) -> None:
    from ..connector.sync import recover_dead_runs

    try:
        recover_dead_runs(context)
    except Exception:
        log.exception("could not look for runs of a stopped process")


async def run_enqueuer(context: Context, *, poll: float = 0.5) -> None:
    """Only enqueue due jobs (``openconnector scheduler --enqueue-only``), until a signal."""
    await asyncio.to_thread(ensure_schema, dsn_of(context))
    app = make_app(context, pool_size=2)
    loop = asyncio.get_running_loop()
    async with app.open_async():
        task = asyncio.create_task(enqueuer(app, context, poll))
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await task
