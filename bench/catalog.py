"""Benchmark of the public catalog API (issues 7 and 18): 100,000 datasets on SQLite or PostgreSQL.

Not a test. Fills a fresh SQLite file (or the empty PostgreSQL database named by
``--database-url``) through ``openconnector init woo`` and
``ObjectService.save_objects`` (batches of 1000), starts a real uvicorn server
on 127.0.0.1 and measures three public queries with the load generator named by
``--loader``: ``httpx`` (default; one thread per connection, each with its own
keep-alive ``httpx.Client``, a closed loop: a new request as soon as the last
answer arrived) or ``wrk`` (``-t min(c, 2)``, the same closed loop in C). The
named tool must be there: the script stops rather than fall back to the other.
Each line and the JSON summary say which client and how many connections.

    list    GET /api/publications                          (a page of 20)
    search  GET /api/publications?_search=harbour          (full-text, ranked; the word is in ~54 %)
    facet   GET /api/publications?_facets[category][type]=terms

For each: requests/s, p50 and p95 latency, median of 3 runs, per concurrency
level; plus, in-process, the query as the route runs it (``CatalogService.publications``)
against the way it was answered before issue 18 (the baseline, same data, same run):
the list with an exact count, the search as the old substring scan (``LIKE`` over the
document, then over each string property), the facet read from each published row's
JSON. The last line printed is a JSON summary::

    python bench/catalog.py                      # 100,000 datasets, c=1 and c=8, 10 s per run
    python bench/catalog.py --count 20000 --duration 3 --connections 1
    python bench/catalog.py --keep /tmp/bench-data   # reuse the filled database next time
    python bench/catalog.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from openconnector.catalog.service import DEFAULT_SLUG, CatalogService
from openconnector.catalog.woo import install_woo
from openconnector.context import Context
from openconnector.register.objects import ObjectService
from openconnector.register.search import parse_params
from openconnector.store.settings import Settings

API = "/index.php/apps/opencatalogi/api/publications"
QUERIES = {
    "list": [],
    "search": [("_search", "harbour")],
    "facet": [("_facets[category][type]", "terms")],
}
CATEGORIES = [
    "Dogs",
    "Cats",
    "Birds",
    "Rabbits",
    "Fish",
    "Verkeer",
    "Milieu",
    "Onderwijs",
    "Zorg",
    "Wonen",
    "Energie",
    "Sport",
    "Cultuur",
    "Economie",
    "Bestuur",
    "Veiligheid",
]
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
    "waste",
    "energy",
    "bridges",
    "events",
    "housing",
    "air",
    "quality",
    "parks",
]
LUA = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %f %f %f %d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
"""


def fill(context: Context, count: int) -> float:
    """Insert ``count`` datasets: 90 % published, 5 % future, 5 % without date. Returns seconds."""
    install_woo(context)
    objects = ObjectService(context)
    rnd = random.Random(7)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.perf_counter()
    for start in range(0, count, 1000):
        batch = []
        for n in range(start, min(start + 1000, count)):
            roll = rnd.random()
            item: dict[str, Any] = {
                "title": " ".join(rnd.sample(WORDS, 3)).capitalize() + f" {n}",
                "description": " ".join(rnd.choices(WORDS, k=12)),
                "category": rnd.choice(CATEGORIES),
                "status": "Published",
                "keywords": rnd.sample(WORDS, 2),
            }
            if roll < 0.90:
                item["publicatiedatum"] = (now - timedelta(minutes=rnd.randrange(1, 2_000_000))).isoformat()
            elif roll < 0.95:
                item["publicatiedatum"] = (now + timedelta(days=rnd.randrange(1, 400))).isoformat()
            batch.append(item)
        objects.save_objects(batch, "dcat", "dataset")
    return time.perf_counter() - started


def timed(action: Callable[[], object], seconds: float = 5.0) -> dict[str, float]:
    """p50 and p95 of ``action`` repeated for ``seconds`` (10 to 200 times), after one untimed call."""
    action()
    timings: list[float] = []
    stop = time.monotonic() + seconds
    while len(timings) < 200 and (len(timings) < 10 or time.monotonic() < stop):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(timings[int(len(timings) * 0.95)], 2),
    }


