"""Jobs: register objects that say what runs when, and the logic of one run.

A job is an object of the built-in ``openconnector`` register (schema ``job``),
so the generic ``/api/jobs`` CRUD, imports and the Python API all see the same
thing. This module adds what the original keeps in ``JobService::executeJob``
and fixes its pitfalls:

* ``nextRun`` is always set for an enabled job (the original never runs a job
  created without one);
* slots keep their cadence (``nextRun + k·interval``) and a job that missed
  several slots while nothing was running runs once, at the next slot after now;
* a failing job backs off exponentially, a rate-limited one waits for the
  source, a run that found its synchronisation busy skips the slot, and a run
  stopped by a shutdown stays due so the next process resumes it;
* a job lock (``job:<uuid>``) makes one slot run exactly once, whichever
  scheduler, worker or API call gets there first.
"""

from __future__ import annotations

import math
import threading
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter
from sqlalchemy import desc, insert, select

from .. import metrics
from ..clock import iso, parse_iso, utcnow
from ..connector.entities import EntityService
from ..connector.logs import LogService, job_log_to_wire
from ..context import Context, get_context
from ..errors import BadRequest, Conflict, NotFound
from ..store import tables as t
from ..store.ids import new_uuid
from ..store.locks import LockService, lock_ttl
from . import runner

DEFAULT_INTERVAL = 3600
#: Longest back-off after repeated failures, unless the interval itself is longer.
MAX_BACKOFF = 3600.0
#: Job logs are kept 30 days (the original's jobLogRetention).
LOG_RETENTION = timedelta(days=30)
MAX_MESSAGE = 10000
LEVELS = ("DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR")


