"""Stop and restart are safe: real ``openconnector serve`` and ``sync run`` processes.

A slow local source (``PagedSource``, 0.25 s a page) keeps a synchronisation running
long enough to stop it in the middle:

* SIGTERM on ``serve`` while ``POST .../run`` runs: the run stops after its page, its
  log says ``interrupted`` with what it wrote, nothing is deleted, the lock is free,
  the request gets a JSON answer and the service exits within 10 s;
* ``kill -9`` on ``serve`` while its scheduler runs a job: the killed run's log already
  holds the counts of the pages it committed; after a restart the next run starts
  within 15 s (no "already running"), the dead run is marked ``interrupted``, and the
  run completes without duplicates or deletes;
* Ctrl-C on ``sync run``: exit code 130, log ``interrupted``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from job_helpers import make_sync, make_target, requires_sync
from sqlalchemy import func, select

from openconnector.connector.entities import EntityService
from openconnector.context import Context
from openconnector.jobs.service import JobService
from openconnector.store import tables as t

pytestmark = requires_sync

TOTAL, SIZE, DELAY = 200, 5, 0.25  # 40 pages, at least 10 s


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """``openconnector serve`` as a subprocess on the test's SQLite data directory."""

    def __init__(self, context: Context, logs: Path) -> None:
        self.context, self.logs = context, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "OPENCONNECTOR_ADMIN_PASSWORD": "admin",
            "OPENCONNECTOR_SECRET_KEY": self.context.settings.secret_key or "",
            "OPENCONNECTOR_TIMEZONE": self.context.settings.timezone,
            "OPENCONNECTOR_LOCK_TTL": "120",  # a restart must not wait for expiry
        }

    def start(self, scheduler: bool = False) -> Service:
        self.starts += 1
        out = open(self.logs / f"serve{self.starts}.log", "wb")  # noqa: SIM115 - closed with the process
        args = [sys.executable, "-m", "openconnector.cli", "serve", "--port", str(self.port)]
        args += ["--data-dir", str(self.context.settings.data_dir)]
        if not scheduler:
            args.append("--no-scheduler")
        self.proc = subprocess.Popen(args, env=self.env(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"serve did not start\n{self.output()}")

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("serve*.log")))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def service(context: Context, tmp_path: Path) -> Iterator[Service]:
    server = Service(context, tmp_path)
    yield server
    server.stop()


def _runs(context: Context, sync_uuid: str) -> list[Any]:
    with context.db.connect() as conn:
        return conn.execute(
            select(t.synchronization_logs)
            .where(t.synchronization_logs.c.synchronization_id == sync_uuid)
            .order_by(t.synchronization_logs.c.created)
        ).all()


def _refs(context: Context) -> list[str]:
    with context.db.connect() as conn:
        return [r.object["ref"] for r in conn.execute(select(t.objects)).all() if "ref" in (r.object or {})]


def _locks(context: Context) -> int:
    with context.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.locks)).scalar_one()


