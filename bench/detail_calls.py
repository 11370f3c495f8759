"""Benchmark of detail calls per record (issue 16): 500 summaries, a 50 ms detail route.

Not a test. Starts the tests' fake API (``tests/connector/fake_api.py``) on 127.0.0.1
and a fresh SQLite instance, then runs a synchronisation with
``extraDataConfigs: [{"staticEndpoint": "/details/{{ originId }}"}]``:

* baseline: ``configuration.detailConcurrency`` 1 (one detail call after the other),
* the default bound (8) and a wider one (``--concurrency``, default 16),

each a first run on a fresh synchronisation (500 created). Then one re-run after
renaming 5 summaries: its detail calls are counted (expected: 5). Medians of
``--runs`` runs; the last line is JSON::

    python bench/detail_calls.py
    python bench/detail_calls.py --records 500 --delay 0.05 --runs 3 --concurrency 16
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "connector"))

from fake_api import FakeApiServer  # noqa: E402

from openconnector.connector.sync import SynchronizationService  # noqa: E402
from openconnector.context import Context, set_context  # noqa: E402
from openconnector.register.objects import ObjectService  # noqa: E402
from openconnector.register.registers import RegisterService  # noqa: E402
from openconnector.store.settings import Settings  # noqa: E402


def _instance(tmp: Path) -> tuple[Context, ObjectService]:
    context = Context(Settings(data_dir=tmp, admin_password="admin", secret_key="bench", scheduler=False))
    set_context(context)
    registers = RegisterService(context)
    schema = registers.create_schema(
        {
            "slug": "dataset",
            "title": "Dataset",
            "properties": {"title": {"type": "string"}, "description": {"type": "string"}},
        }
    )
    registers.create_register({"slug": "dcat", "title": "DCAT", "schemas": [schema["id"]]})
    return context, ObjectService(context)


def _first_run(objects: ObjectService, url: str, concurrency: int, n: int) -> tuple[float, dict]:
    save = lambda schema, data: objects.save_object(object=data, register="openconnector", schema=schema)  # noqa: E731
    source = save(
        "source",
        {
            "name": f"cases {n}",
            "type": "api",
            "location": url,
            "configuration": {"detailConcurrency": concurrency},
        },
    )
    mapping = save(
        "mapping", {"name": f"m {n}", "mapping": {"title": "{{ name }}", "description": "description"}}
    )
    sync = save(
        "synchronization",
        {
            "name": f"details {n}",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {
                "endpoint": "/summaries",
                "extraDataConfigs": [{"staticEndpoint": "/details/{{ originId }}"}],
            },
            "targetId": "dcat/dataset",
        },
    )
    started = time.perf_counter()
    log = SynchronizationService().synchronize(sync["id"])
    elapsed = time.perf_counter() - started
    assert log["status"] == "success", log["message"]
    return elapsed, {"sync": sync, "objects": log["result"]["objects"]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    server = FakeApiServer()
    api = server.start()
    api.set_records(args.records)
    api.detail_delay = args.delay
    results: dict[str, list[float]] = {"one_by_one": [], "default_8": [], f"bound_{args.concurrency}": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            context, objects = _instance(Path(tmp))
            counter = 0
            last = None
            for _ in range(args.runs):
                for label, bound in (
                    ("one_by_one", 1),
                    ("default_8", 8),
                    (f"bound_{args.concurrency}", args.concurrency),
                ):
                    counter += 1
                    elapsed, last = _first_run(objects, api.url, bound, counter)
                    assert last["objects"]["created"] == args.records, last
                    results[label].append(elapsed)
                    print(f"{label:12s} {elapsed:6.2f} s", file=sys.stderr)
            for i in (3, 50, 150, 250, args.records - 1):
                api.records[i - 1]["name"] = f"Renamed {i}"
            before = sum(1 for r in api.requests if r.path.startswith("/details/"))
            rerun = SynchronizationService(context).synchronize(last["sync"]["id"])
            rerun_calls = sum(1 for r in api.requests if r.path.startswith("/details/")) - before
            context.close()
    finally:
        server.stop()
    medians = {k: round(statistics.median(v), 3) for k, v in results.items()}
    base = medians["one_by_one"]
    summary = {
        "bench": "detail_calls",
        "records": args.records,
        "detail_delay_s": args.delay,
        "runs": args.runs,
        "median_s": medians,
        "fraction_of_one_by_one": {k: round(v / base, 3) for k, v in medians.items()},
        "rerun_5_changed": {"detail_calls": rerun_calls, "objects": rerun["result"]["objects"]},
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
