"""CLI: ``sync schedule``, ``job list|run|logs`` and the worker's refusal on SQLite."""

from __future__ import annotations

import json

import pytest
from job_helpers import make_sync, make_target, requires_sync
from typer.testing import CliRunner

from openconnector.cli import _load_extensions, app
from openconnector.jobs.service import JobService

_load_extensions()


@pytest.fixture
def cli(context):
    runner = CliRunner()
    data_dir = str(context.settings.data_dir)

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, [*args, "--data-dir", data_dir], catch_exceptions=False)

    return invoke


@pytest.fixture(autouse=True)
def _env(monkeypatch, context):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", context.settings.secret_key or "")
    monkeypatch.setenv("COLUMNS", "250")


@requires_sync
def test_sync_schedule_by_name_then_job_list_and_run(cli, context, paged_source):
    make_target(context)
    sync = make_sync(context, paged_source.url, "cli", total=4)
    result = cli("sync", "schedule", "Sync cli", "--interval", "3600")
    assert result.exit_code == 0, result.output
    job = JobService(context).job_of(sync)
    assert job is not None and job["interval"] == 3600

    listed = cli("job", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["uuid"] == job["uuid"]
    table = cli("job", "list")
    assert "Synchronize Sync cli" in table.output

    ran = cli("job", "run", job["uuid"])
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.output)["message"] == "Synchronized 4 successfully"
    not_due = cli("job", "run", job["uuid"])
    assert "not due" in not_due.output
    forced = cli("job", "run", job["uuid"], "--force")
    assert json.loads(forced.output)["level"] == "INFO"

    logs = cli("job", "logs", "--job", job["uuid"])
    assert logs.output.count("Synchronized 4 successfully") == 2

    cron = cli("sync", "schedule", sync["uuid"], "--cron", "*/10 * * * *")
    assert cron.exit_code == 0 and JobService(context).get(job["uuid"])["interval"] == "*/10 * * * *"


def test_sync_schedule_needs_an_interval_or_a_cron(cli, context):
    result = cli("sync", "schedule", "anything")
    assert result.exit_code != 0


def test_the_worker_refuses_sqlite_with_a_clear_message(context):
    from openconnector.errors import BadRequest
    from openconnector.jobs.distributed import dsn_of

    with pytest.raises(BadRequest, match="PostgreSQL"):
        dsn_of(context)
