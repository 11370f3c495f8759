"""Prometheus metrics: what runs, sources, the scheduler and the HTTP API are doing.

One set of collectors per process (prometheus-client's default registry, which also
carries the process's CPU, memory and garbage-collector figures). The API serves them at
``GET /metrics`` (``api/metrics.py``); an ``openconnector worker`` or ``scheduler`` process
serves its own on ``--metrics-port`` (``serve_metrics``), because each process counts
what it ran itself. Operators scrape every process and sum in PromQL, which is simpler and
more robust than prometheus-client's multiprocess mode (a shared directory of mmap files
that must be wiped on every restart).

Label values are bounded: synchronisations and sources by uuid (as many series as there
are of them), HTTP requests by route template (``/api/objects/{register}/{schema}``, never
the raw path), statuses by code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest, start_http_server

__all__ = [
    "CONTENT_TYPE_LATEST",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "RATE_LIMIT_WAITS",
    "RUNS",
    "RUN_DURATION",
    "RUN_RECORDS",
    "SCHEDULER_LAG",
    "SOURCE_CALLS",
    "SOURCE_CALL_DURATION",
    "exposition",
    "observe_call",
    "observe_rate_limit_wait",
    "observe_run",
    "serve_metrics",
    "source_label",
]

log = logging.getLogger("openconnector.metrics")

#: Runs last from a second to hours.
_RUN_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
#: Source calls and API requests: milliseconds to tens of seconds.
_CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
#: Scheduler lag: how late a run started after its ``nextRun``.
_LAG_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900)

RUNS = Counter(
    "openconnector_sync_runs",
    "Synchronisation runs that ended, by synchronisation uuid and status "
    "(success, error, interrupted; test runs count as test_<status>)",
    ["synchronization", "status"],
)
RUN_RECORDS = Counter(
    "openconnector_sync_records",
    "Records handled by synchronisation runs, by action (found, created, updated, skipped, invalid, deleted)",
    ["synchronization", "action"],
)
RUN_DURATION = Histogram(
    "openconnector_sync_run_duration_seconds",
    "Wall time of synchronisation runs, by status",
    ["status"],
    buckets=_RUN_BUCKETS,
)
SOURCE_CALLS = Counter(
    "openconnector_source_calls",
    "HTTP calls to sources (every attempt), by source and response status; "
    "'error' when no response came (connection refused, timeout)",
    ["source", "status"],
)
SOURCE_CALL_DURATION = Histogram(
    "openconnector_source_call_duration_seconds",
    "Response time of source calls (every attempt), by source",
    ["source"],
    buckets=_CALL_BUCKETS,
)
RATE_LIMIT_WAITS = Counter(
    "openconnector_rate_limit_waits",
    "Times a call waited for a source's rate limit or Retry-After (outcome waited), "
    "or was refused because the wait was too long (outcome refused)",
    ["source", "outcome"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "openconnector_rate_limit_wait_seconds",
    "Seconds spent waiting for sources' rate limits and Retry-After",
    ["source"],
)
SCHEDULER_LAG = Histogram(
    "openconnector_scheduler_lag_seconds",
    "Delay from a scheduled job's nextRun to the start of its run (embedded scheduler and workers)",
    buckets=_LAG_BUCKETS,
)
HTTP_REQUESTS = Counter(
    "openconnector_http_requests",
    "HTTP requests to this process's API and UI, by method, route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "openconnector_http_request_duration_seconds",
    "Time to answer HTTP requests, by route template",
    ["route"],
    buckets=_CALL_BUCKETS,
)

_ACTIONS = ("found", "created", "updated", "skipped", "invalid", "deleted")


def source_label(source: Mapping[str, Any]) -> str:
    """A source's stable identity: its uuid, else its name (an ad-hoc source dict)."""
    return str(source.get("uuid") or source.get("name") or "unnamed")


def observe_call(source: Mapping[str, Any], status: int | str, seconds: float) -> None:
    label = source_label(source)
    SOURCE_CALLS.labels(label, str(status)).inc()
    SOURCE_CALL_DURATION.labels(label).observe(seconds)


def observe_rate_limit_wait(source: Mapping[str, Any], seconds: float, *, refused: bool = False) -> None:
    label = source_label(source)
    RATE_LIMIT_WAITS.labels(label, "refused" if refused else "waited").inc()
    if not refused:
        RATE_LIMIT_WAIT_SECONDS.labels(label).inc(seconds)


def observe_run(
    synchronization: str, status: str, test: bool, objects: Mapping[str, int], seconds: float
) -> None:
    """Count one finished run; a test run's records are not counted (it wrote nothing)."""
    shown = f"test_{status}" if test else status
    RUNS.labels(synchronization, shown).inc()
    RUN_DURATION.labels(shown).observe(seconds)
    if test:
        return
    for action in _ACTIONS:
        count = int(objects.get(action) or 0)
        if count:
            RUN_RECORDS.labels(synchronization, action).inc(count)


def exposition() -> bytes:
    """The current values in Prometheus's text format."""
    return generate_latest()


def serve_metrics(port: int, address: str = "127.0.0.1") -> None:
    """Serve ``/metrics`` of this process (a worker or a scheduler) on its own port, in a thread.

    It has no login: bind it to an address only the Prometheus server reaches (the
    default, 127.0.0.1, suits a Prometheus or agent on the same machine).
    """
    start_http_server(port, addr=address)
    log.info("metrics on http://%s:%d/metrics", address, port)
