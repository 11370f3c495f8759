"""Scheduler bench: N synchronisations every I seconds on PostgreSQL, with 1 and with 2 workers.

    python bench/scheduler.py                      # 200 syncs every 10 s, 1 and 2 workers, 2 rounds each
    python bench/scheduler.py --interval 60 --repeat 1 --seconds 60

Creates a fresh database on the local PostgreSQL (``--pg``), a local source
(one page of ``--records`` records per synchronisation), the synchronisations
and their jobs, with first slots spread evenly over one interval (real schedules
are not all on the same second). For each worker count and round it starts
``openconnector worker`` processes, waits ``--warmup`` seconds, measures
``--seconds`` seconds, stops them with SIGTERM and reads the job logs:

* runs per minute (runs that started in the window);
* lag: start of a run − the slot it ran for (the ``nextRun`` it was due at), p50/p95;
* due runs per minute: the slots that fell due inside the window, counted from the
  slots the round actually gave the jobs (what a perfect scheduler would start).

Before the rounds every synchronisation runs once directly (warm-up: its objects are
written, so every later run is an unchanged re-run, in the baseline and in the rounds
alike). The baseline, measured in the same run: the same synchronisations run back to
back by ``SynchronizationService`` in this process on ``workers × concurrency`` threads
for ``--baseline-seconds``, no scheduler, no queue: the runs per minute this machine
can do at all. A round's ``of_possible`` is its runs per minute over the smaller of
the due runs and that capacity.

Reported values are medians over the rounds. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse


class _Source(BaseHTTPRequestHandler):
    """``/records?set=S&total=N`` → ``{"items": [...], "page": 1, "totalPages": 1}``."""

    def do_GET(self) -> None:  # noqa: N802
        q = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
        name, total = q.get("set", "s"), int(q.get("total", "5"))
        page = int(q.get("page", "1"))
        items = (
            [{"id": f"{name}-{i}", "name": f"Record {name}-{i}"} for i in range(1, total + 1)]
            if page == 1
            else []
        )
        body = json.dumps({"items": items, "page": page, "totalPages": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _setup(args: argparse.Namespace) -> tuple[Any, str, list[str], str, list[str]]:
    from sqlalchemy import create_engine, text

    from openconnector.connector.entities import EntityService
    from openconnector.context import Context
    from openconnector.register.registers import RegisterService
    from openconnector.store.settings import Settings

    name = f"oc_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    context = Context(
        Settings(data_dir=Path("/tmp/oc-bench"), database_url=url, secret_key="bench", scheduler=False)
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Source)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    location = f"http://127.0.0.1:{server.server_address[1]}"
    RegisterService(context).create_register({"title": "Bench", "slug": "bench"})
    RegisterService(context).create_schema(
        {
            "title": "Item",
            "slug": "item",
            "register": "bench",
            "properties": {"ref": {"type": "string"}, "name": {"type": "string"}},
        }
    )
    source = EntityService("source", context).create(
        {"name": "Bench source", "type": "api", "location": location, "isEnabled": True}
    )
    mapping = EntityService("mapping", context).create(
        {"name": "Bench mapping", "mapping": {"ref": "{{ id }}", "name": "{{ name }}"}}
    )
    from openconnector.jobs.service import JobService

    jobs = JobService(context)
    job_ids, sync_ids = [], []
    for i in range(args.syncs):
        sync = EntityService("synchronization", context).create(
            {
                "name": f"Bench {i}",
                "sourceId": str(source["id"]),
                "sourceType": "api",
                "sourceTargetMapping": str(mapping["id"]),
                "targetType": "register/schema",
                "targetId": "bench/item",
                "sourceConfig": {
                    "endpoint": f"/records?set=s{i}&total={args.records}",
                    "resultsPosition": "items",
                    "idPosition": "id",
                },
            }
        )
        job_ids.append(jobs.schedule(sync["uuid"], interval=args.interval, enabled=False)["uuid"])
        sync_ids.append(sync["uuid"])
    return context, url, job_ids, name, sync_ids


def _direct(context: Any, sync_ids: list[str], threads: int, seconds: float) -> float:
    """Runs per minute of the synchronisations run back to back on ``threads`` threads."""
    from openconnector.connector.sync import SynchronizationService

    stop = time.monotonic() + seconds
    counts = [0] * threads

    def worker(n: int) -> None:
        service = SynchronizationService(context)
        i = n
        while time.monotonic() < stop:
            service.synchronize(sync_ids[i % len(sync_ids)])
            counts[n] += 1
            i += threads

    started = time.monotonic()
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts) * 60 / (time.monotonic() - started)


def _due(slots: dict[str, str], interval: float, window: tuple[float, float]) -> int:
    """How many of the jobs' slots (first slot + k × interval) fall inside ``window``."""
    from openconnector.clock import parse_iso

    due = 0
    for first in slots.values():
        slot = parse_iso(first).timestamp()
        while slot < window[1]:
            due += slot >= window[0]
            slot += interval
    return due


def _stagger(context: Any, job_ids: list[str], interval: float, start: datetime) -> dict[str, str]:
    """Enable every job with its first slot spread evenly over one interval from ``start``; the slots."""
    from openconnector.clock import iso
    from openconnector.connector.entities import EntityService

    entities = EntityService("job", context)
    slots = {}
    for i, job in enumerate(job_ids):
        slots[job] = iso(start + timedelta(seconds=interval * i / len(job_ids)))
        entities.update(job, {"isEnabled": True, "nextRun": slots[job]})
    return slots


