"""Benchmark: synchronisation throughput against a local paginated API.

    python bench/sync.py [--records 100000] [--page-size 1000] [--runs 3] [--postgres URL]
                         [--memory-records 1000000] [--no-dlt] [--unbulked]

A separate process serves N pet records in pages with next links. We measure, as
medians of ``--runs`` runs, records/s of

* a first run (everything created),
* an unchanged re-run (everything skipped),
* a run with 10% of the records changed,

for the tutorial's four-field Twig mapping into dcat/dataset, and in the same run a
plain-Python reference loop (httpx fetch, orjson parse, hash, executemany into a
SQLite table; no mapping, no validation, no contracts) and dlt's best configuration
(issue 18): a dlt resource fetching the same pages with httpx and yielding flat records
(id, name, status, category name) with a primary key and ``write_disposition="merge"``
into dlt's SQLAlchemy destination on a SQLite file (``pip install -e .[bench]``;
``--no-dlt`` leaves it out). ``--unbulked`` also times first runs without the bulk-load
techniques of issue 18 (property indexes kept during the load, one PostgreSQL writer,
every page's contracts looked up).
Each round runs every measurement once, in turn, starting one further along each round,
so a machine whose load changes, and the order, affect them alike. Peak memory (max RSS of a child process running one first run) is
reported for ``--memory-records``. One untimed reference loop warms the source and the
caches first; the last line printed is one JSON object.
Targets: first run >= 0.8x the reference, unchanged re-run >= 1.2x, peak memory <= 200 MB
with 1,000,000 records (issue 4); first run >= 5x dlt, PostgreSQL's >= SQLite's (issue 18).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import resource
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

MAPPING = {
    "title": "{{ name }}",
    "category": "{{ category.name }}",
    "status": "Published",
    "publicatiedatum": '{{ "now"|date("Y-m-d H:i:s") }}',
}
SCHEMA = {
    "title": "Dataset",
    "slug": "dataset",
    "required": ["title"],
    "properties": {
        "title": {"type": "string"},
        "category": {"type": "string"},
        "status": {"type": "string"},
        "publicatiedatum": {"type": "string", "format": "date-time"},
    },
}


# -- the source -----------------------------------------------------------------------------


def _serve(port: int, records: int, page_size: int, version: mp.Value) -> None:  # type: ignore[type-arg]
    """A tiny paginated pet API: /pets?page=N -> {"results": [...], "next": url|null}."""
    import uvicorn

    cache: dict[tuple[int, int], bytes] = {}

    def body(page: int) -> bytes:
        key = (page, version.value)
        if key not in cache:
            start = (page - 1) * page_size
            items = []
            for i in range(start + 1, min(start + page_size, records) + 1):
                name = f"Pet {i}" + (f" v{version.value}" if version.value and i % 10 == 0 else "")
                items.append(
                    {
                        "id": i,
                        "name": name,
                        "status": "available",
                        "category": {"id": i % 3, "name": ("Dogs", "Cats", "Birds")[i % 3]},
                        "photoUrls": [],
                        "tags": [],
                    }
                )
            nxt = f"http://127.0.0.1:{port}/pets?page={page + 1}" if start + page_size < records else None
            cache.clear() if len(cache) > 4096 else None
            cache[key] = orjson.dumps({"count": records, "next": nxt, "results": items})
        return cache[key]

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
        payload = body(int(query.get("page", "1")))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Source:
    def __init__(self, records: int, page_size: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.version = mp.Value("i", 0)
        self.proc = mp.Process(target=_serve, args=(self.port, records, page_size, self.version), daemon=True)
        self.proc.start()
        for _ in range(100):
            try:
                httpx.get(f"{self.url}/pets?page=1", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("source did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()


# -- the reference loop ------------------------------------------------------------------------


def reference_loop(url: str, path: Path) -> int:
    """httpx fetch, orjson parse, hash, executemany into SQLite: the floor of any sync."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (origin TEXT PRIMARY KEY, hash TEXT, body TEXT)")
    count = 0
    with httpx.Client() as client:
        nxt: str | None = f"{url}/pets?page=1"
        while nxt:
            data = orjson.loads(client.get(nxt).content)
            rows = []
            for record in data["results"]:
                raw = orjson.dumps(record, option=orjson.OPT_SORT_KEYS)
                rows.append((str(record["id"]), hashlib.blake2b(raw, digest_size=16).hexdigest(), raw))
            with conn:
                conn.executemany("INSERT OR REPLACE INTO t VALUES (?, ?, ?)", rows)
            count += len(rows)
            nxt = data.get("next")
    conn.close()
    return count