def in_process(context: Context, name: str, params: list[tuple[str, str]]) -> dict[str, Any]:
    """The query as the public route runs it, and as it was answered before issue 18, in this process."""
    service = CatalogService(context)
    objects = ObjectService(context)
    schema = context_schema(context)
    now = timed(lambda: service.publications(DEFAULT_SLUG, params))

    def before() -> object:
        visible = service.visible(schema)
        if name == "search":
            query = parse_params([p for p in params if p[0] != "_search"])
            clause = substring_scan(schema, context, dict(params)["_search"])
            return objects.find_all("dcat", "dataset", query=query, extra_where=[visible, clause])
        if name == "facet":
            return json_facet(context, schema, visible)
        return objects.find_all("dcat", "dataset", query=parse_params(params), extra_where=[visible])

    baseline = timed(before)
    return {
        "now": now,
        "before": baseline,
        "speedup_p50": round(baseline["p50_ms"] / now["p50_ms"], 1),
    }


def substring_scan(schema: dict[str, Any], context: Context, term: str) -> Any:
    """The ``_search`` clause before issue 18: ``LIKE`` over the raw document, then over
    each string property (the baseline; kept here, not in the code)."""
    from sqlalchemy import and_, literal_column, or_

    from openconnector.register.search import SqlBuilder

    builder = SqlBuilder(schema, context.db.engine.dialect.name, context.settings.timezone)
    pattern = f"%{term}%"
    names = [
        n
        for n, p in builder.props.items()
        if isinstance(p, dict)
        and p.get("type", "string") == "string"
        and p.get("format") not in ("date", "date-time", "time", "uri", "email")
    ]
    document = literal_column("objects.object" if builder.sqlite else "(objects.object::text)")
    return and_(document.ilike(pattern), or_(*[builder.expr(n).ilike(pattern) for n in names]))


def json_facet(context: Context, schema: dict[str, Any], visible: Any) -> list[Any]:
    """The category facet read from each published row's JSON (the path written so that no
    index matches it): what the facet cost before its indexes covered the publication date."""
    from sqlalchemy import func, literal_column, select

    from openconnector.store import tables as t

    sqlite = context.db.engine.dialect.name == "sqlite"
    key = literal_column(
        "json_extract(objects.object, '$.category')" if sqlite else "(objects.object -> 'category')"
    )
    ids = ObjectService(context).registers.get_register("dcat")["id"], schema["id"]
    with context.db.connect() as conn:
        return conn.execute(
            select(key.label("k"), func.count().label("n"))
            .where(
                t.objects.c.register_id == ids[0], t.objects.c.schema_id == ids[1], visible, key.isnot(None)
            )
            .group_by(key)
            .order_by(func.count().desc(), key)
            .limit(200)
        ).all()


def context_schema(context: Context) -> dict[str, Any]:
    from openconnector.register.registers import RegisterService

    registers = RegisterService(context)
    return registers.get_schema("dataset", register=registers.get_register("dcat"))


def start_server(
    data_dir: Path, port: int, workers: int, database_url: str | None = None
) -> subprocess.Popen[bytes]:
    code = (
        "import uvicorn, sys\n"
        "from openconnector.api.app import create_app\n"
        "from openconnector.context import Context\n"
        "from openconnector.store.settings import Settings\n"
        f"settings = Settings(data_dir={str(data_dir)!r}, scheduler=False, admin_password='admin', "
        f"database_url={database_url!r})\n"
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


def load_wrk(url: str, connections: int, duration: float, script: Path) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{min(connections, 2)}",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "60s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("RESULT"))
    requests, seconds, p50, p95, errors = line.split()[1:]
    return {
        "rps": round(int(requests) / float(seconds), 1),
        "p50_ms": round(float(p50), 2),
        "p95_ms": round(float(p95), 2),
        "errors": int(errors),
    }