def _disable(context: Any, job_ids: list[str]) -> None:
    from openconnector.connector.entities import EntityService

    entities = EntityService("job", context)
    for job in job_ids:
        entities.update(job, {"isEnabled": False})


def _measure(
    context: Any, slots: dict[str, str], since: datetime, window: tuple[float, float]
) -> dict[str, Any]:
    """Runs and lags of the runs that started inside ``window`` (unix seconds)."""
    from sqlalchemy import select

    from openconnector.clock import iso, parse_iso
    from openconnector.store import tables as t

    with context.db.connect() as conn:
        rows = conn.execute(
            select(
                t.job_logs.c.job_id,
                t.job_logs.c.last_run,
                t.job_logs.c.next_run,
                t.job_logs.c.level,
                t.job_logs.c.id,
            )
            .where(t.job_logs.c.created >= iso(since))
            .order_by(t.job_logs.c.id)
        ).all()
    previous: dict[str, str | None] = dict(slots)
    lags, runs, errors = [], 0, 0
    for row in rows:
        slot = previous.get(row.job_id)
        previous[row.job_id] = row.next_run
        started = parse_iso(row.last_run).timestamp()
        if not window[0] <= started < window[1]:
            continue
        runs += 1
        errors += row.level == "ERROR"
        if slot:
            lags.append(started - parse_iso(slot).timestamp())
    minutes = (window[1] - window[0]) / 60
    return {
        "runs_per_minute": round(runs / minutes, 1),
        "lag_p50": _percentile(lags, 0.5),
        "lag_p95": _percentile(lags, 0.95),
        "lag_max": max(lags) if lags else None,
        "errors": errors,
    }


def _round(
    args: argparse.Namespace, context: Any, url: str, job_ids: list[str], workers: int
) -> dict[str, Any]:
    env = {**os.environ, "OPENCONNECTOR_SECRET_KEY": "bench"}
    since = datetime.now(UTC)
    start = since + timedelta(seconds=3)
    slots = _stagger(context, job_ids, args.interval, start)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "openconnector.cli",
                "worker",
                "--database-url",
                url,
                "--concurrency",
                str(args.concurrency),
                "--poll",
                "0.5",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(workers)
    ]
    try:
        time.sleep(3 + args.warmup)
        window = (time.time(), time.time() + args.seconds)
        time.sleep(args.seconds)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
    _disable(context, job_ids)
    result = _measure(context, slots, since, window)
    result["due_runs_per_minute"] = round(
        _due(slots, args.interval, window) * 60 / (window[1] - window[0]), 1
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--syncs", type=int, default=200)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--records", type=int, default=5)
    parser.add_argument("--workers", default="1,2", help="worker counts to compare")
    parser.add_argument("--concurrency", type=int, default=4, help="runs at once per worker")
    parser.add_argument("--seconds", type=float, default=40.0, help="measured seconds per round")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=2, help="rounds per worker count (median reported)")
    parser.add_argument("--baseline-seconds", type=float, default=15.0, help="seconds of direct runs")
    parser.add_argument(
        "--pg",
        default=os.environ.get("OPENCONNECTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    setup_started = time.time()
    context, url, job_ids, name, sync_ids = _setup(args)
    print(f"setup: {args.syncs} synchronisations in {time.time() - setup_started:.0f} s", file=sys.stderr)
    from openconnector.connector.sync import SynchronizationService

    warm = SynchronizationService(context)
    for sync_id in sync_ids:  # warm-up: every later run, direct or scheduled, is an unchanged re-run
        warm.synchronize(sync_id)
    threads = max(int(w) for w in args.workers.split(",")) * args.concurrency
    direct = _direct(context, sync_ids, threads, args.baseline_seconds)
    print(f"baseline: {direct:,.0f} runs/min back to back on {threads} threads", file=sys.stderr)
    summary: dict[str, Any] = {
        "bench": "scheduler",
        "syncs": args.syncs,
        "interval": args.interval,
        "baseline": {
            "what": "the same synchronisations back to back in one process, no scheduler",
            "threads": threads,
            "seconds": args.baseline_seconds,
            "runs_per_minute": round(direct, 1),
        },
        "concurrency_per_worker": args.concurrency,
        "cpus": os.cpu_count(),
        "seconds_per_round": args.seconds,
        "rounds": args.repeat,
        "results": {},
    }
    try:
        for workers in [int(w) for w in args.workers.split(",")]:
            rounds = []
            for i in range(args.repeat):
                result = _round(args, context, url, job_ids, workers)
                print(f"{workers} worker(s), round {i + 1}: {result}", file=sys.stderr)
                rounds.append(result)
            summary["results"][f"{workers}_worker{'s' if workers > 1 else ''}"] = {
                key: statistics.median([r[key] for r in rounds if r[key] is not None] or [0])
                for key in (
                    "runs_per_minute",
                    "due_runs_per_minute",
                    "lag_p50",
                    "lag_p95",
                    "lag_max",
                    "errors",
                )
            }
            result = summary["results"][f"{workers}_worker{'s' if workers > 1 else ''}"]
            possible = min(result["due_runs_per_minute"], direct)
            result["of_possible"] = round(result["runs_per_minute"] / possible, 3) if possible else None
    finally:
        context.close()
        if not args.keep:
            from sqlalchemy import create_engine, text

            admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    for result in summary["results"].values():
        for key in ("lag_p50", "lag_p95", "lag_max"):
            result[key] = None if result[key] is None else round(result[key], 3)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