def _ms(moment: datetime) -> datetime:
    """Millisecond precision: enough for second-level schedules, short in JSON."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _truthy(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _moment(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


class Schedule:
    """When a job runs: every ``seconds`` or on a cron expression (in the instance's timezone)."""

    def __init__(self, seconds: float | None = None, cron: str | None = None, timezone: str = "UTC") -> None:
        self.seconds, self.cron, self.timezone = seconds, cron, timezone

    @classmethod
    def parse(cls, interval: Any, timezone: str = "UTC") -> Schedule:
        """``3600``, ``"3600"`` or ``"*/5 * * * *"``; 400 for anything else."""
        if interval is None or interval == "":
            return cls(seconds=DEFAULT_INTERVAL, timezone=timezone)
        if isinstance(interval, bool):
            raise BadRequest("interval must be seconds or a cron expression", field="interval")
        if isinstance(interval, int | float):
            seconds = float(interval)
        else:
            text = str(interval).strip()
            try:
                seconds = float(text)
            except ValueError:
                if not croniter.is_valid(text):
                    raise BadRequest(
                        f"interval {text!r} is neither seconds nor a valid cron expression "
                        "(e.g. '*/5 * * * *')",
                        field="interval",
                    ) from None
                return cls(cron=text, timezone=timezone)
        if not math.isfinite(seconds) or seconds <= 0:
            raise BadRequest("interval must be a positive number of seconds", field="interval")
        return cls(seconds=seconds, timezone=timezone)

    def first(self, now: datetime) -> datetime:
        """The first slot of a new schedule: now for an interval, the next cron time for cron."""
        if self.cron:
            return self._cron_after(now)
        return now

    def next_after(self, now: datetime, anchor: datetime | None = None) -> datetime:
        """The first slot after ``now``; interval slots continue the cadence of ``anchor``."""
        if self.cron:
            return self._cron_after(now)
        assert self.seconds is not None
        if anchor is None or anchor > now:
            return now + timedelta(seconds=self.seconds)
        missed = math.floor((now - anchor).total_seconds() / self.seconds) + 1
        return anchor + timedelta(seconds=missed * self.seconds)

    def period(self, now: datetime) -> float:
        """Seconds between two slots (the base of the back-off)."""
        if self.seconds is not None:
            return self.seconds
        first = self._cron_after(now)
        return max(1.0, (self._cron_after(first) - first).total_seconds())

    def _cron_after(self, moment: datetime) -> datetime:
        local = moment.astimezone(ZoneInfo(self.timezone))
        return croniter(self.cron, local).get_next(datetime).astimezone(UTC)


class JobService:
    """Create, schedule and run jobs; read their logs. ``JobService(context)``."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.entities = EntityService("job", self.context)
        self.locks = LockService(self.context.db)

    # -- CRUD ------------------------------------------------------------------------

    def get(self, ref: Any) -> dict[str, Any]:
        try:
            return self.entities.get(ref)
        except NotFound:
            raise NotFound("Job not found", id=str(ref)) from None

    def list(self, params: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        return self.entities.list(params)

    def create(self, data: dict[str, Any], *, owner: str | None = None) -> dict[str, Any]:
        return self.entities.create(self.prepare(data), owner=owner)

    def update(self, ref: Any, data: dict[str, Any]) -> dict[str, Any]:
        current = self.get(ref)
        return self.entities.update(current["uuid"], self.prepare(data, current))

    def delete(self, ref: Any) -> None:
        self.entities.delete(ref)

    def schedule_of(self, job: dict[str, Any]) -> Schedule:
        return Schedule.parse(job.get("interval"), self.context.settings.timezone)

    def prepare(self, data: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
        """Check a job body and fill in ``nextRun`` (call before saving a create or an update).

        ``current`` is the stored job on an update. ``nextRun`` is computed when the
        resulting job has none, and recomputed when ``interval`` or ``scheduleAfter``
        change without an explicit ``nextRun``: from now, never before ``scheduleAfter``.
        """
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object")
        out = dict(data)
        merged = {**(current or {}), **out}
        if current is None:
            out.setdefault("jobClass", merged.get("jobClass") or runner.DEFAULT_JOB_CLASS)
            out.setdefault("interval", merged.get("interval") or DEFAULT_INTERVAL)
            out.setdefault("isEnabled", True)
            out.setdefault("singleRun", False)
            merged = {**merged, **out}
        if "jobClass" in out and runner.short_name(out["jobClass"]) not in runner.ACTIONS:
            raise BadRequest(f"Unknown jobClass {out['jobClass']!r}", field="jobClass")
        schedule = self.schedule_of(merged)
        if isinstance(out.get("interval"), str) and schedule.seconds is not None:
            out["interval"] = int(schedule.seconds) if schedule.seconds.is_integer() else schedule.seconds
        for key in ("nextRun", "scheduleAfter", "lastRun"):
            if key in out and out[key] not in (None, "") and _moment(out[key]) is None:
                raise BadRequest(f"{key} must be an ISO 8601 date-time", field=key)
        changed = current is not None and any(
            k in out and out[k] != current.get(k) for k in ("interval", "scheduleAfter")
        )
        explicit = out.get("nextRun") not in (None, "")
        if not explicit and (merged.get("nextRun") in (None, "") or changed):
            out["nextRun"] = iso(self._first_slot(merged, schedule))
        return out

    def _first_slot(self, job: dict[str, Any], schedule: Schedule) -> datetime:
        now = _ms(utcnow())
        after = _moment(job.get("scheduleAfter"))
        start = max(now, after) if after else now
        return _ms(schedule.first(start))

    # -- scheduling a synchronisation ---------------------------------------------------

    def job_of(self, synchronization: dict[str, Any]) -> dict[str, Any] | None:
        """The job that runs ``synchronization`` (matched on its id or uuid), if any."""
        refs = {str(synchronization.get("id")), str(synchronization.get("uuid"))}
        for job in self.list():
            args = job.get("arguments") if isinstance(job.get("arguments"), dict) else {}
            if (
                runner.short_name(job.get("jobClass")) == "SynchronizationAction"
                and str(args.get("synchronizationId")) in refs
            ):
                return job
        return None

    def schedule(
        self,
        synchronization: Any,
        interval: Any = None,
        cron: str | None = None,
        force: bool | None = None,
        *,
        enabled: bool = True,
    ) -> dict[str, Any]:
        """Run ``synchronization`` every ``interval`` seconds or on ``cron``: one call, one job.

        Creates the synchronisation's job or updates the one it has (keeping its other
        arguments, and its ``force`` unless one is given); the next run is the first
        slot from now.
        """
        if interval not in (None, "") and cron not in (None, ""):
            raise BadRequest("Give interval or cron, not both")
        sync = EntityService("synchronization", self.context).get(synchronization)
        every: Any = cron if cron not in (None, "") else interval
        schedule = Schedule.parse(every, self.context.settings.timezone)
        body: dict[str, Any] = {
            "interval": every if every not in (None, "") else DEFAULT_INTERVAL,
            "isEnabled": bool(enabled),
            "arguments": {"synchronizationId": sync["uuid"], "force": bool(force)},
            "nextRun": iso(self._first_slot({}, schedule)),
        }
        existing = self.job_of(sync)
        if existing is not None:
            arguments = dict(existing.get("arguments") or {})
            body["arguments"] = {
                **arguments,
                "synchronizationId": sync["uuid"],
                "force": bool(arguments.get("force", False) if force is None else force),
            }
            return self.entities.update(existing["uuid"], self.prepare(body, existing))
        body.update(
            name=f"Synchronize {sync.get('name') or sync['uuid']}",
            jobClass=runner.SYNCHRONIZATION_ACTION,
            singleRun=False,
        )
        return self.entities.create(self.prepare(body))

    # -- due jobs --------------------------------------------------------------------

    def due(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Enabled jobs whose ``nextRun`` has come, earliest first."""
        moment = now or utcnow()
        jobs = self.entities.list([("nextRun[lte]", iso(moment))])
        due = [
            j
            for j in jobs
            if _truthy(j.get("isEnabled"), True)
            and (nr := _moment(j.get("nextRun"))) is not None
            and nr <= moment
        ]
        return sorted(due, key=lambda j: _moment(j["nextRun"]) or moment)

    def repair(self) -> int:
        """Give enabled jobs without ``nextRun`` one (jobs created around this service); returns how many."""
        fixed = 0
        for job in self.entities.list([("nextRun", "IS NULL")]):
            if _truthy(job.get("isEnabled"), True):
                self.entities.update(job["uuid"], {**self.prepare({}, job), "version": job.get("version")})
                fixed += 1
        return fixed

    # -- running ---------------------------------------------------------------------

    def run(
        self,
        job: Any,
        force: bool = False,
        *,
        stop: threading.Event | None = None,
        on_conflict: str = "skip",
        user: str | None = None,
    ) -> dict[str, Any] | None:
        """Run ``job`` now if it is due (or ``force``); returns its JobLog, or None when not due.

        Not forced: a disabled job logs a WARNING, a job whose ``nextRun`` is in the
        future does nothing, and a job another process is running is left alone
        (``on_conflict="raise"`` raises :class:`Conflict` instead). Forced runs do not
        move ``nextRun`` and raise Conflict when the job or its synchronisation is busy.
        """
        current = self.get(job)
        if not force:
            early = self._not_runnable(current)
            if early is not None:
                return early or None
        stack = ExitStack()
        try:
            stack.enter_context(
                self.locks.held(
                    f"job:{current['uuid']}",
                    ttl=lock_ttl(),
                    message=f"Job {current.get('name') or current['uuid']!r} is already running",
                )
            )
        except Conflict:
            if force or on_conflict == "raise":
                raise
            return None
        with stack:
            if not force:  # another process may have run this slot while we waited for the lock
                current = self.get(current["uuid"])
                early = self._not_runnable(current)
                if early is not None:
                    return early or None
            return self._run_locked(current, force, stop, on_conflict, user)

    def _not_runnable(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """A WARNING log for a disabled job, ``{}`` for one not due, None when it may run."""
        if not _truthy(job.get("isEnabled"), True):
            return self._write_log(
                job,
                runner.Outcome(runner.FAILED, "WARNING", "This job is disabled"),
                started=utcnow(),
                duration_ms=0.0,
                next_run=job.get("nextRun"),
                user=None,
            )
        next_run = _moment(job.get("nextRun"))
        if next_run is not None and next_run > utcnow():
            return {}
        return None

    def _run_locked(
        self,
        job: dict[str, Any],
        force: bool,
        stop: threading.Event | None,
        on_conflict: str,
        user: str | None,
    ) -> dict[str, Any]:
        import time

        started = utcnow()
        scheduled = _moment(job.get("nextRun"))
        if not force and scheduled is not None:
            metrics.SCHEDULER_LAG.observe(max(0.0, (started - scheduled).total_seconds()))
        clock = time.perf_counter()
        outcome = runner.execute(self.context, job, stop)
        duration = round((time.perf_counter() - clock) * 1000, 1)
        ended = utcnow()
        if outcome.kind == runner.CONFLICT and (force or on_conflict == "raise"):
            raise Conflict(outcome.message.removeprefix("Skipped: "), lock=outcome.lock)
        updates: dict[str, Any] = {
            "lastRun": iso(_ms(started)),
            "status": outcome.kind,
            "version": job.get("version"),
        }
        if _truthy(job.get("singleRun"), False) and outcome.kind in (runner.SUCCESS, runner.FAILED):
            updates["isEnabled"] = False
        if not force:
            updates["nextRun"] = iso(_ms(self._next_run(job, outcome, ended)))
        self.entities.update(job["uuid"], updates)
        return self._write_log(
            job,
            outcome,
            started=started,
            duration_ms=duration,
            next_run=updates.get("nextRun", job.get("nextRun")),
            user=user,
        )

    def _next_run(self, job: dict[str, Any], outcome: runner.Outcome, now: datetime) -> datetime:
        schedule = self.schedule_of(job)
        anchor = _moment(job.get("nextRun"))
        if outcome.kind == runner.INTERRUPTED:
            return anchor or now  # still due: the next scheduler or worker resumes it
        slot = schedule.next_after(now, anchor)
        after = _moment(job.get("scheduleAfter"))
        if after is not None and after > slot:
            slot = schedule.first(after)
        if outcome.kind == runner.RATE_LIMITED and outcome.retry_at is not None:
            return max(outcome.retry_at, now)
        if outcome.kind == runner.FAILED:
            failures = self.failures(job["uuid"]) + 1
            backoff = min(schedule.period(now) * 2**failures, max(MAX_BACKOFF, schedule.period(now)))
            return max(slot, now + timedelta(seconds=backoff))
        return slot

    def failures(self, job_uuid: str, limit: int = 20) -> int:
        """Consecutive ERROR logs of a job, newest first (the exponent of its back-off)."""
        with self.context.db.connect() as conn:
            levels = (
                conn.execute(
                    select(t.job_logs.c.level)
                    .where(t.job_logs.c.job_id == job_uuid)
                    .order_by(desc(t.job_logs.c.id))
                    .limit(limit)
                )
                .scalars()
                .all()
            )
        count = 0
        for level in levels:
            if level != "ERROR":
                break
            count += 1
        return count

    # -- logs ------------------------------------------------------------------------

    def _write_log(
        self,
        job: dict[str, Any],
        outcome: runner.Outcome,
        *,
        started: datetime,
        duration_ms: float,
        next_run: Any,
        user: str | None,
    ) -> dict[str, Any]:
        created = utcnow()
        retention = LOG_RETENTION
        if outcome.level in ("WARNING", "ERROR"):
            retention = max(retention, timedelta(seconds=float(job.get("errorRetention") or 86400)))
        row = {
            "uuid": new_uuid(),
            "job_id": job["uuid"],
            "job_class": job.get("jobClass"),
            "level": outcome.level,
            "message": outcome.message[:MAX_MESSAGE],
            "arguments": job.get("arguments") if isinstance(job.get("arguments"), dict) else {},
            "execution_time": duration_ms,
            "stack_trace": outcome.stack_trace or [],
            "user_id": user or job.get("userId"),
            "last_run": iso(_ms(started)),
            "next_run": iso(_moment(next_run)) if _moment(next_run) else None,
            "created": iso(_ms(created)),
            "expires": iso(_ms(created + retention)),
        }
        with self.context.db.begin() as conn:
            row_id = conn.execute(insert(t.job_logs).values(**row)).inserted_primary_key[0]
        return job_log_to_wire({**row, "id": row_id})

    def logs(self, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        """Job logs, newest first (``LogService.job_logs``); ``job_id`` may be a job's id, uuid or name."""
        pairs = []
        for name, value in params or []:
            if name == "job_id":
                with suppress(NotFound):
                    value = self.entities.get(value)["uuid"]
            pairs.append((name, value))
        return LogService(self.context).job_logs(pairs)
