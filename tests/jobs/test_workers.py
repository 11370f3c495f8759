"""Scale-out on PostgreSQL: two real ``openconnector worker`` processes share the runs.

Every due run executes exactly once across the workers, and a worker killed with
SIGKILL in the middle of a run loses nothing: the other worker finds the stalled
run (no heartbeat), waits until the dead run's locks expire, and completes it
without duplicates.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from job_helpers import make_sync, make_target, requires_sync
from sqlalchemy import func, select

from openconnector.clock import parse_iso, utcnow
from openconnector.context import Context, set_context
from openconnector.jobs.service import JobService
from openconnector.store import tables as t

pytestmark = [pytest.mark.postgres, requires_sync]

LOCK_TTL = "4"


@pytest.fixture
def pg_context(settings, pg_url) -> Iterator[Context]:
    context = Context(replace(settings, database_url=pg_url, scheduler=False))
    set_context(context)
    yield context
    set_context(None)
    context.close()


class Workers:
    """``openconnector worker`` subprocesses with short heartbeats and lock TTLs, logging to files."""

    def __init__(self, context: Context, logs: Path) -> None:
        self.context, self.logs = context, logs
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 2, concurrency: int = 2) -> None:
        env = {
            **os.environ,
            "OPENCONNECTOR_LOCK_TTL": LOCK_TTL,
            "OPENCONNECTOR_SECRET_KEY": self.context.settings.secret_key or "",
            "OPENCONNECTOR_TIMEZONE": self.context.settings.timezone,
        }
        for i in range(count):
            out = open(self.logs / f"worker{i}.log", "wb")  # noqa: SIM115 - closed with the process
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "openconnector.cli",
                        "worker",
                        "--database-url",
                        self.context.settings.url,
                        "--concurrency",
                        str(concurrency),
                        "--poll",
                        "0.3",
                        "--heartbeat",
                        "1",
                        "--stalled-after",
                        "3",
                    ],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            )

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("worker*.log")))


@pytest.fixture
def workers(pg_context, tmp_path) -> Iterator[Workers]:
    group = Workers(pg_context, tmp_path)
    yield group
    group.stop()


def _sync_runs(context: Context, sync_uuid: str) -> list:
    with context.db.connect() as conn:
        return conn.execute(
            select(t.synchronization_logs)
            .where(t.synchronization_logs.c.synchronization_id == sync_uuid)
            .order_by(t.synchronization_logs.c.created)
        ).all()


def _objects(context: Context) -> list[str]:
    with context.db.connect() as conn:
        return [r.object["ref"] for r in conn.execute(select(t.objects)).all() if "ref" in (r.object or {})]


def test_two_workers_run_every_due_run_exactly_once(pg_context, workers, paged_source):
    make_target(pg_context)
    jobs = JobService(pg_context)
    syncs = [make_sync(pg_context, paged_source.url, f"w{i}", total=6, size=3, delay=0.05) for i in range(4)]
    scheduled = [jobs.schedule(s["uuid"], interval=2) for s in syncs]
    workers.start(count=2, concurrency=2)
    # Wait for the work, not for the clock: five runs of each (8 s unloaded), 120 s at most.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(len(_sync_runs(pg_context, s["uuid"])) >= 5 for s in syncs):
            break
        time.sleep(0.2)
    workers.stop()
    assert all(p.returncode == 0 for p in workers.procs), workers.output()
    for sync, job in zip(syncs, scheduled, strict=True):
        runs = _sync_runs(pg_context, sync["uuid"])
        logs = sorted(
            jobs.logs([("job_id", job["uuid"]), ("_limit", "1000")])["results"], key=lambda e: e["id"]
        )
        assert len(runs) >= 5, workers.output()
        assert len(runs) == len(logs), "one synchronisation run per job run"
        slots = [e["nextRun"] for e in logs if e["level"] == "INFO"]
        assert len(slots) == len(set(slots)), "a slot ran twice"
        spans = [
            (parse_iso(r.created).timestamp(), parse_iso(r.created).timestamp() + r.execution_time / 1000)
            for r in runs
            if r.status != "running"
        ]
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, "two runs of one synchronisation overlapped"
    refs = _objects(pg_context)
    assert len(refs) == len(set(refs)) == 24


def test_a_run_of_a_killed_worker_completes_on_the_other_without_duplicates(
    pg_context, workers, paged_source
):
    make_target(pg_context)
    jobs = JobService(pg_context)
    sync = make_sync(
        pg_context, paged_source.url, "kill", total=30, size=2, delay=0.4, concurrency=1
    )  # 15 pages one at a time, ~6 s
    job = jobs.schedule(sync["uuid"], interval=3600)
    workers.start(count=2, concurrency=1)
    name = f"synchronization:{sync['uuid']}"
    deadline = time.time() + 20
    holder = None
    while time.time() < deadline:
        with pg_context.db.connect() as conn:
            holder = conn.execute(select(t.locks.c.holder).where(t.locks.c.name == name)).scalar()
        # Kill once the run has committed a page: hits alone do not say anything was written.
        if holder and paged_source.hits["kill"] >= 3 and len(_objects(pg_context)) >= 2:
            break
        time.sleep(0.1)
    assert holder, workers.output()
    pid = int(holder.split(":")[1])
    victim = next(p for p in workers.procs if p.pid == pid)
    os.kill(pid, signal.SIGKILL)
    victim.wait(timeout=5)
    killed_at = time.time()

    deadline = time.time() + 60
    done = []
    while time.time() < deadline:
        done = [r for r in _sync_runs(pg_context, sync["uuid"]) if r.status == "success"]
        if done:
            break
        time.sleep(0.2)
    assert done, workers.output()
    assert "queued again" in workers.output()  # found as stalled through the dead worker's heartbeat
    assert time.time() - killed_at < 30
    objects = done[0].result["objects"]
    assert objects["found"] == 30
    assert (
        objects["created"] + objects["updated"] + objects["skipped"] + objects["invalid"] == objects["found"]
    )
    assert objects["created"] < 30  # the dead run's committed pages were kept, not redone
    refs = _objects(pg_context)
    assert len(refs) == len(set(refs)) == 30
    with pg_context.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.contracts)).scalar_one() == 30
    deadline = time.monotonic() + 30  # the job log is written just after the run's own log
    while not jobs.logs([("job_id", job["uuid"])])["total"] and time.monotonic() < deadline:
        time.sleep(0.1)
    logs = jobs.logs([("job_id", job["uuid"])])["results"]
    assert [e["message"] for e in logs] == ["Synchronized 30 successfully"]
    assert parse_iso(jobs.get(job["uuid"])["nextRun"]) > utcnow()
    assert len([r for r in _sync_runs(pg_context, sync["uuid"]) if r.status == "success"]) == 1
