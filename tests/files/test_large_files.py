"""Promise: a 1 GB file goes up and comes back through the real HTTP server while the
server's memory grows by less than 100 MB.

``openconnector serve`` runs as a subprocess (its memory is then its own); the test
generates the body as it sends it (a multipart form, as a browser sends it) and
hashes the download as it reads it, so neither side ever holds the file. The
server's peak resident memory (``VmHWM``, reset after a warm-up through
``/proc/<pid>/clear_refs``) is compared with its resident memory before the upload.
``OPENCONNECTOR_LARGE_FILE_MB`` changes the size (default 1024).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

MB = 1024 * 1024
SIZE_MB = int(os.environ.get("OPENCONNECTOR_LARGE_FILE_MB", "1024"))
LIMIT_MB = 100
OR = "/index.php/apps/openregister/api"

pytestmark = pytest.mark.timeout(900)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _status(pid: int, field: str) -> int:
    """A memory figure of a process from /proc, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def server(tmp_path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = _free_port()
    data = tmp_path / "data"
    env = {
        **os.environ,
        "OPENCONNECTOR_ADMIN_PASSWORD": "admin",
        "OPENCONNECTOR_SECRET_KEY": "large-files",
        "OPENCONNECTOR_FILES_MAX_SIZE": "4G",
    }
    env.pop("OPENCONNECTOR_FILES_URL", None)
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    args = [sys.executable, "-m", "openconnector.cli", "serve", "--no-scheduler", "--port", str(port)]
    proc = subprocess.Popen([*args, "--data-dir", str(data)], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data / "files", ignore_errors=True)  # pytest keeps tmp dirs of recent runs


def _block(i: int) -> bytes:
    """1 MiB that differs per index (so a swapped or repeated chunk changes the hash)."""
    return i.to_bytes(8, "big") * (MB // 8)


def _form(boundary: str, digest: hashlib._Hash) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="labels"\r\n\r\ngroot\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="groot.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for i in range(SIZE_MB):
        block = _block(i)
        digest.update(block)
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


def test_a_1_gb_file_goes_up_and_down_in_under_100_mb_of_server_memory(server):
    url, proc = server
    auth = ("admin", "admin")
    with httpx.Client(base_url=url, auth=auth, timeout=300) as client:
        assert client.post(f"{OR}/registers", json={"title": "Woo", "slug": "woo"}).status_code == 201
        schema = {
            "title": "Besluit",
            "slug": "besluit",
            "register": "woo",
            "properties": {"title": {"type": "string"}},
        }
        assert client.post(f"{OR}/schemas", json=schema).status_code == 201
        obj = client.post(f"{OR}/objects/woo/besluit", json={"title": "Groot"}).json()
        files = f"{OR}/objects/woo/besluit/{obj['id']}/files"
        # warm-up: every code path of an upload and a download has run once
        small = client.post(files, files={"file": ("klein.txt", b"warm" * 1000, "text/plain")})
        assert small.status_code == 201, small.text
        assert client.get(small.json()["downloadUrl"]).content == b"warm" * 1000

        Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # VmHWM := VmRSS from here
        baseline = _status(proc.pid, "VmRSS")
        sent = hashlib.sha256()
        boundary = "groot-bestand-grens"
        started = time.monotonic()
        response = client.post(
            files,
            content=_form(boundary, sent),
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        upload_seconds = time.monotonic() - started
        assert response.status_code == 201, response.text
        made = response.json()
        assert made["size"] == SIZE_MB * MB
        assert made["hash"] == sent.hexdigest()
        assert made["labels"] == ["groot"]
        after_upload = _status(proc.pid, "VmHWM")

        received = hashlib.sha256()
        count = 0
        started = time.monotonic()
        with client.stream("GET", made["downloadUrl"]) as download:
            assert download.status_code == 200
            assert download.headers["content-length"] == str(SIZE_MB * MB)
            for chunk in download.iter_raw():
                received.update(chunk)
                count += len(chunk)
        download_seconds = time.monotonic() - started
        peak = _status(proc.pid, "VmHWM")

    assert count == SIZE_MB * MB
    assert received.hexdigest() == sent.hexdigest()
    grown = (peak - baseline) / MB
    print(
        f"\n{SIZE_MB} MB: upload {upload_seconds:.1f} s, download {download_seconds:.1f} s; server RSS "
        f"{baseline / MB:.0f} MB before, peak {after_upload / MB:.0f} MB after upload, {peak / MB:.0f} MB "
        f"after download (+{grown:.0f} MB)"
    )
    assert grown < LIMIT_MB, f"the server grew by {grown:.0f} MB moving a {SIZE_MB} MB file"
