"""JobService: schedules, nextRun, the outcome of a run, back-off, logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openconnector.clock import iso, parse_iso, utcnow
from openconnector.errors import BadRequest, Conflict, SourceUnavailable
from openconnector.jobs import runner
from openconnector.jobs.service import JobService, Schedule
from openconnector.store.locks import LockService


@pytest.fixture
def jobs(context) -> JobService:
    return JobService(context)


@pytest.fixture
def action(monkeypatch) -> dict[str, Any]:
    """A ``TestAction`` job class whose outcome the test sets (``action["raise"]`` / ``action["outcome"]``)."""
    state: dict[str, Any] = {"calls": 0, "outcome": None, "raise": None}

    def test_action(context, arguments, stop=None) -> runner.Outcome:
        state["calls"] += 1
        if state["raise"] is not None:
            return runner._failure(state["raise"], "Failed")
        return state["outcome"] or runner.Outcome()

    monkeypatch.setitem(runner.ACTIONS, "TestAction", test_action)
    return state


def _job(jobs: JobService, **fields: Any) -> dict[str, Any]:
    return jobs.create({"name": "test", "jobClass": "TestAction", "interval": 60, **fields})


def test_interval_is_seconds_or_a_cron_expression():
    assert Schedule.parse(60).seconds == 60
    assert Schedule.parse("3600").seconds == 3600
    assert Schedule.parse("*/5 * * * *").cron == "*/5 * * * *"
    assert Schedule.parse(None).seconds == 3600
    for bad in ("every hour", 0, -5, True):
        with pytest.raises(BadRequest):
            Schedule.parse(bad)


def test_missed_interval_slots_collapse_into_one_run_at_the_next_slot_after_now():
    schedule = Schedule(seconds=10)
    anchor = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    now = anchor + timedelta(seconds=95)  # nine slots were missed while nothing ran
    assert schedule.next_after(now, anchor) == anchor + timedelta(seconds=100)


def test_cron_slots_follow_the_instance_timezone():
    schedule = Schedule(cron="0 3 * * *", timezone="Europe/Amsterdam")
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert schedule.next_after(now) == datetime(2026, 1, 2, 2, 0, tzinfo=UTC)  # 03:00 CET


def test_a_job_created_without_next_run_is_scheduled_from_now(jobs):
    before = utcnow() - timedelta(seconds=1)
    job = jobs.create({"name": "ping", "interval": 300})
    assert job["jobClass"] == runner.PING_ACTION and job["isEnabled"] is True
    assert before <= parse_iso(job["nextRun"]) <= utcnow()


def test_schedule_after_delays_the_first_run(jobs):
    later = utcnow() + timedelta(hours=2)
    job = jobs.create({"name": "later", "interval": 60, "scheduleAfter": iso(later)})
    assert abs((parse_iso(job["nextRun"]) - later).total_seconds()) < 1


def test_changing_the_interval_reschedules_a_job_without_explicit_next_run(jobs):
    job = jobs.create({"name": "c", "interval": 60, "nextRun": iso(utcnow() + timedelta(days=3))})
    updated = jobs.update(job["uuid"], {"interval": "*/5 * * * *"})
    assert parse_iso(updated["nextRun"]) <= utcnow() + timedelta(minutes=5)


def test_an_unknown_job_class_or_bad_interval_is_refused(jobs):
    with pytest.raises(BadRequest):
        jobs.create({"name": "x", "jobClass": "OCA\\OpenConnector\\Action\\NopeAction"})
    with pytest.raises(BadRequest):
        jobs.create({"name": "x", "interval": "sometimes"})


def test_a_job_that_is_not_due_does_not_run(jobs, action):
    job = _job(jobs, nextRun=iso(utcnow() + timedelta(minutes=5)))
    assert jobs.run(job["uuid"]) is None
    assert action["calls"] == 0


def test_a_forced_run_runs_now_and_keeps_next_run(jobs, action):
    future = utcnow() + timedelta(minutes=5)
    job = _job(jobs, nextRun=iso(future))
    entry = jobs.run(job["uuid"], force=True)
    assert entry["level"] == "SUCCESS" and action["calls"] == 1
    stored = jobs.get(job["uuid"])
    assert parse_iso(stored["nextRun"]) == future
    assert stored["lastRun"] is not None and stored["version"] == job["version"]


def test_a_disabled_job_logs_a_warning_instead_of_running(jobs, action):
    job = _job(jobs, isEnabled=False)
    entry = jobs.run(job["uuid"])
    assert entry["level"] == "WARNING" and entry["message"] == "This job is disabled"
    assert action["calls"] == 0


def test_a_due_run_moves_next_run_to_the_next_slot_keeping_the_cadence(jobs, action):
    slot = utcnow() - timedelta(seconds=5)
    job = _job(jobs, nextRun=iso(slot))
    entry = jobs.run(job["uuid"])
    assert entry["level"] == "SUCCESS" and entry["jobId"] == job["uuid"]
    assert parse_iso(jobs.get(job["uuid"])["nextRun"]) == slot.replace(
        microsecond=slot.microsecond // 1000 * 1000
    ) + timedelta(seconds=60)


def test_a_single_run_job_is_disabled_after_it_ran(jobs, action):
    job = _job(jobs, singleRun=True)
    jobs.run(job["uuid"])
    assert jobs.get(job["uuid"])["isEnabled"] is False


def test_failures_back_off_exponentially_and_are_logged_with_a_stack_trace(jobs, action):
    action["raise"] = RuntimeError("boom")
    job = _job(jobs, interval=10)
    delays = []
    for _ in range(3):
        jobs.update(job["uuid"], {"nextRun": iso(utcnow())})
        entry = jobs.run(job["uuid"])
        assert entry["level"] == "ERROR" and "boom" in entry["message"]
        assert any("RuntimeError" in line for line in entry["stackTrace"])
        delays.append((parse_iso(entry["nextRun"]) - parse_iso(entry["created"])).total_seconds())
    assert [round(d / 10) for d in delays] == [2, 4, 8]
    action["raise"] = None
    jobs.update(job["uuid"], {"nextRun": iso(utcnow())})
    entry = jobs.run(job["uuid"])
    assert (parse_iso(entry["nextRun"]) - parse_iso(entry["created"])).total_seconds() <= 10


def test_back_off_is_capped_at_an_hour(jobs, action):
    action["raise"] = RuntimeError("boom")
    job = _job(jobs, interval=1200)
    for _ in range(4):
        jobs.update(job["uuid"], {"nextRun": iso(utcnow())})
        entry = jobs.run(job["uuid"])
    assert (parse_iso(entry["nextRun"]) - parse_iso(entry["created"])).total_seconds() <= 3601


def test_a_rate_limited_run_is_tried_again_when_the_source_allows(jobs, action):
    retry_at = utcnow() + timedelta(seconds=90)
    action["raise"] = SourceUnavailable("429 Too Many Requests", retry_at=int(retry_at.timestamp()))
    job = _job(jobs, interval=3600)
    entry = jobs.run(job["uuid"])
    assert entry["level"] == "WARNING"
    assert abs((parse_iso(jobs.get(job["uuid"])["nextRun"]) - retry_at).total_seconds()) < 1.5


def test_a_busy_synchronisation_skips_the_slot_without_counting_as_a_failure(jobs, action):
    action["raise"] = Conflict("Synchronization 'x' is already running", lock="synchronization:x")
    job = _job(jobs, interval=60)
    entry = jobs.run(job["uuid"])
    assert entry["level"] == "INFO" and entry["message"].startswith("Skipped")
    assert 50 < (parse_iso(entry["nextRun"]) - utcnow()).total_seconds() <= 60
    with pytest.raises(Conflict):
        jobs.run(job["uuid"], force=True)


def test_a_job_locked_by_another_process_is_left_alone_or_refused_when_forced(jobs, action, context):
    job = _job(jobs)
    locks = LockService(context.db)
    assert locks.acquire(f"job:{job['uuid']}", "elsewhere", ttl=60)
    assert jobs.run(job["uuid"]) is None
    with pytest.raises(Conflict):
        jobs.run(job["uuid"], force=True)
    assert action["calls"] == 0


def test_an_interrupted_run_stays_due(jobs, action):
    action["outcome"] = runner.Outcome(runner.INTERRUPTED, "WARNING", "Interrupted: stopped")
    slot = utcnow() - timedelta(seconds=1)
    job = _job(jobs, nextRun=iso(slot))
    jobs.run(job["uuid"])
    assert parse_iso(jobs.get(job["uuid"])["nextRun"]) <= utcnow()


def test_due_lists_enabled_jobs_whose_time_has_come_earliest_first(jobs):
    now = utcnow()
    late = jobs.create({"name": "late", "nextRun": iso(now - timedelta(seconds=5))})
    early = jobs.create({"name": "early", "nextRun": iso(now - timedelta(seconds=50))})
    jobs.create({"name": "future", "nextRun": iso(now + timedelta(seconds=50))})
    jobs.create({"name": "off", "nextRun": iso(now - timedelta(seconds=50)), "isEnabled": False})
    assert [j["uuid"] for j in jobs.due(now)] == [early["uuid"], late["uuid"]]


def test_logs_are_paged_newest_first_and_filtered(jobs, action):
    job = _job(jobs)
    other = _job(jobs)
    for _ in range(3):
        jobs.run(job["uuid"], force=True)
    action["raise"] = RuntimeError("boom")
    jobs.run(other["uuid"], force=True)
    page = jobs.logs([("_limit", "2"), ("_page", "1")])
    assert page["total"] == 4 and page["pages"] == 2 and page["results_count"] == 2
    assert page["results"][0]["jobId"] == other["uuid"]
    assert jobs.logs([("job_id", job["uuid"])])["total"] == 3
    assert jobs.logs([("level", "error")])["total"] == 1
    today = utcnow().date().isoformat()
    assert jobs.logs([("date_from", today), ("date_to", today)])["total"] == 4
    assert jobs.logs([("date_from", "2000-01-01"), ("date_to", "2000-01-02")])["total"] == 0


def test_scheduling_a_synchronisation_creates_then_updates_its_one_job(jobs, context):
    from openconnector.connector.entities import EntityService

    sync = EntityService("synchronization", context).create({"name": "S", "sourceId": "1", "targetId": "a/b"})
    first = jobs.schedule(sync["id"], interval=120)
    assert first["arguments"]["synchronizationId"] == sync["uuid"]
    assert runner.short_name(first["jobClass"]) == "SynchronizationAction"
    second = jobs.schedule(sync["uuid"], cron="*/5 * * * *")
    assert second["uuid"] == first["uuid"] and second["interval"] == "*/5 * * * *"
    assert len(jobs.list()) == 1
    with pytest.raises(BadRequest):
        jobs.schedule(sync["uuid"], interval=60, cron="* * * * *")


def test_the_short_job_class_name_is_accepted(jobs, action, context):
    job = jobs.create({"name": "p", "jobClass": "EventAction"})
    assert jobs.run(job["uuid"], force=True)["level"] == "SUCCESS"