def dlt_first_run(url: str, path: Path) -> float:
    """Records/s of dlt loading the source into a SQLite file: a flat table, a primary key,
    ``write_disposition="merge"`` (the fastest of the configurations tried on this machine).
    The resource maps the records as the engine's mapping does (``category.name``)."""
    import warnings

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no calls home from a benchmark
    import dlt

    warnings.filterwarnings("ignore", module="dlt")

    @dlt.resource(name="pets", primary_key="id", write_disposition="merge")
    def pets():  # type: ignore[no-untyped-def]
        with httpx.Client() as client:
            nxt: str | None = f"{url}/pets?page=1"
            while nxt:
                data = orjson.loads(client.get(nxt).content)
                yield [
                    {
                        "id": r["id"],
                        "name": r["name"],
                        "status": r["status"],
                        "category": r["category"]["name"],
                    }
                    for r in data["results"]
                ]
                nxt = data.get("next")

    pipeline = dlt.pipeline(
        pipeline_name="bench",
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{path / 'dlt.db'}"),
        dataset_name="main",
        pipelines_dir=str(path / "pipelines"),
    )
    started = time.perf_counter()
    pipeline.run(pets())
    elapsed = time.perf_counter() - started
    with sqlite3.connect(path / "dlt.db") as conn:
        loaded = conn.execute("SELECT count(*) FROM pets").fetchone()[0]
    return loaded / elapsed


def storage_floor(records: int, page_size: int) -> float:
    """Records/s of only the writes a first run must make on SQLite: per record an object row
    and a contract row with their indexes, as the very statements the run's writer thread
    executes (built in advance), one transaction per page. No fetching, parsing, hashing,
    mapping or validation: no synchronisation on SQLite can be faster."""
    from openconnector.connector.contracts import ContractStore
    from openconnector.register.objects import ObjectBatch, ObjectService
    from openconnector.store.ids import new_uuids
    from openconnector.store.statements import run_statements

    with tempfile.TemporaryDirectory() as tmp:
        context, sync = setup(tmp, "http://127.0.0.1:9", None)
        register, schema = ObjectService(context).resolve("dcat", "dataset")
        contracts = ContractStore(sync["id"])
        now = "2026-11-29T12:00:00.000000+00:00"
        pages = []
        for start in range(0, records, page_size):
            ids = range(start + 1, min(start + page_size, records) + 1)
            uuids = new_uuids(len(ids))
            objects = [(u, _floor_object(i)) for u, i in zip(uuids, ids, strict=True)]
            shared = ObjectBatch.shared_of(register, schema, None, now)
            new = [(str(i), "0" * 32, u) for u, i in zip(uuids, ids, strict=True)]
            pages.append(
                ObjectBatch([], objects, [], shared).statements("sqlite")
                + contracts.write_statements("sqlite", new, [], "1" * 32, now, None)
            )
        started = time.perf_counter()
        for statements in pages:
            with context.db.begin() as conn:
                run_statements(conn, statements)
        elapsed = time.perf_counter() - started
        context.close()
        return records / elapsed


def _floor_object(i: int) -> dict[str, str]:
    return {
        "title": f"Pet {i}",
        "category": ("Dogs", "Cats", "Birds")[i % 3],
        "status": "Published",
        "publicatiedatum": "2026-11-29T12:00:00+00:00",
    }


# -- openconnector -----------------------------------------------------------------------------