def _wait_for_written(context: Context, sync_uuid: str, at_least: int, timeout: float = 60) -> Any:
    """The running run's log once it says at least ``at_least`` objects were created."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = [r for r in _runs(context, sync_uuid) if r.status == "running"]
        if running and running[-1].result["objects"]["created"] >= at_least:
            return running[-1]
        time.sleep(0.1)
    raise AssertionError(f"no running run wrote {at_least} objects: {_runs(context, sync_uuid)}")


def _wait_for_success(context: Context, sync_uuid: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [r for r in _runs(context, sync_uuid) if r.status == "success"]
        if done:
            return done[-1]
        time.sleep(0.2)
    raise AssertionError(f"no run succeeded: {_runs(context, sync_uuid)}")


def test_sigterm_on_serve_stops_the_run_after_its_page_and_exits_within_10_s(
    context: Context, service: Service, paged_source: Any
) -> None:
    make_target(context)
    sync = make_sync(context, paged_source.url, "term", total=TOTAL, size=SIZE, delay=DELAY)
    service.start()
    answer: dict[str, Any] = {}

    def run() -> None:
        response = httpx.post(
            f"{service.url}/index.php/apps/openconnector/api/synchronizations/{sync['id']}/run",
            auth=("admin", "admin"),
            timeout=120,
        )
        answer.update(status=response.status_code, type=response.headers.get("content-type"))
        answer["body"] = response.json()

    caller = threading.Thread(target=run)
    caller.start()
    _wait_for_written(context, sync["uuid"], 10)
    assert service.proc is not None
    service.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    service.proc.wait(timeout=10)
    assert time.monotonic() - signalled < 10, service.output()
    caller.join(timeout=10)

    assert answer["status"] == 503 and answer["type"] == "application/json", answer
    assert answer["body"]["status"] == "interrupted"
    [entry] = _runs(context, sync["uuid"])
    assert entry.status == "interrupted", service.output()
    objects = entry.result["objects"]
    assert objects["deleted"] == 0
    assert 10 <= objects["created"] < TOTAL
    assert objects["created"] == len(_refs(context)), "the log counts exactly what was written"
    assert entry.result["stopReason"] == "stopped"
    assert _locks(context) == 0, "the run's lock was released"

    service.start()  # the next run picks up where it stopped: no duplicates, nothing deleted
    result = httpx.post(
        f"{service.url}/apps/openconnector/api/synchronizations/{sync['uuid']}/run",
        auth=("admin", "admin"),
        timeout=120,
    ).json()
    assert result["status"] == "success", result
    assert result["result"]["objects"]["deleted"] == 0
    assert result["result"]["objects"]["created"] == TOTAL - objects["created"]
    refs = _refs(context)
    assert len(refs) == len(set(refs)) == TOTAL


def test_after_kill_9_a_restarted_service_runs_the_job_again_within_15_s(
    context: Context, service: Service, paged_source: Any
) -> None:
    make_target(context)
    sync = make_sync(context, paged_source.url, "nine", total=TOTAL, size=SIZE, delay=DELAY)
    JobService(context).schedule(sync["uuid"], interval=3600)
    service.start(scheduler=True)
    _wait_for_written(context, sync["uuid"], 10)
    assert service.proc is not None
    service.proc.kill()  # SIGKILL: no handler, no cleanup
    service.proc.wait(timeout=10)

    [dead] = _runs(context, sync["uuid"])
    assert dead.status == "running"  # nobody could say otherwise yet
    written = len(_refs(context))
    assert dead.result["objects"]["created"] == written > 0, "the killed run's log says what it wrote"
    assert _locks(context) >= 1  # its job and synchronisation locks are still there

    restarted = time.monotonic()
    service.start(scheduler=True)
    deadline = restarted + 15
    while time.monotonic() < deadline and len(_runs(context, sync["uuid"])) < 2:
        time.sleep(0.1)
    runs = _runs(context, sync["uuid"])
    assert len(runs) == 2, f"the next run did not start within 15 s\n{service.output()}"
    assert runs[0].status == "interrupted"
    assert runs[0].result["objects"]["created"] == written

    done = _wait_for_success(context, sync["uuid"])
    assert done.result["objects"]["deleted"] == 0
    assert done.result["objects"]["created"] == TOTAL - written
    assert done.result["objects"]["skipped"] == written
    refs = _refs(context)
    assert len(refs) == len(set(refs)) == TOTAL
    assert "already running" not in service.output()


def test_ctrl_c_on_sync_run_stops_after_the_page_and_exits_130(
    context: Context, service: Service, paged_source: Any
) -> None:
    make_target(context)
    sync = make_sync(context, paged_source.url, "ctrlc", total=TOTAL, size=SIZE, delay=DELAY)
    proc = subprocess.Popen(
        [sys.executable, "-m", "openconnector.cli", "sync", "run", sync["slug"], "--json"]
        + ["--data-dir", str(context.settings.data_dir)],
        env=service.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_written(context, sync["uuid"], 10)
        proc.send_signal(signal.SIGINT)
        signalled = time.monotonic()
        output, _ = proc.communicate(timeout=10)
        assert time.monotonic() - signalled < 10
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, output.decode(errors="replace")
    [entry] = _runs(context, sync["uuid"])
    assert entry.status == "interrupted"
    assert entry.result["objects"]["deleted"] == 0
    assert entry.result["objects"]["created"] == len(_refs(context))
    assert _locks(context) == 0


def test_a_request_cut_off_by_shutdown_gets_a_json_503(
    context: Context, service: Service, paged_source: Any
) -> None:
    source = EntityService("source", context).create(
        {"name": "Slow", "type": "api", "location": paged_source.url}
    )
    service.start()
    answer: dict[str, Any] = {}

    def call() -> None:
        response = httpx.post(
            f"{service.url}/index.php/apps/openconnector/api/sources/test/{source['id']}",
            json={"endpoint": "/records?set=cutoff&delay=30"},
            auth=("admin", "admin"),
            timeout=60,
        )
        answer.update(
            status=response.status_code, type=response.headers.get("content-type"), text=response.text
        )

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 30
    while paged_source.hits["cutoff"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service.proc is not None
    service.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    service.proc.wait(timeout=10)
    assert time.monotonic() - signalled < 10, service.output()
    caller.join(timeout=10)
    assert answer["status"] == 503, answer
    assert answer["type"] == "application/json"
    assert "shutting down" in answer["text"]


@pytest.mark.postgres
def test_sigterm_on_a_worker_stops_its_run_after_the_page(
    settings: Any, pg_url: str, tmp_path: Path, paged_source: Any
) -> None:
    from dataclasses import replace

    from openconnector.context import set_context

    context = Context(replace(settings, database_url=pg_url))
    set_context(context)
    try:
        make_target(context)
        sync = make_sync(context, paged_source.url, "worker", total=TOTAL, size=SIZE, delay=DELAY)
        JobService(context).schedule(sync["uuid"], interval=3600)
        out = open(tmp_path / "worker.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "openconnector.cli", "worker", "--database-url", context.settings.url]
            + ["--concurrency", "1", "--poll", "0.3"],
            env={**os.environ, "OPENCONNECTOR_SECRET_KEY": context.settings.secret_key or ""},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for_written(context, sync["uuid"], 10)
            proc.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            proc.wait(timeout=10)
            assert time.monotonic() - signalled < 10
        finally:
            if proc.poll() is None:
                proc.kill()
        output = (tmp_path / "worker.log").read_text(errors="replace")
        assert proc.returncode == 0, output
        [entry] = _runs(context, sync["uuid"])
        assert entry.status == "interrupted", output
        assert entry.result["objects"]["deleted"] == 0
        assert entry.result["objects"]["created"] == len(_refs(context))
        with context.db.connect() as conn:
            names = conn.execute(select(t.locks.c.name)).scalars().all()
        assert f"synchronization:{sync['uuid']}" not in names
    finally:
        set_context(None)
        context.close()
