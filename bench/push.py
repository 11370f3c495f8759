"""Benchmark of push synchronisations through the outbox (issue 15).

Not a test. On a fresh database (SQLite by default, PostgreSQL with ``--database-url``)
with a push synchronisation to a receiving API on 127.0.0.1:

    write     ``ObjectService.save_object`` per object, with and without a push
              synchronisation on the schema: the outbox's cost per write (%)
    deliver   ``--changes`` object creates written at ``--rate`` per second (0: as fast
              as possible) while ``--workers`` deliverers send them: events/s from the
              first write to the last delivery, and lag from each object's commit to its
              arrival at the receiver (p50, p95). The deliverers run as threads of the
              writing process (as in ``openconnector serve``), or with ``--processes`` each
              in a process of its own (as ``openconnector worker`` on PostgreSQL, woken by
              ``LISTEN``/``NOTIFY``)
    baseline  a plain loop POSTing the same bodies to the same receiver with httpx

Each figure is the median of ``--runs`` runs. The last line printed is JSON::

    python bench/push.py                              # 2,000 changes, SQLite, 3 runs
    python bench/push.py --changes 10000 --rate 100 --database-url postgresql+psycopg://postgres@127.0.0.1/bench
    python bench/push.py --changes 10000 --rate 100 --workers 2 --processes \
        --database-url postgresql+psycopg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from openconnector.connector import outbox
from openconnector.context import Context
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService
from openconnector.store.settings import Settings


class Receiver:
    """Answers every POST with a new id and notes when each body arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.count = 0
        lock = threading.Lock()
        me = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with lock:
                    me.count += 1
                    made = me.count
                    me.arrived.setdefault(str(body.get("name")), time.time())
                data = json.dumps({"id": made}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def fresh_database(server_url: str | None) -> str | None:
    """A new empty PostgreSQL database on the server of ``server_url`` (None: SQLite)."""
    if not server_url:
        return None
    import sqlalchemy

    name = f"bench_push_{int(time.time() * 1000)}"
    engine = sqlalchemy.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    engine.dispose()
    return server_url.rsplit("/", 1)[0] + "/" + name


def _settings(data: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=data, database_url=database_url, secret_key="bench", admin_password="a", scheduler=False
    )


def setup(server_url: str | None, receiver: Receiver, push: bool) -> Context:
    data = Path(tempfile.mkdtemp(prefix="bench-push-"))
    database_url = fresh_database(server_url)
    context = Context(_settings(data, database_url))
    registers = RegisterService(context)
    registers.create_register({"title": "Bench", "slug": "bench"})
    registers.create_schema(
        {"title": "Item", "slug": "item", "properties": {"name": {"type": "string"}}}, register="bench"
    )
    if push:
        objects = ObjectService(context)
        target = objects.save_object(
            {"name": "Receiver", "type": "api", "location": receiver.url, "auth": "none"},
            "openconnector",
            "source",
        )
        objects.save_object(
            {
                "name": "Out",
                "sourceType": "register/schema",
                "sourceId": "bench/item",
                "targetType": "api",
                "targetId": target["id"],
                "targetConfig": {"endpoint": "/items"},
            },
            "openconnector",
            "synchronization",
        )
    return context


def write_cost(database_url: str | None, receiver: Receiver, count: int) -> dict[str, float]:
    """Seconds per save without and with a push synchronisation (nothing delivered meanwhile):
    two databases, written to in alternating batches of 5 so both see the same machine load
    (other work on a shared machine comes and goes); the median batch of each."""
    contexts = {"without": setup(database_url, receiver, False), "with": setup(database_url, receiver, True)}
    spent: dict[str, list[float]] = {"without": [], "with": []}
    size = 5
    for context in contexts.values():  # warm-up: caches, prepared statements
        for i in range(50):
            ObjectService(context).save_object({"name": f"warm-{i}"}, "bench", "item")
    for batch in range(max(1, count // size)):
        for key, context in contexts.items() if batch % 2 else reversed(contexts.items()):
            objects = ObjectService(context)
            started = time.perf_counter()
            for i in range(size):
                objects.save_object({"name": f"w{batch}-{i}"}, "bench", "item")
            spent[key].append((time.perf_counter() - started) / size)
    for context in contexts.values():
        context.close()
    return {k: statistics.median(v) for k, v in spent.items()}


WORKER = """
import signal, sys
from pathlib import Path
from openconnector.connector.outbox import OutboxDeliverer
from openconnector.context import Context
from openconnector.store.settings import Settings

settings = Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2] or None, secret_key="bench",
                    admin_password="a", scheduler=False)
deliverer = OutboxDeliverer(Context(settings)).start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes it
deliverer.stop()
"""


class Deliverers:
    """``count`` deliverers: threads of this process, or processes of their own."""

    def __init__(self, context: Context, count: int, processes: bool) -> None:
        self.threads: list[outbox.OutboxDeliverer] = []
        self.processes: list[subprocess.Popen[str]] = []
        for _ in range(count):
            if not processes:
                self.threads.append(outbox.OutboxDeliverer(context).start())
                continue
            settings = context.settings
            process = subprocess.Popen(
                [sys.executable, "-c", WORKER, str(settings.data_dir), settings.database_url or ""],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ},
            )
            assert process.stdout is not None and process.stdout.readline().strip() == "ready"
            self.processes.append(process)

    def stop(self) -> None:
        for deliverer in self.threads:
            deliverer.stop()
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.close()
            process.wait(timeout=30)


def deliver(
    context: Context, changes: int, rate: float, workers: int, processes: bool, receiver: Receiver, run: int
) -> dict[str, float]:
    objects = ObjectService(context)
    committed: dict[str, float] = {}
    for i in range(20):  # warm-up: the first events of a run plan the synchronisation
        objects.save_object({"name": f"r{run}-warm-{i}"}, "bench", "item")
    deliverers = Deliverers(context, workers, processes)
    deadline = time.time() + 60
    while not all(f"r{run}-warm-{i}" in receiver.arrived for i in range(20)) and time.time() < deadline:
        time.sleep(0.05)
    started = time.time()
    try:
        for i in range(changes):
            name = f"r{run}-{i}"
            if rate:
                pause = started + i / rate - time.time()
                if pause > 0:
                    time.sleep(pause)
            objects.save_object({"name": name}, "bench", "item")
            committed[name] = time.time()
        deadline = time.time() + 600
        while not all(n in receiver.arrived for n in committed) and time.time() < deadline:
            time.sleep(0.05)
    finally:
        deliverers.stop()
    lags = sorted(receiver.arrived[n] - at for n, at in committed.items() if n in receiver.arrived)
    last = max(receiver.arrived[n] for n in committed if n in receiver.arrived)
    return {
        "events_per_s": len(lags) / (last - started),
        "lag_p50": lags[len(lags) // 2],
        "lag_p95": lags[int(len(lags) * 0.95) - 1],
        "lost": changes - len(lags),
    }


def baseline(receiver: Receiver, changes: int, run: int) -> float:
    with httpx.Client() as client:
        started = time.perf_counter()
        for i in range(changes):
            client.post(f"{receiver.url}/items", json={"name": f"b{run}-{i}"}).raise_for_status()
        return changes / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=2000, help="0: measure the write cost only")
    parser.add_argument("--rate", type=float, default=0.0, help="changes per second; 0: as fast as possible")
    parser.add_argument("--workers", type=int, default=1, help="deliverers (each sends 4 events at once)")
    parser.add_argument(
        "--processes", action="store_true", help="each deliverer in a process of its own (PostgreSQL)"
    )
    parser.add_argument("--writes", type=int, default=2000, help="saves per write-cost measurement")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server URL: each measurement gets a new database on it",
    )
    args = parser.parse_args()
    receiver = Receiver()
    runs: dict[str, list[float]] = {}
    for run in range(args.runs):
        cost = write_cost(args.database_url, receiver, args.writes)
        measured: dict[str, float] = {}
        if args.changes:  # --changes 0: the write cost alone
            context = setup(args.database_url, receiver, True)
            measured = deliver(context, args.changes, args.rate, args.workers, args.processes, receiver, run)
            context.close()
            measured["baseline_posts_per_s"] = baseline(receiver, args.changes, run)
            measured["events_vs_baseline"] = measured["events_per_s"] / measured["baseline_posts_per_s"]
        measured["write_ms_without"] = cost["without"] * 1000
        measured["write_ms_with"] = cost["with"] * 1000
        measured["write_overhead_pct"] = (cost["with"] / cost["without"] - 1) * 100
        print(f"run {run + 1}: " + ", ".join(f"{k} {v:.3f}" for k, v in measured.items()), flush=True)
        for key, value in measured.items():
            runs.setdefault(key, []).append(value)
    summary = {k: round(statistics.median(v), 4) for k, v in runs.items()}
    summary.update(
        changes=args.changes,
        rate=args.rate,
        workers=args.workers,
        processes=args.processes,
        runs=args.runs,
        database="postgresql" if args.database_url else "sqlite",
    )
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