def load_httpx(url: str, connections: int, duration: float) -> dict[str, float]:
    timings: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def worker() -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                started = time.perf_counter()
                ok = client.get(url).status_code == 200
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    timings.append(elapsed)
                    errors += not ok

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
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
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", type=Path, help="data directory to keep (and reuse when filled)")
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL database to run on instead of SQLite (filled when empty, reused when filled)",
    )
    parser.add_argument(
        "--loader", choices=["httpx", "wrk"], default="httpx", help="the load generator (no fallback)"
    )
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="skip ANALYZE (VACUUM ANALYZE on PostgreSQL) after filling",
    )
    args = parser.parse_args()
    if args.loader == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--loader wrk: wrk is not installed (apt-get install wrk), or use --loader httpx")
    client = (
        f"httpx {httpx.__version__} thread pool"
        if args.loader == "httpx"
        else "wrk " + subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    )
    print(f"client: {client}; connections: {args.connections}; {args.runs} runs of {args.duration} s")

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="oc-bench-catalog-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, scheduler=False, database_url=args.database_url)
    context = Context(settings)
    database = context.db.engine.dialect.name
    existing = (
        ObjectService(context).count("dcat", "dataset")
        if (args.database_url or (data_dir / "openconnector.db").exists()) and _has_woo(context)
        else 0
    )
    fill_seconds = None
    if existing != args.count:
        if existing:
            raise SystemExit(f"{data_dir} holds {existing} datasets, not {args.count}; use another --keep")
        fill_seconds = fill(context, args.count)
        print(
            f"filled {args.count} datasets in {fill_seconds:.1f} s ({args.count / fill_seconds:,.0f}/s)",
            file=sys.stderr,
        )

    if not args.no_analyze:
        analyze(context)

    loader = args.loader
    script = data_dir / "bench.lua"
    script.write_text(LUA)

    baseline = {name: in_process(context, name, params) for name, params in QUERIES.items()}
    for name, figures in baseline.items():
        print(f"{name:6} in-process {figures}", file=sys.stderr)
    server = start_server(data_dir, args.port, args.workers, args.database_url)
    results: dict[str, Any] = {}
    try:
        for name, params in QUERIES.items():
            url = str(httpx.URL(f"http://127.0.0.1:{args.port}{API}", params=params))
            httpx.get(url).raise_for_status()  # warm up
            for connections in args.connections:
                runs = [
                    load_wrk(url, connections, args.duration, script)
                    if loader == "wrk"
                    else load_httpx(url, connections, args.duration)
                    for _ in range(args.runs)
                ]
                summary = {
                    key: statistics.median(r[key] for r in runs) for key in ("rps", "p50_ms", "p95_ms")
                }
                summary["errors"] = sum(r["errors"] for r in runs)
                summary["ratio_p50_vs_in_process"] = round(
                    summary["p50_ms"] / baseline[name]["now"]["p50_ms"], 2
                )
                results[f"{name}@c{connections}"] = summary
                print(f"{name:6} {loader} c={connections:<3} {summary}", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
        context.close()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)

    targets = {"list": 15, "search": 20, "facet": 30}
    lowest = min(args.connections)
    met = {name: results[f"{name}@c{lowest}"]["p95_ms"] < limit for name, limit in targets.items()}
    print(
        json.dumps(
            {
                "bench": "catalog",
                "datasets": args.count,
                "database": database,
                "loader": loader,
                "client": client,
                "connections": args.connections,
                "workers": args.workers,
                "analyzed": not args.no_analyze,
                "duration_s": args.duration,
                "runs": args.runs,
                "cpus": os.cpu_count(),
                "fill_seconds": round(fill_seconds, 1) if fill_seconds else None,
                "in_process": baseline,
                "http": results,
                "target": {"p95_ms_under": targets, "connections": lowest, "met": met},
            }
        )
    )


def analyze(context: Context) -> None:
    """Gather planner statistics, as ``PRAGMA optimize`` would after a bulk load.

    Without them SQLite serves the list page from the ``publicatiedatum``
    index and sorts 90,000 ids (~15 ms) instead of walking
    ``ix_objects_register_schema`` in id order (~0.1 ms).
    """
    if context.db.engine.dialect.name == "sqlite":
        with context.db.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
        return
    # PostgreSQL: what autovacuum does after a load (statistics, and the visibility map
    # that lets index-only scans skip the table); VACUUM cannot run in a transaction.
    with context.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE objects")
        conn.exec_driver_sql("VACUUM ANALYZE object_search")
        conn.exec_driver_sql("VACUUM ANALYZE object_facets")


def _has_woo(context: Context) -> bool:
    from openconnector.errors import NotFound
    from openconnector.register.registers import RegisterService

    try:
        RegisterService(context).get_register("dcat")
    except NotFound:
        return False
    return True


if __name__ == "__main__":
    main()
