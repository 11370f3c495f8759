"""Scheduling a synchronisation from its page: an interval or a cron expression.

The job itself belongs to ``openconnector.jobs`` (``JobService.schedule``);
this module reads the form, checks it, and finds the job that already runs a
given synchronisation so the page can show its next and last run.
"""

from __future__ import annotations

from typing import Any

from ..context import Context

#: The interval choices offered, in seconds ("" = custom seconds or cron).
INTERVALS = (
    ("300", "Every 5 minutes"),
    ("900", "Every 15 minutes"),
    ("3600", "Every hour"),
    ("21600", "Every 6 hours"),
    ("86400", "Every day"),
    ("604800", "Every week"),
    ("custom", "Custom: seconds or cron below"),
)
MIN_SECONDS = 60


def find_job(context: Context, sync: dict[str, Any]) -> dict[str, Any] | None:
    """The job that runs ``sync``, if one is scheduled."""
    from ..jobs.service import JobService

    return JobService(context).job_of(sync)


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
    """Schedule ``sync`` as the form says (one job per synchronisation); returns the job."""
    from ..jobs.service import JobService

    return JobService(context).schedule(sync["uuid"], **read_schedule(form))
