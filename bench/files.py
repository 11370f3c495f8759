"""Benchmark of files on objects: a large upload and download through the real server.

Not a test. Starts ``openconnector serve`` in a subprocess on a fresh data
directory, attaches an object, and moves a generated file of ``--mb`` megabytes
(default 1024) up (multipart, generated while sent) and down (streamed, hashed
while read), ``--runs`` times after an untimed warm-up. For each run it reports
the speed each way and how much the server's peak memory (``VmHWM``, reset
through ``/proc/<pid>/clear_refs`` before the run) rose above its resident
memory at the start.

Baseline, measured in the same run: the same bytes written to a file in the same
directory with ``fsync`` and read back (the disk's floor for what the server must
do at least). Medians; the ratio is the server's speed over the disk's; the last
line is JSON::

    python bench/files.py                 # 1 GB, 3 runs
    python bench/files.py --mb 256 --runs 5
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

MB = 1024 * 1024
OR = "/index.php/apps/openregister/api"


def _block(i: int) -> bytes:
    return i.to_bytes(8, "big") * (MB // 8)


def _memory(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not found")


def _form(size_mb: int, digest: hashlib._Hash) -> Iterator[bytes]:
    yield (
        b'--bench\r\nContent-Disposition: form-data; name="file"; filename="bench.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n"
    )
    for i in range(size_mb):
        block = _block(i)
        digest.update(block)
        yield block
    yield b"\r\n--bench--\r\n"


def _disk(directory: Path, size_mb: int) -> tuple[float, float]:
    """Seconds to write (with fsync) and read back ``size_mb`` MB in ``directory``."""
    path = directory / "baseline.bin"
    started = time.perf_counter()
    with open(path, "wb", buffering=0) as out:
        for i in range(size_mb):
            out.write(_block(i))
        os.fsync(out.fileno())
    written = time.perf_counter() - started
    started = time.perf_counter()
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        while chunk := handle.read(MB):
            digest.update(chunk)
    read = time.perf_counter() - started
    path.unlink()
    return written, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-files-"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "OPENCONNECTOR_ADMIN_PASSWORD": "admin", "OPENCONNECTOR_SECRET_KEY": "bench"}
    env["OPENCONNECTOR_FILES_MAX_SIZE"] = f"{args.mb * 2}M"
    env.pop("OPENCONNECTOR_FILES_URL", None)
    cmd = [sys.executable, "-m", "openconnector.cli", "serve", "--no-scheduler", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--data-dir", str(data)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    results: list[dict[str, float]] = []
    baselines: list[tuple[float, float]] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)
        with httpx.Client(base_url=url, auth=("admin", "admin"), timeout=600) as client:
            client.post(f"{OR}/registers", json={"title": "Bench", "slug": "bench"}).raise_for_status()
            client.post(
                f"{OR}/schemas", json={"title": "Doc", "slug": "doc", "register": "bench"}
            ).raise_for_status()
            obj = client.post(f"{OR}/objects/bench/doc", json={"title": "x"}).json()
            files = f"{OR}/objects/bench/doc/{obj['id']}/files"
            for run in range(args.runs + 1):  # run 0 warms up
                size = args.mb if run else 8
                Path(f"/proc/{proc.pid}/clear_refs").write_text("5")
                start_rss = _memory(proc.pid, "VmRSS")
                sent = hashlib.sha256()
                started = time.perf_counter()
                made = client.post(
                    files,
                    content=_form(size, sent),
                    headers={"Content-Type": "multipart/form-data; boundary=bench"},
                )
                made.raise_for_status()
                up = time.perf_counter() - started
                received = hashlib.sha256()
                started = time.perf_counter()
                with client.stream("GET", made.json()["downloadUrl"]) as answer:
                    for chunk in answer.iter_raw():
                        received.update(chunk)
                down = time.perf_counter() - started
                assert received.hexdigest() == sent.hexdigest() == made.json()["hash"]
                grown = (_memory(proc.pid, "VmHWM") - start_rss) / MB
                client.delete(made.json()["accessUrl"]).raise_for_status()
                if run:
                    results.append({"up_mb_s": size / up, "down_mb_s": size / down, "grown_mb": grown})
                    baselines.append(_disk(data, size))
                    print(
                        f"run {run}: up {size / up:.0f} MB/s, down {size / down:.0f} MB/s, "
                        f"server +{grown:.1f} MB; disk write {size / baselines[-1][0]:.0f} MB/s, "
                        f"read {size / baselines[-1][1]:.0f} MB/s",
                        file=sys.stderr,
                    )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(data, ignore_errors=True)

    def median(key: str) -> float:
        return statistics.median(r[key] for r in results)

    disk_write = statistics.median(args.mb / w for w, _ in baselines)
    disk_read = statistics.median(args.mb / r for _, r in baselines)
    summary = {
        "mb": args.mb,
        "runs": args.runs,
        "upload_mb_s": round(median("up_mb_s"), 1),
        "download_mb_s": round(median("down_mb_s"), 1),
        "server_memory_growth_mb": round(max(r["grown_mb"] for r in results), 1),
        "disk_write_mb_s": round(disk_write, 1),
        "disk_read_mb_s": round(disk_read, 1),
        "upload_ratio": round(median("up_mb_s") / disk_write, 2),
        "download_ratio": round(median("down_mb_s") / disk_read, 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
