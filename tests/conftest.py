"""Shared fixtures: real databases (a SQLite file per test, a fresh PostgreSQL
database per test) and the real application, in-process or on a socket."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from openconnector.context import Context, set_context
from openconnector.store.settings import Settings

sys.path.insert(0, str(Path(__file__).parent / "connector"))
from fake_api import FakeApi, FakeApiServer  # noqa: E402  (tests/connector/fake_api.py)

#: Under CI (``CI`` set, as ``.ci/run`` and hosted CI do) a skip is a failure: a missing
#: PostgreSQL, chromium, SHACL shapes or fixture file would otherwise hide a whole area.
UNDER_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _fail_skips_under_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    if not (UNDER_CI and report.skipped) or hasattr(report, "wasxfail"):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"skipped under CI, which must provide everything the suite needs: {reason}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[pytest.TestReport]:
    report = yield
    _fail_skips_under_ci(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[pytest.CollectReport]:
    report = yield
    _fail_skips_under_ci(report)
    return report


PG_ADMIN_URL = os.environ.get("OPENCONNECTOR_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 (CI must start it)")
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    name = f"oc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium for the browser tests, found on PATH (``$CHROMIUM`` overrides it).
    Without it the test is skipped, and under CI fails."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.skip("Debian's chromium is not on PATH (apt-get install chromium)")
    return path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        timezone="Europe/Amsterdam",
        admin_password="admin",
        secret_key="test-secret",
        scheduler=False,
    )


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_settings(request: pytest.FixtureRequest, settings: Settings) -> Settings:
    """Settings for SQLite and, as a second run of the same test, PostgreSQL."""
    if request.param == "sqlite":
        return settings
    from dataclasses import replace

    return replace(settings, database_url=request.getfixturevalue("pg_url"))


def _context(settings: Settings) -> Iterator[Context]:
    context = Context(settings)
    set_context(context)
    try:
        yield context
    finally:
        set_context(None)
        context.close()


@pytest.fixture
def context(settings: Settings) -> Iterator[Context]:
    """A migrated instance on a SQLite file of its own."""
    yield from _context(settings)


@pytest.fixture
def any_context(any_settings: Settings) -> Iterator[Context]:
    """A migrated instance on SQLite, then on PostgreSQL."""
    yield from _context(any_settings)


def _client(context: Context):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from openconnector.api.app import create_app

    client = TestClient(create_app(context), raise_server_exceptions=False)
    client.auth = ("admin", "admin")
    return client


@pytest.fixture
def client(context: Context):  # type: ignore[no-untyped-def]
    """The application in-process, logged in as admin (use ``auth=None`` per request to log out)."""
    with _client(context) as c:
        yield c


@pytest.fixture
def any_client(any_context: Context):  # type: ignore[no-untyped-def]
    with _client(any_context) as c:
        yield c


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveServer:
    """The real application served by uvicorn on a free port in a thread."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    def client(self, auth: tuple[str, str] | None = None, **options: Any) -> Any:
        """An ``httpx.Client`` for this server (``auth=("admin", "admin")`` for the admin API).
        It waits up to a minute: on a loaded machine a first request can take seconds, and
        httpx's default of 5 s would then fail a test that is not about speed."""
        import httpx

        return httpx.Client(base_url=self.url, auth=auth, timeout=60, **options)


@pytest.fixture
def live_server(context: Context) -> Iterator[LiveServer]:
    from openconnector.api.app import create_app

    with LiveServer(create_app(context)) as server:
        yield server


#: How the browser tests start Debian's chromium.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]


@pytest.fixture
def page(live_server: LiveServer, chromium: str) -> Iterator[Any]:
    """A tab of a fresh headless chromium (1280 x 1000, downloads accepted, 15 s timeouts)
    beside the ``live_server``; a test file may define its own ``page`` instead."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_context(
                viewport={"width": 1280, "height": 1000}, accept_downloads=True
            ).new_page()
            tab.set_default_timeout(15_000)
            yield tab
        finally:
            browser.close()


@pytest.fixture(scope="session")
def fake_api_server() -> Iterator[FakeApiServer]:
    server = FakeApiServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_api(fake_api_server: FakeApiServer) -> FakeApi:
    """The fake external API (tests/connector/fake_api.py) with fresh state; ``.url`` is its base URL."""
    fake_api_server.api.reset()
    return fake_api_server.api


#: The tutorial's Dataset schema (Woo Part 3); tests add properties they need.
DATASET_PROPERTIES = {
    "title": {"type": "string", "minLength": 1},
    "category": {"type": "string"},
    "status": {"type": "string", "enum": ["Concept", "Published"]},
    "publicatiedatum": {"type": "string", "format": "date-time"},
}


@pytest.fixture
def make_dcat():
    """``make_dcat(context, **extra_properties)``: the tutorial's DCAT register and Dataset schema."""
    from openconnector.register.registers import RegisterService

    def make(context: Context, **extra: dict) -> Context:
        registers = RegisterService(context)
        registers.create_register({"title": "DCAT register", "slug": "dcat"})
        registers.create_schema(
            {
                "title": "Dataset",
                "slug": "dataset",
                "required": ["title"],
                "properties": {**DATASET_PROPERTIES, **extra},
            },
            register="dcat",
        )
        return context

    return make
