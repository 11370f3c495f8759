"""Benchmark of a CSV file as a source (issue 16): memory stays flat as the file grows.

Not a test. Serves a generated CSV (``id;title;amount``, 1,000,000 rows by default,
about 25 MB; ``tests/connector/fake_api.py`` ``/generated.csv``) over HTTP on
127.0.0.1, streamed, and in a child process per measurement:

* ``read``: iterates the source's pages (``connector/files.py``), no database;
* ``sync``: a full synchronisation into a fresh SQLite register.

Each child reports its own peak resident memory (VmHWM) and time. The baseline is
the same measurement with ``--small`` rows (10,000): flat memory means the
1,000,000-row peak is close to the 10,000-row one. Medians of ``--runs``; the last
line is JSON::

    python bench/csv_source.py                       # read: 10k and 1M rows; sync: 10k and 1M rows
    python bench/csv_source.py --rows 200000 --runs 1 --no-sync
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "connector"))


def _peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def child(mode: str, url: str, rows: int) -> None:
    """Runs in a fresh interpreter; prints one JSON line: seconds, rows, peak_mb."""
    from openconnector.connector.call import CallService
    from openconnector.connector.files import file_pages

    started = time.perf_counter()
    source = {"name": "csv", "type": "csv", "location": url, "configuration": {}}
    if mode == "read":
        calls = CallService()
        count = 0
        for page in file_pages(calls, source, f"/generated.csv?rows={rows}", {}, Path(".")):
            count += len(page.records)
    else:
        from openconnector.connector.sync import SynchronizationService
        from openconnector.context import Context, set_context
        from openconnector.register.objects import ObjectService
        from openconnector.register.registers import RegisterService
        from openconnector.store.settings import Settings

        tmp = tempfile.mkdtemp(prefix="bench-csv-")
        context = Context(Settings(data_dir=Path(tmp), admin_password="a", secret_key="b", scheduler=False))
        set_context(context)
        registers = RegisterService(context)
        schema = registers.create_schema(
            {
                "slug": "row",
                "title": "Row",
                "properties": {"title": {"type": "string"}, "amount": {"type": "string"}},
            }
        )
        registers.create_register({"slug": "csv", "title": "CSV", "schemas": [schema["id"]]})
        objects = ObjectService(context)
        save = lambda s, d: objects.save_object(object=d, register="openconnector", schema=s)  # noqa: E731
        src = save("source", {"name": "csv", "type": "csv", "location": url})
        mapping = save("mapping", {"name": "row", "mapping": {"title": "title", "amount": "amount"}})
        sync = save(
            "synchronization",
            {
                "name": "csv",
                "sourceId": src["id"],
                "sourceTargetMapping": mapping["id"],
                "sourceConfig": {"endpoint": f"/generated.csv?rows={rows}"},
                "targetId": "csv/row",
            },
        )
        log = SynchronizationService(context).synchronize(sync["id"])
        assert log["status"] == "success", log["message"]
        count = log["result"]["objects"]["created"]
    elapsed = time.perf_counter() - started
    print(json.dumps({"seconds": round(elapsed, 2), "rows": count, "peak_mb": round(_peak_kb() / 1024, 1)}))


def _measure(mode: str, url: str, rows: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--url", url, "--rows", str(rows)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-sync", action="store_true")
    parser.add_argument("--child")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.rows)
        return

    from fake_api import FakeApiServer

    server = FakeApiServer()
    api = server.start()
    summary: dict = {"bench": "csv_source", "rows": args.rows, "baseline_rows": args.small, "runs": args.runs}
    try:
        modes = ["read"] if args.no_sync else ["read", "sync"]
        for mode in modes:
            for label, rows in (("baseline", args.small), ("large", args.rows)):
                results = [_measure(mode, api.url, rows) for _ in range(args.runs)]
                assert all(r["rows"] == rows for r in results), results
                entry = {
                    "seconds": statistics.median(r["seconds"] for r in results),
                    "peak_mb": statistics.median(r["peak_mb"] for r in results),
                }
                entry["rows_per_s"] = round(rows / entry["seconds"])
                summary[f"{mode}_{label}"] = entry
                print(mode, label, entry, file=sys.stderr)
    finally:
        server.stop()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
