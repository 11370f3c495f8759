"""Promise: no secret appears in any log line the service or its libraries write.

The real ``openconnector serve`` runs as a subprocess, logging as it does in
production (INFO, uvicorn's access log); it calls a fake API with each kind of
secret, and its captured output is searched for them. The HTTP client's own
per-request lines used to print every outgoing URL, with a ``?access=KEY`` or a
``http://bob:pw@host`` in clear.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

API = "/index.php/apps/openconnector/api"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kinds(url: str) -> dict[str, tuple[dict[str, Any], str]]:
    """kind -> (source fields, the secret)."""
    host = url.removeprefix("http://")
    return {
        "password in the location": (
            {"location": f"http://bob:LocationPassS3cret@{host}"},
            "LocationPassS3cret",
        ),
        "key in the location query": ({"location": f"{url}?access=LocationKeyS3cret"}, "LocationKeyS3cret"),
        "credential query parameter": (
            {"configuration": {"query": {"api_key": "QueryKeyS3cret"}}},
            "QueryKeyS3cret",
        ),
        "query value marked secret": (
            {
                "configuration": {"query": {"code": "MarkedQueryS3cret"}},
                "secretFields": ["configuration.query.code"],
            },
            "MarkedQueryS3cret",
        ),
        "Authorization header": (
            {"configuration": {"headers": {"Authorization": "Bearer HeaderS3cret"}}},
            "HeaderS3cret",
        ),
        "password given as a number": (
            {"auth": "basic", "authenticationConfig": {"username": "bob", "password": 987654321123}},
            "987654321123",
        ),
        "password of an unreachable source": (
            {"location": f"http://bob:DeadHostPassS3cret@127.0.0.1:{free_port()}"},
            "DeadHostPassS3cret",
        ),
    }


class Served:
    """``openconnector serve`` in a subprocess; its stdout and stderr go to one file."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        env = {
            **os.environ,
            "OPENCONNECTOR_DATA_DIR": str(data_dir),
            "OPENCONNECTOR_ADMIN_PASSWORD": "admin",
            "OPENCONNECTOR_SECRET_KEY": "logging-test",
        }
        self._out = open(log, "wb")  # noqa: SIM115 - closed in stop()
        command = [
            sys.executable,
            "-m",
            "openconnector.cli",
            "serve",
            "--port",
            str(self.port),
            "--no-scheduler",
        ]
        self.proc = subprocess.Popen(command, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"serve did not start:\n{log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._out.close()
        return self.log.read_text(errors="replace")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    server = Served(tmp_path / "data", tmp_path / "serve.log")
    try:
        yield server
    finally:
        server.stop()


def test_no_secret_of_any_kind_in_the_service_log(served: Served, fake_api) -> None:
    kinds = _kinds(fake_api.url)
    with httpx.Client(base_url=served.url, auth=("admin", "admin"), timeout=60) as api:
        for kind, (fields, _secret) in kinds.items():
            body = {"name": kind, "location": fake_api.url, "auth": "none", **fields}
            created = api.post(f"{API}/sources", json=body)
            assert created.status_code in (200, 201), created.text
            tested = api.post(f"{API}/sources/test/{created.json()['id']}", json={"endpoint": "/echo"})
            assert tested.status_code == 200, tested.text
        # A credential in the service's own URL reaches uvicorn's access log.
        assert api.get("/health", params={"api_key": "AccessLogS3cret"}).status_code == 200
    assert len(fake_api.requests) >= len(kinds) - 1  # the calls were made (one source is unreachable)
    output = served.stop()
    assert "GET /health?api_key=" in output  # the access log is on
    for kind, (_fields, secret) in [*kinds.items(), ("access log", ({}, "AccessLogS3cret"))]:
        assert secret not in output, f"{kind}: {secret} is in the log"


def test_no_secret_in_the_output_of_the_cli(tmp_path: Path, fake_api) -> None:
    from openconnector.connector.entities import EntityService
    from openconnector.context import Context
    from openconnector.store.settings import Settings

    data_dir = tmp_path / "data"
    context = Context(Settings(data_dir=data_dir, secret_key="logging-test"))
    try:
        for kind, (fields, _secret) in _kinds(fake_api.url).items():
            EntityService("source", context).create({"name": kind, "location": fake_api.url, **fields})
    finally:
        context.close()
    env = {**os.environ, "OPENCONNECTOR_DATA_DIR": str(data_dir), "OPENCONNECTOR_SECRET_KEY": "logging-test"}
    for kind, (_fields, secret) in _kinds(fake_api.url).items():
        if kind == "password of an unreachable source":
            continue
        run = subprocess.run(
            [sys.executable, "-m", "openconnector.cli", "source", "test", kind, "--endpoint", "/echo"],
            env=env,
            capture_output=True,
            timeout=120,
        )
        output = (run.stdout + run.stderr).decode(errors="replace")
        assert '"path": "/echo"' in output, output  # the echoed request is shown ...
        assert secret not in output, f"{kind}: {secret} is in the output"  # ... without the secret
