"""Benchmark: a synchronisation against a slow API, one page at a time vs pages at once.

    PYTHONPATH=src python bench/latency.py [--pages 200] [--page-size 100] [--delay 0.1] [--runs 3]
                                           [--styles page,next] [--rate-limit 100]

A separate process serves ``--pages`` pages of ``--page-size`` pet records, each answer
``--delay`` seconds late (a real API's 100-500 ms), with ``X-RateLimit-*`` headers
allowing ``--rate-limit`` calls per second (429 beyond). Two styles of pagination:

* ``page``: ``/pets?page=N`` → ``{"results", "page", "totalPages"}`` (page numbers, the
  paginator predicts the addresses; the total bounds them);
* ``next``: ``{"count", "next", "results"}`` (DRF next links, predictable after two steps).

For each style, in the same run and as medians of ``--runs``: a first run of the
tutorial's mapping into a fresh SQLite register with ``sourceConfig.concurrency`` 1
(sequential, the baseline), 4 and 8. Target (issue 18): 4 pages at once >= 3.5x the
sequential run, 8 >= 7x, with the source's rate limit never exceeded (no 429 answered).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

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


def _serve(port: int, pages: int, page_size: int, delay: float, limit: int, stats) -> None:  # type: ignore[no-untyped-def]
    """The slow API; ``stats``: [429s answered, most calls in one rate-limit second, most at once]."""
    import uvicorn

    records = pages * page_size
    window = {"second": 0, "count": 0}
    in_flight = [0]

    def body(page: int, style: str) -> bytes:
        start = (page - 1) * page_size
        items = [
            {
                "id": i,
                "name": f"Pet {i}",
                "status": "available",
                "category": {"id": i % 3, "name": ("Dogs", "Cats", "Birds")[i % 3]},
                "photoUrls": [],
                "tags": [],
            }
            for i in range(start + 1, min(start + page_size, records) + 1)
        ]
        if style == "next":
            nxt = f"http://127.0.0.1:{port}/pets?style=next&page={page + 1}" if page < pages else None
            return orjson.dumps({"count": records, "next": nxt, "results": items})
        return orjson.dumps({"results": items, "page": page, "totalPages": pages})

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
        now = time.time()
        second = int(now)
        if second != window["second"]:
            window["second"], window["count"] = second, 0
        window["count"] += 1
        remaining = limit - window["count"]
        headers = [
            (b"content-type", b"application/json"),
            (b"x-ratelimit-limit", str(limit).encode()),
            (b"x-ratelimit-remaining", str(max(0, remaining)).encode()),
            (b"x-ratelimit-reset", str(second + 1).encode()),
        ]
        if remaining < 0:
            stats[0] += 1
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": b'{"error": "rate limited"}'})
            return
        stats[1] = max(stats[1], window["count"])
        in_flight[0] += 1
        stats[2] = max(stats[2], in_flight[0])
        try:
            await asyncio.sleep(delay)
        finally:
            in_flight[0] -= 1
        payload = body(int(query.get("page", "1")), query.get("style", "page"))
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Api:
    def __init__(self, pages: int, page_size: int, delay: float, limit: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.stats = mp.Array("i", 3)
        self.proc = mp.Process(
            target=_serve, args=(self.port, pages, page_size, delay, limit, self.stats), daemon=True
        )
        self.proc.start()
        for _ in range(100):
            try:
                httpx.get(f"{self.url}/pets?page=1", timeout=5)
                time.sleep(1.1)  # a fresh rate-limit second for the runs
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the API did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()


def first_run(url: str, style: str, concurrency: int) -> tuple[float, dict, int]:
    """Seconds, counts and pages of a first run into a fresh SQLite register."""
    from openconnector.connector.sync import SynchronizationService
    from openconnector.context import Context, set_context
    from openconnector.register.objects import ObjectService
    from openconnector.register.registers import RegisterService
    from openconnector.store.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        context = Context(Settings(data_dir=Path(tmp), secret_key="bench"))
        set_context(context)
        registers = RegisterService(context)
        registers.create_register({"title": "DCAT", "slug": "dcat"})
        registers.create_schema(dict(SCHEMA), register="dcat")
        objects = ObjectService(context)
        source = objects.save_object(
            {"name": "Slow API", "type": "api", "location": url}, "openconnector", "source"
        )
        mapping = objects.save_object({"name": "Pet", "mapping": MAPPING}, "openconnector", "mapping")
        endpoint = "/pets?style=next&page=1" if style == "next" else "/pets"
        sync = objects.save_object(
            {
                "name": "Slow sync",
                "sourceId": source["id"],
                "sourceTargetMapping": mapping["id"],
                "sourceConfig": {
                    "endpoint": endpoint,
                    "resultsPosition": "results",
                    "maxPages": 100000,
                    "concurrency": concurrency,
                },
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            },
            "openconnector",
            "synchronization",
        )
        service = SynchronizationService()
        started = time.perf_counter()
        log = service.synchronize(sync)
        elapsed = time.perf_counter() - started
        set_context(None)
        context.close()
    if log["status"] != "success":
        raise RuntimeError(log["message"])
    return elapsed, log["result"]["objects"], log["result"]["pages"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--styles", default="page,next")
    parser.add_argument("--rate-limit", type=int, default=100, help="calls per second the API allows")
    args = parser.parse_args()

    api = Api(args.pages, args.page_size, args.delay, args.rate_limit)
    expected = args.pages * args.page_size
    result: dict[str, object] = {
        "bench": "latency",
        "pages": args.pages,
        "page_size": args.page_size,
        "delay_s": args.delay,
        "rate_limit_per_s": args.rate_limit,
        "runs": args.runs,
    }
    met = True
    try:
        for style in args.styles.split(","):
            times: dict[int, list[float]] = {1: [], 4: [], 8: []}
            for run in range(args.runs):
                for concurrency in times:  # side by side in every round
                    seconds, counts, pages = first_run(api.url, style, concurrency)
                    if counts["created"] != expected or pages != args.pages:
                        raise RuntimeError(f"{style} N={concurrency}: {counts} in {pages} pages")
                    times[concurrency].append(seconds)
                    print(
                        f"  {style:>4} round {run + 1} N={concurrency}: {seconds:6.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
            medians = {n: statistics.median(v) for n, v in times.items()}
            speedups = {n: medians[1] / medians[n] for n in (4, 8)}
            print(
                f"{style}: sequential {medians[1]:.2f} s (floor {args.pages * args.delay:.1f} s); "
                f"N=4 {medians[4]:.2f} s = {speedups[4]:.2f}x (target 3.5x); "
                f"N=8 {medians[8]:.2f} s = {speedups[8]:.2f}x (target 7x)"
            )
            met = met and speedups[4] >= 3.5 and speedups[8] >= 7
            result[style] = {
                "sequential_s": round(medians[1], 3),
                "n4_s": round(medians[4], 3),
                "n8_s": round(medians[8], 3),
                "speedup_n4": round(speedups[4], 2),
                "speedup_n8": round(speedups[8], 2),
                "runs_s": {str(n): [round(x, 3) for x in v] for n, v in times.items()},
            }
    finally:
        stats = list(api.stats)
        api.stop()
    print(
        f"rate limit: {stats[0]} calls refused (429); most calls in one second {stats[1]} "
        f"(limit {args.rate_limit}); most at once {stats[2]}"
    )
    result["rate_limit_exceeded"] = stats[0]
    result["max_calls_per_second"] = stats[1]
    result["max_in_flight"] = stats[2]
    result["targets_met"] = met and stats[0] == 0
    print(json.dumps(result))


if __name__ == "__main__":
    main()
