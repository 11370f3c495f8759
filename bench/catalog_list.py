"""Where the anonymous catalog list's time goes at 100,000 datasets (issue 18).

    PYTHONPATH=src python bench/catalog_list.py [--count 100000] [--repeat 30] [--keep DIR]

``bench/catalog.py`` reported a list p95 of 20 ms while an independent measurement of
``GET …/opencatalogi/api/publications`` at 100,000 datasets gave a p50 of 190 ms. This
script fills the same data as ``bench/catalog.py`` (``fill``) into a fresh SQLite file and
times, one request at a time (p50 of ``--repeat``), each layer of that request:

* ``count query``  the total alone (``find_all`` with ``_limit=0``)
* ``find_all``     the total and the page of 20, with the publication rule: what
                   ``bench/catalog.py`` calls in-process (``page query`` = the difference)
* ``service``      ``CatalogService.publications`` (catalog lookup, shaping) as the route calls it
* ``http``         the anonymous HTTP request against uvicorn (routing, JSON, the socket)
* ``http c=8``     p50 and p95 with 8 clients at once (``bench/catalog.py``'s thread-pool loader)

twice: on the database as filled, then after ``ANALYZE``, which ``bench/catalog.py``
runs before measuring. Before ``store/db.py: ensure_statistics`` a database filled this
way had no planner statistics at all, and "as filled" showed what that cost; now
``save_objects`` gathers them on the first bulk batch, and the two states should agree.
Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from catalog import API, context_schema, fill, load_httpx, start_server  # noqa: E402  (bench/catalog.py)
from openconnector.catalog.service import CatalogService  # noqa: E402
from openconnector.context import Context  # noqa: E402
from openconnector.register.objects import ObjectService  # noqa: E402
from openconnector.register.search import parse_params  # noqa: E402
from openconnector.store.settings import Settings  # noqa: E402


def p50(action: Callable[[], object], repeat: int) -> float:
    action()  # warm caches (registers, schemas, the validator, SQLite's page cache)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def layers(context: Context, port: int, repeat: int) -> dict[str, float]:
    objects = ObjectService(context)
    catalogs = CatalogService(context)
    visible = [catalogs.visible(context_schema(context))]

    def find(params: list[tuple[str, str]]) -> Callable[[], object]:
        return lambda: objects.find_all("dcat", "dataset", query=parse_params(params), extra_where=visible)

    out = {"count query": p50(find([("_limit", "0")]), repeat), "find_all": p50(find([]), repeat)}
    out["page query"] = round(out["find_all"] - out["count query"], 2)
    out["service"] = p50(lambda: catalogs.publications("publications", []), repeat)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        out["http"] = p50(lambda: client.get(API).raise_for_status(), repeat)
    loaded = load_httpx(f"http://127.0.0.1:{port}{API}", 8, 5.0)
    out["http c=8 p50"], out["http c=8 p95"] = loaded["p50_ms"], loaded["p95_ms"]
    out["http c=8 rps"] = loaded["rps"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--keep", type=Path, help="data directory to keep")
    args = parser.parse_args()

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="oc-bench-list-"))
    context = Context(Settings(data_dir=data_dir, scheduler=False))
    result: dict[str, object] = {"bench": "catalog_list", "datasets": args.count, "database": "sqlite"}
    try:
        seconds = fill(context, args.count)
        print(f"filled {args.count} datasets in {seconds:.1f} s", file=sys.stderr)
        for state in ("as filled", "after ANALYZE"):
            if state == "after ANALYZE":
                with context.db.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
            server = start_server(data_dir, args.port, 1)
            try:
                measured = layers(context, args.port, args.repeat)
            finally:
                server.terminate()
                server.wait(timeout=30)
            print(
                f"{state:>20}: "
                + ", ".join(f"{k} {v}{'' if k.endswith('rps') else ' ms'}" for k, v in measured.items())
            )
            result[state] = measured
    finally:
        context.close()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