def setup(data_dir: str, url: str, database_url: str | None) -> tuple[object, dict]:
    from openconnector.context import Context, set_context
    from openconnector.register.objects import ObjectService
    from openconnector.register.registers import RegisterService
    from openconnector.store.settings import Settings

    context = Context(Settings(data_dir=Path(data_dir), database_url=database_url, secret_key="bench"))
    set_context(context)
    registers = RegisterService(context)
    registers.create_register({"title": "DCAT", "slug": "dcat"})
    registers.create_schema(dict(SCHEMA), register="dcat")
    objects = ObjectService(context)
    source = objects.save_object({"name": "Bench", "type": "api", "location": url}, "openconnector", "source")
    mapping = objects.save_object({"name": "Pet to dataset", "mapping": MAPPING}, "openconnector", "mapping")
    sync = objects.save_object(
        {
            "name": "Bench sync",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "/pets?page=1", "resultsPosition": "results", "maxPages": 100000},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
        "openconnector",
        "synchronization",
    )
    return context, sync


def timed_sync(sync: dict) -> tuple[float, dict]:
    from openconnector.connector.sync import SynchronizationService

    service = SynchronizationService()
    started = time.perf_counter()
    log = service.synchronize(sync)
    elapsed = time.perf_counter() - started
    service.calls.close()
    if log["status"] != "success":
        raise RuntimeError(log["message"])
    return elapsed, log["result"]["objects"]


def fresh_database(postgres: str | None) -> str | None:
    if not postgres:
        return None
    from sqlalchemy import create_engine, text

    name = f"oc_bench_{os.getpid()}_{int(time.time() * 1000) % 10**8}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return postgres.rsplit("/", 1)[0] + f"/{name}"


