"""Benchmark of endpoints (issue 14): a plain register/schema endpoint against the
register's own routes, on 100,000 datasets in SQLite, in the same run.

Not a test. Fills a fresh SQLite file (``ObjectService.save_objects``, batches of
1000), creates the endpoints ``datasets`` (GET, POST) and ``datasets/{{id}}`` (GET),
starts a real uvicorn server on 127.0.0.1 and, per round, measures each operation on
both routes back to back (so load on the machine hits both alike):

    list    GET  /api/endpoint/datasets?_limit=20      vs  GET  /openregister/api/objects/dcat/dataset?_limit=20
    get     GET  /api/endpoint/datasets/{uuid}         vs  GET  /openregister/api/objects/dcat/dataset/{uuid}
    create  POST /api/endpoint/datasets                vs  POST /openregister/api/objects/dcat/dataset

Requests/s, p50 and p95 per operation and route are the medians over the rounds;
``ratio_p50`` is endpoint p50 / register p50 (target: at most 1.10). The register's
routes use Basic auth (verification is cached), the endpoints are anonymous. The
last line printed is a JSON summary::

    python bench/endpoints.py                              # 100,000 datasets, 3 rounds of 5 s
    python bench/endpoints.py --count 20000 --duration 3   # a busy machine
    python bench/endpoints.py --keep /tmp/bench-ep         # reuse the filled database next time
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from openconnector.connector.entities import EntityService
from openconnector.context import Context
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService
from openconnector.store.settings import Settings

REGISTER = "/index.php/apps/openregister/api/objects/dcat/dataset"
ENDPOINT = "/index.php/apps/openconnector/api/endpoint/datasets"
WORDS = [
    "annual",
    "report",
    "harbour",
    "traffic",
    "counts",
    "budget",
    "permits",
    "trees",
    "noise",
    "water",
    "parking",
    "schools",
]
CATEGORIES = ["Verkeer", "Milieu", "Onderwijs", "Zorg", "Wonen", "Energie", "Sport", "Cultuur"]


def fill(context: Context, count: int) -> float:
    registers = RegisterService(context)
    registers.create_register({"title": "DCAT register", "slug": "dcat"})
    registers.create_schema(
        {
            "title": "Dataset",
            "slug": "dataset",
            "required": ["title"],
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "description": {"type": "string"},
                "category": {"type": "string"},
                "status": {"type": "string", "enum": ["Concept", "Published"]},
            },
        },
        register="dcat",
    )
    objects = ObjectService(context)
    rnd = random.Random(14)
    started = time.perf_counter()
    for start in range(0, count, 1000):
        objects.save_objects(
            [
                {
                    "title": " ".join(rnd.sample(WORDS, 3)).capitalize() + f" {n}",
                    "description": " ".join(rnd.choices(WORDS, k=12)),
                    "category": rnd.choice(CATEGORIES),
                    "status": "Published",
                }
                for n in range(start, min(start + 1000, count))
            ],
            "dcat",
            "dataset",
        )
    with context.db.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    endpoints = EntityService("endpoint", context)
    for name, pattern, method in (
        ("Datasets", "datasets", "GET"),
        ("Dataset", "datasets/{{id}}", "GET"),
        ("New dataset", "datasets", "POST"),
    ):
        endpoints.create(
            {
                "name": name,
                "endpoint": pattern,
                "method": method,
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            }
        )
    return time.perf_counter() - started


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn\n"
        "from openconnector.api.app import create_app\n"
        "from openconnector.context import Context\n"
        "from openconnector.store.settings import Settings\n"
        f"settings = Settings(data_dir={str(data_dir)!r}, scheduler=False, admin_password='admin')\n"
        "app = create_app(Context(settings))\n"
        f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning', access_log=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def load(
    base: str, op: str, route: str, ids: list[str], connections: int, duration: float
) -> dict[str, float]:
    """``connections`` clients sending ``op`` to ``route`` for ``duration`` seconds."""
    timings: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + duration
    auth = ("admin", "admin") if route == "register" else None
    url = f"{base}{REGISTER if route == 'register' else ENDPOINT}"

    def worker(seed: int) -> None:
        nonlocal errors
        rnd = random.Random(seed)
        with httpx.Client(timeout=30, auth=auth) as client:
            n = 0
            while time.monotonic() < stop:
                n += 1
                started = time.perf_counter()
                if op == "list":
                    answer = client.get(url, params={"_limit": 20, "_page": rnd.randrange(1, 50)})
                elif op == "get":
                    answer = client.get(f"{url}/{rnd.choice(ids)}")
                else:
                    answer = client.post(
                        url, json={"title": f"Bench {route} {seed}-{n}", "status": "Concept"}
                    )
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    timings.append(elapsed)
                    errors += answer.status_code >= 400

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings.sort()
    return {
        "rps": round(len(timings) / (time.monotonic() - began), 1),
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95)], 2),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=1)
    parser.add_argument("--port", type=int, default=8767)
    parser.add_argument("--keep", type=Path, help="data directory to keep (and reuse when filled)")
    args = parser.parse_args()

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="oc-bench-endpoints-"))
    context = Context(Settings(data_dir=data_dir, scheduler=False))
    fill_seconds = None
    try:
        existing = ObjectService(context).count("dcat", "dataset")
    except Exception:
        existing = 0
    if existing < args.count:
        if existing:
            raise SystemExit(f"{data_dir} holds {existing} datasets, not {args.count}; use another --keep")
        fill_seconds = fill(context, args.count)
        print(f"filled {args.count} datasets in {fill_seconds:.1f} s", file=sys.stderr)
    ids = [o["id"] for o in ObjectService(context).find_all("dcat", "dataset", limit=1000)["results"]]
    server = start_server(data_dir, args.port)
    base = f"http://127.0.0.1:{args.port}"
    rounds: dict[str, list[dict[str, float]]] = {}
    try:
        for op in ("list", "get", "create"):  # warm up both routes
            load(base, op, "register", ids, 1, 0.5)
            load(base, op, "endpoint", ids, 1, 0.5)
        for number in range(args.rounds):
            for op in ("list", "get", "create"):
                order = ("register", "endpoint") if number % 2 == 0 else ("endpoint", "register")
                for route in order:
                    result = load(base, op, route, ids, args.connections, args.duration)
                    rounds.setdefault(f"{op}/{route}", []).append(result)
                    print(f"round {number + 1} {op:6} {route:8} {result}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
        context.close()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    summary: dict[str, Any] = {}
    for key, runs in rounds.items():
        summary[key] = {k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p95_ms")}
        summary[key]["errors"] = sum(r["errors"] for r in runs)
    ratios = {
        op: round(summary[f"{op}/endpoint"]["p50_ms"] / summary[f"{op}/register"]["p50_ms"], 3)
        for op in ("list", "get", "create")
    }
    print(
        json.dumps(
            {
                "bench": "endpoints",
                "datasets": args.count,
                "database": "sqlite",
                "duration_s": args.duration,
                "rounds": args.rounds,
                "connections": args.connections,
                "cpus": os.cpu_count(),
                "load_1m": round(os.getloadavg()[0], 2),
                "fill_seconds": round(fill_seconds, 1) if fill_seconds else None,
                "results": summary,
                "ratio_p50_endpoint_vs_register": ratios,
                "target": {"ratio_at_most": 1.10, "met": all(r <= 1.10 for r in ratios.values())},
            }
        )
    )


if __name__ == "__main__":
    main()
