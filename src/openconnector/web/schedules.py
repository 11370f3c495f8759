"""Scheduling a synchronisation from its page: an interval or a cron expression.

The job itself belongs to ``openconnector.jobs`` (``JobService.schedule``);
this module reads the form, checks it, and finds the job that already runs a
given synchronisation so the page can show its next and last run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ..connector.entities import EntityService
from ..context import Context

#: The interval choices offered, in seconds ("" = custom seconds or cron).
INTERVALS = (("300", "Every 5 minutes"), ("900", "Every 15 minutes"), ("3600", "Every hour"),
             ("21600", "Every 6 hours"), ("86400", "Every day"), ("604800", "Every week"),
             ("custom", "Custom: seconds or cron below"))
SYNC_ACTION = "OCA\\OpenConnector\\Action\\SynchronizationAction"
MIN_SECONDS = 60


def _sync_ref(job: dict[str, Any]) -> str:
    args = job.get("arguments") or {}
    return str(args.get("synchronizationId") or args.get("synchronization") or "")


def find_job(context: Context, sync: dict[str, Any]) -> dict[str, Any] | None:
    """The job that runs ``sync``, if one is scheduled."""
    refs = {str(sync["id"]), str(sync["uuid"])}
    try:
        from ..jobs.service import JobService
    except ImportError:
        jobs = EntityService("job", context).list()
    else:
        jobs = JobService(context).list()
        jobs = jobs.get("results", []) if isinstance(jobs, dict) else list(jobs)
    for job in jobs:
        if _sync_ref(job) in refs:
            return job
    return None


def read_schedule(form: dict[str, str]) -> dict[str, Any]:
    """``{"interval": seconds}`` or ``{"cron": "..."}``; ``ValueError("field: message")`` when wrong."""
    cron = form.get("cron", "").strip()
    choice = form.get("interval", "").strip()
    if cron and choice in ("", "custom"):
        from croniter import croniter

        if not croniter.is_valid(cron):
            raise ValueError(f"cron: {cron!r} is not a cron expression; five fields, e.g. 0 * * * * (hourly)")
        return {"cron": cron}
    raw = form.get("seconds", "").strip() if choice in ("", "custom") else choice
    if not raw:
        raise ValueError("interval: Choose an interval, or enter seconds or a cron expression.")
    if not raw.isdigit():
        raise ValueError(f"seconds: The interval must be a whole number of seconds, not {raw!r}.")
    seconds = int(raw)
    if seconds < MIN_SECONDS:
        raise ValueError(f"seconds: Run at most once a minute: enter {MIN_SECONDS} seconds or more.")
    return {"interval": seconds}


def schedule(context: Context, sync: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """Schedule ``sync`` as the form says; returns the job."""
    when = read_schedule(form)
    try:
        from ..jobs.service import JobService
    except ImportError:
        return _schedule_entity(context, sync, when)
    return JobService(context).schedule(sync["uuid"], **when)


def _schedule_entity(context: Context, sync: dict[str, Any], when: dict[str, Any]) -> dict[str, Any]:
    """Store the job as OpenConnector does, until the job service is there to run it."""
    jobs = EntityService("job", context)
    now = datetime.now(UTC)
    data: dict[str, Any] = {
        "name": f"Synchronisation {sync.get('name') or sync['uuid']}",
        "jobClass": SYNC_ACTION,
        "arguments": {"synchronizationId": sync["uuid"]},
        "interval": when.get("interval") or when.get("cron"),
        "isEnabled": True,
    }
    if "interval" in when:
        data["nextRun"] = (now + timedelta(seconds=when["interval"])).isoformat(timespec="seconds")
    existing = find_job(context, sync)
    if existing:
        return jobs.update(existing["uuid"], data)
    return jobs.create(data)
