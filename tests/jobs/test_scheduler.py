"""The embedded scheduler with real synchronisations: cadence, no overlap, no duplicates, clean stop."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from job_helpers import make_sync, make_target, requires_sync
from sqlalchemy import func, select

from openconnector.clock import iso, parse_iso, utcnow
from openconnector.connector.sync import SynchronizationService
from openconnector.jobs.scheduler import Scheduler
from openconnector.jobs.service import JobService
from openconnector.store import tables as t
from openconnector.store.locks import LockService

pytestmark = requires_sync


def _runs(context, sync_uuid: str) -> list[tuple[float, float, dict[str, Any]]]:
    """(start, end, objects) of every finished run of a synchronisation, by start."""
    with context.db.connect() as conn:
        rows = conn.execute(
            select(t.synchronization_logs).where(t.synchronization_logs.c.synchronization_id == sync_uuid)
        ).all()
    out = []
    for row in rows:
        start = parse_iso(row.created).timestamp()
        out.append((start, start + (row.execution_time or 0) / 1000, row.result["objects"], row.status))
    return sorted(out)


def _objects(context) -> list[str]:
    with context.db.connect() as conn:
        return [r.object["ref"] for r in conn.execute(select(t.objects)).all() if "ref" in (r.object or {})]


def test_three_synchronisations_every_two_seconds_run_on_time_never_overlap_and_never_duplicate(
    context, paged_source
):
    make_target(context)
    syncs = [make_sync(context, paged_source.url, f"s{i}", total=12, size=4, delay=0.15) for i in range(3)]
    jobs = JobService(context)
    for sync in syncs:
        jobs.schedule(sync["uuid"], interval=2)
    scheduler = Scheduler(context, workers=4, poll=0.25).start()
    started = time.time()
    # Wait for the work, not for the clock: six runs of each (10 s unloaded), 120 s at most.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(len(_runs(context, s["uuid"])) >= 6 for s in syncs):
            break
        time.sleep(0.2)
    scheduler.stop()
    window = time.time() - started
    for sync in syncs:
        runs = _runs(context, sync["uuid"])
        # At least six runs, and never more than one per two-second slot (a late run is not
        # doubled up); how late a loaded machine runs them is not this test's business.
        assert 6 <= len(runs) <= window / 2 + 1.5, (sync["name"], len(runs), window)
        for (_s1, e1, _, _), (s2, _, _, _) in zip(runs, runs[1:], strict=False):
            assert s2 >= e1, f"runs of {sync['name']} overlap"
        for _, _, objects, status in runs:
            if status == "success":
                assert (
                    objects["created"] + objects["updated"] + objects["skipped"] + objects["invalid"]
                    == objects["found"]
                    == 12
                )
    refs = _objects(context)
    assert len(refs) == len(set(refs)) == 36
    assert jobs.logs([("level", "ERROR")])["total"] == 0


def test_a_job_that_missed_many_slots_runs_once_then_keeps_its_cadence(context, paged_source):
    make_target(context)
    sync = make_sync(context, paged_source.url, "late", total=3)
    jobs = JobService(context)
    job = jobs.schedule(sync["uuid"], interval=5)
    anchor = utcnow().replace(microsecond=0) - timedelta(seconds=32)  # six slots missed
    jobs.update(job["uuid"], {"nextRun": iso(anchor)})
    scheduler = Scheduler(context, poll=0.1).start()
    try:
        deadline = time.time() + 30
        while not jobs.logs([("job_id", job["uuid"])])["total"] and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        scheduler.stop()
    assert jobs.logs([("job_id", job["uuid"])])["total"] == 1
    assert parse_iso(jobs.get(job["uuid"])["nextRun"]) == anchor + timedelta(seconds=35)


def test_a_due_job_starts_within_a_second(context, paged_source):
    make_target(context)
    sync = make_sync(context, paged_source.url, "quick", total=2)
    jobs = JobService(context)
    scheduler = Scheduler(context, poll=0.5).start()
    try:
        job = jobs.schedule(sync["uuid"], interval=3600)
        slot = parse_iso(job["nextRun"])
        deadline = time.time() + 30  # how long to wait; the promise is checked below
        while not (page := jobs.logs([("job_id", job["uuid"])]))["total"] and time.time() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.stop()
    assert (parse_iso(page["results"][0]["lastRun"]) - slot).total_seconds() < 1.0


def test_a_synchronisation_run_by_hand_makes_the_scheduled_slot_skip_not_fail(context, paged_source):
    make_target(context)
    sync = make_sync(context, paged_source.url, "busy", total=3)
    jobs = JobService(context)
    job = jobs.schedule(sync["uuid"], interval=60)
    with LockService(context.db).held(f"synchronization:{sync['uuid']}"):
        entry = jobs.run(job["uuid"])
    assert entry["level"] == "INFO" and entry["message"].startswith("Skipped")
    assert jobs.failures(job["uuid"]) == 0
    assert parse_iso(entry["nextRun"]) > utcnow() + timedelta(seconds=50)


def test_stopping_the_scheduler_lets_the_page_in_progress_finish_and_leaves_the_job_due(
    context, paged_source
):
    make_target(context)
    sync = make_sync(context, paged_source.url, "long", total=40, size=2, delay=0.3)  # 20 pages, ~6 s
    jobs = JobService(context)
    job = jobs.schedule(sync["uuid"], interval=3600)
    scheduler = Scheduler(context, poll=0.1).start()
    deadline = time.monotonic() + 60  # stop once a page or two are written, however slow the machine
    while paged_source.hits["long"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scheduler.stop(timeout=30)
    runs = _runs(context, sync["uuid"])
    assert len(runs) == 1 and runs[0][3] == "interrupted"
    objects = runs[0][2]
    assert 0 < objects["found"] < 40 and objects["found"] % 2 == 0  # whole pages only
    assert objects["created"] == objects["found"] == len(_objects(context))
    entry = jobs.logs([("job_id", job["uuid"])])["results"][0]
    assert entry["level"] == "WARNING" and entry["message"].startswith("Interrupted")
    assert parse_iso(jobs.get(job["uuid"])["nextRun"]) <= utcnow()
    # the next run completes the synchronisation without duplicates
    final = SynchronizationService(context).synchronize(sync["uuid"])
    assert final["result"]["objects"]["found"] == 40
    assert len(_objects(context)) == len(set(_objects(context))) == 40
    with context.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.contracts)).scalar_one() == 40


def test_the_scheduler_deletes_expired_logs_and_keeps_the_others(context):
    """Logs carry ``expires`` (call logs 1 day or 1 week, runs and job logs their retention):
    the scheduler deletes the expired ones when it starts and every ten minutes after."""
    past, future, created = (
        iso(utcnow() - timedelta(hours=1)),
        iso(utcnow() + timedelta(days=1)),
        iso(utcnow()),
    )
    with context.db.begin() as conn:
        for n, expires in enumerate((past, future)):
            conn.execute(t.call_logs.insert().values(uuid=f"c{n}", created=created, expires=expires))
            conn.execute(
                t.synchronization_logs.insert().values(
                    uuid=f"s{n}",
                    synchronization_id="x",
                    status="success",
                    result={},
                    created=created,
                    updated=created,
                    expires=expires,
                )
            )
            conn.execute(
                t.job_logs.insert().values(
                    uuid=f"j{n}", job_id="x", level="INFO", created=created, expires=expires
                )
            )

    def left() -> list[str]:
        with context.db.connect() as conn:
            return sorted(
                uuid
                for table in (t.call_logs, t.synchronization_logs, t.job_logs)
                for uuid in conn.execute(select(table.c.uuid)).scalars()
            )

    scheduler = Scheduler(context, poll=0.25).start()
    try:
        deadline = time.monotonic() + 60
        while left() != ["c1", "j1", "s1"] and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        scheduler.stop()
    assert left() == ["c1", "j1", "s1"]