def drop_database(postgres: str | None, url: str | None) -> None:
    """Drop a database ``fresh_database`` made."""
    if not postgres or not url:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def first_run_unbulked(source: Source, pg: str | None, records: int) -> float:
    """A first run with issue 18's bulk-load techniques off: the property indexes kept during
    the load, one writer on PostgreSQL, every page's contracts looked up (no ``FirstRun``).
    Relaxed commits and the narrower ``ANALYZE`` stay on."""
    from openconnector.connector import sync as sync_module
    from openconnector.connector.contracts import ContractStore
    from openconnector.register import bulk

    saved = bulk.MIN_ROWS, sync_module.PG_WRITERS, ContractStore.first_run
    bulk.MIN_ROWS, sync_module.PG_WRITERS = 10**12, 1
    ContractStore.first_run = lambda self, conn: None  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source.version.value = 0
            url = fresh_database(pg)
            context, sync = setup(tmp, source.url, url)
            elapsed, counts = timed_sync(sync)
            assert counts["created"] == records, counts
            context.close()
            drop_database(pg, url)
        return records / elapsed
    finally:
        bulk.MIN_ROWS, sync_module.PG_WRITERS, ContractStore.first_run = saved  # type: ignore[method-assign]


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's ``VmHWM``, not ``ru_maxrss``: a child started by fork and exec inherits the
    parent's peak in ``ru_maxrss``, so a child of this benchmark reported the size of the
    benchmark that started it (160-220 MB) instead of its own.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_child(records: int, page_size: int) -> None:
    """Run one first run over ``records`` records and print the peak RSS (MB)."""
    source = Source(records, page_size)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _, sync = setup(tmp, source.url, None)
            elapsed, counts = timed_sync(sync)
            peak = peak_rss_mb()
            print(
                json.dumps(
                    {
                        "records": records,
                        "seconds": round(elapsed, 1),
                        "created": counts["created"],
                        "peak_mb": round(peak, 1),
                    }
                )
            )
    finally:
        source.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--postgres", default=None, help="also run on this PostgreSQL URL (a database is created)"
    )
    parser.add_argument("--memory-records", type=int, default=0, help="peak-memory run size (0 = skip)")
    parser.add_argument("--no-dlt", action="store_true", help="leave dlt's first run out")
    parser.add_argument(
        "--unbulked", action="store_true", help="also time first runs without the bulk-load techniques"
    )
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.records, args.page_size)
        return

    source = Source(args.records, args.page_size)
    summary: dict[str, object] = {"records": args.records, "page_size": args.page_size, "runs": args.runs}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            reference_loop(
                source.url, Path(tmp) / "warm.db"
            )  # warm-up (the source's page cache too), untimed
        ref = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                n = reference_loop(source.url, Path(tmp) / "ref.db")
                ref.append(n / (time.perf_counter() - started))
        ref_rate = statistics.median(ref)
        print(
            f"reference loop (httpx+orjson+hash+executemany): {ref_rate:,.0f} records/s  runs={[round(r) for r in ref]}"
        )
        summary["reference_records_per_s"] = round(ref_rate)
        floor = statistics.median(storage_floor(args.records, args.page_size) for _ in range(args.runs))
        print(
            f"storage floor (object + contract rows with their indexes, SQLite only): {floor:,.0f} records/s "
            f"({floor / ref_rate:.2f}x reference)"
        )
        summary["storage_floor_records_per_s"] = round(floor)
        backends = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
        rates: dict[str, dict[str, list[float]]] = {label: {} for label, _ in backends}
        dlt_rates: list[float] = []

        def dlt_round(run: int) -> None:
            with tempfile.TemporaryDirectory() as tmp:
                dlt_rates.append(dlt_first_run(source.url, Path(tmp)))

        def engine_round(run: int, label: str, pg: str | None) -> None:
            got = rates[label]
            with tempfile.TemporaryDirectory() as tmp:
                source.version.value = 0
                url = fresh_database(pg)
                context, sync = setup(tmp, source.url, url)
                elapsed, counts = timed_sync(sync)
                assert counts["created"] == args.records, counts
                got.setdefault("first_run", []).append(args.records / elapsed)
                elapsed, counts = timed_sync(sync)
                assert counts["skipped"] == args.records, counts
                got.setdefault("unchanged_rerun", []).append(args.records / elapsed)
                source.version.value = run + 1
                elapsed, counts = timed_sync(sync)
                assert counts["updated"] == args.records // 10, counts
                got.setdefault("ten_percent_changed", []).append(args.records / elapsed)
                context.close()
                drop_database(pg, url)

        def unbulked_round(run: int, label: str, pg: str | None) -> None:
            rates[label].setdefault("first_run_unbulked", []).append(
                first_run_unbulked(source, pg, args.records)
            )

        steps: list[Any] = [] if args.no_dlt else [dlt_round]
        for label, pg in backends:
            steps.append(lambda run, label=label, pg=pg: engine_round(run, label, pg))
            if args.unbulked:
                steps.append(lambda run, label=label, pg=pg: unbulked_round(run, label, pg))
        for run in range(args.runs):  # rounds: each measurement once, the order rotated per round
            shift = run % len(steps)
            for step in steps[shift:] + steps[:shift]:
                step(run)
        dlt_rate = statistics.median(dlt_rates) if dlt_rates else None
        if dlt_rate:
            print(
                f"dlt (sqlite, flat table, primary key, merge): {dlt_rate:,.0f} records/s  runs={[round(r) for r in dlt_rates]}"
            )
            summary["dlt_records_per_s"] = round(dlt_rate)
            summary["dlt_runs"] = [round(r) for r in dlt_rates]
        for label, _ in backends:
            medians = {name: statistics.median(values) for name, values in rates[label].items()}
            summary[label] = {}
            for name, rate in medians.items():
                versus = f", {rate / dlt_rate:.2f}x dlt" if dlt_rate and name.startswith("first_run") else ""
                print(
                    f"{label:10s} {name:20s} {rate:10,.0f} records/s  ({rate / ref_rate:.2f}x reference{versus})"
                    f"  runs={[round(r) for r in rates[label][name]]}"
                )
                entry = {
                    "records_per_s": round(rate),
                    "ratio_to_reference": round(rate / ref_rate, 2),
                    "runs": [round(r) for r in rates[label][name]],
                }
                if dlt_rate and name.startswith("first_run"):
                    entry["ratio_to_dlt"] = round(rate / dlt_rate, 2)
                summary[label][name] = entry
        if args.postgres:
            ratio = (
                summary["postgresql"]["first_run"]["records_per_s"]
                / summary["sqlite"]["first_run"]["records_per_s"]
            )
            print(f"PostgreSQL first run / SQLite first run: {ratio:.2f}")
            summary["postgresql_to_sqlite_first_run"] = round(ratio, 2)
    finally:
        source.stop()
    if args.memory_records:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--memory-child",
                "--records",
                str(args.memory_records),
                "--page-size",
                str(args.page_size),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        memory = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"peak memory with {memory['records']:,} records: {memory['peak_mb']} MB "
            f"({memory['seconds']} s, {memory['created']:,} created)"
        )
        summary["memory"] = memory
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
