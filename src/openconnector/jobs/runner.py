"""What a job does: the actions behind ``jobClass``, and what their outcome means for the schedule.

An action returns an :class:`Outcome` instead of raising, because the caller
(``JobService.run``) must always write a job log and move ``nextRun``, whatever
happened: a failure backs off, a rate limit waits for the source, a run that
found its synchronisation already running skips the slot, a run stopped by a
shutdown leaves the job due so the next process picks it up.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..context import Context
from ..errors import Conflict, OpenConnectorError, SourceUnavailable

ACTION_NAMESPACE = "OCA\\OpenConnector\\Action\\"
SYNCHRONIZATION_ACTION = ACTION_NAMESPACE + "SynchronizationAction"
PING_ACTION = ACTION_NAMESPACE + "PingAction"
EVENT_ACTION = ACTION_NAMESPACE + "EventAction"
DEFAULT_JOB_CLASS = PING_ACTION

#: What a run ended as; drives the schedule (see ``JobService.run``).
SUCCESS, FAILED, RATE_LIMITED, CONFLICT, INTERRUPTED = (
    "success",
    "failed",
    "rate_limited",
    "conflict",
    "interrupted",
)


@dataclass
class Outcome:
    """The result of one action run."""

    kind: str = SUCCESS
    level: str = "SUCCESS"
    message: str = "Success"
    stack_trace: list[str] = field(default_factory=list)
    #: When the source allows the next attempt (rate limit), as an aware datetime.
    retry_at: datetime | None = None
    #: The lock that was taken (conflict), so a recovering worker can wait for its expiry.
    lock: str | None = None
    result: dict[str, Any] | None = None


Action = Callable[[Context, dict[str, Any], "threading.Event | None"], Outcome]


def short_name(job_class: str | None) -> str:
    """``OCA\\OpenConnector\\Action\\SynchronizationAction`` and ``SynchronizationAction`` alike."""
    text = str(job_class or DEFAULT_JOB_CLASS).strip()
    return text.replace("/", "\\").rsplit("\\", 1)[-1]


def to_datetime(value: Any) -> datetime | None:
    """A retry time given as unix seconds, ISO text or datetime; None when unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        return datetime.fromtimestamp(float(value), UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes", "on")


def _failure(exc: BaseException, prefix: str) -> Outcome:
    if isinstance(exc, Conflict):
        return Outcome(CONFLICT, "INFO", f"Skipped: {exc.message}", lock=exc.details.get("lock"))
    if isinstance(exc, SourceUnavailable) and exc.details.get("retry_at") is not None:
        return Outcome(
            RATE_LIMITED,
            "WARNING",
            f"{prefix}: {exc.message}",
            retry_at=to_datetime(exc.details.get("retry_at")),
        )
    message = exc.message if isinstance(exc, OpenConnectorError) else f"{type(exc).__name__}: {exc}"
    return Outcome(
        FAILED,
        "ERROR",
        f"{prefix}: {message}",
        stack_trace=[line.rstrip("\n") for line in traceback.format_exception(exc)],
    )


def synchronization_action(
    context: Context, arguments: dict[str, Any], stop: threading.Event | None = None
) -> Outcome:
    """Run the synchronisation in ``arguments.synchronizationId`` (its own lock prevents overlap)."""
    from ..connector.sync import SynchronizationService

    sync_id = arguments.get("synchronizationId")
    if sync_id in (None, ""):
        return Outcome(FAILED, "ERROR", "Failed to synchronize: the job has no arguments.synchronizationId")
    try:
        log = SynchronizationService(context).synchronize(
            str(sync_id), force=_truthy(arguments.get("force")), stop=stop
        )
    except Exception as exc:
        return _failure(exc, "Failed to synchronize")
    status = log.get("status")
    objects = (log.get("result") or {}).get("objects") or {}
    retry_at = to_datetime(log.get("retryAt") or (log.get("result") or {}).get("retryAt"))
    if status == "interrupted":
        return Outcome(INTERRUPTED, "WARNING", f"Interrupted: {log.get('message') or 'stopped'}", result=log)
    if status == "error":
        if retry_at is not None:
            return Outcome(
                RATE_LIMITED, "WARNING", f"Rate limited: {log.get('message')}", retry_at=retry_at, result=log
            )
        return Outcome(FAILED, "ERROR", f"Failed to synchronize: {log.get('message')}", result=log)
    if status == "warning":
        return Outcome(SUCCESS, "WARNING", f"Synchronized: {log.get('message')}", result=log)
    return Outcome(SUCCESS, "INFO", f"Synchronized {objects.get('found', 0)} successfully", result=log)


def ping_action(context: Context, arguments: dict[str, Any], stop: threading.Event | None = None) -> Outcome:
    """GET the root of ``arguments.sourceId`` (default 1): is the source reachable?"""
    from ..connector.sources import CallService

    ref = arguments.get("sourceId") or 1
    try:
        with CallService(context) as service:
            result = service.call(str(ref))
    except Exception as exc:
        return _failure(exc, "Ping failed")
    if result.status_code >= 400:
        return Outcome(FAILED, "ERROR", f"Ping failed: source {ref} answered {result.status_code}")
    return Outcome(SUCCESS, "SUCCESS", f"Ping of source {ref} answered {result.status_code}")


def event_action(context: Context, arguments: dict[str, Any], stop: threading.Event | None = None) -> Outcome:
    """The original's EventAction does nothing; kept so imported jobs of that class run and log."""
    return Outcome(SUCCESS, "SUCCESS", "Success")


ACTIONS: dict[str, Action] = {
    "SynchronizationAction": synchronization_action,
    "PingAction": ping_action,
    "EventAction": event_action,
}


def execute(context: Context, job: dict[str, Any], stop: threading.Event | None = None) -> Outcome:
    """Run the job's action; never raises (an unknown class or a crash is an ERROR outcome)."""
    name = short_name(job.get("jobClass"))
    action = ACTIONS.get(name)
    if action is None:
        return Outcome(
            FAILED,
            "ERROR",
            f"Unknown jobClass {job.get('jobClass')!r}; "
            f"one of {', '.join(ACTION_NAMESPACE + n for n in ACTIONS)}",
        )
    arguments = job.get("arguments") if isinstance(job.get("arguments"), dict) else {}
    try:
        return action(context, arguments, stop)
    except Exception as exc:  # an action bug must still produce a log and a next run
        return _failure(exc, "Job failed")
