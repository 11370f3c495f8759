"""Benchmark: bulk-saving validated objects and listing them, on SQLite and PostgreSQL.

    python bench/objects.py [--objects 100000] [--batch 1000] [--runs 3] [--postgres URL]

For each backend and run: a fresh database, ``ObjectService.save_objects`` of N
dataset objects in batches (schema validation, date normalisation, uuid, JSON),
then list queries at N objects (each timed as the median of 5 calls):
a filtered page, a filtered + sorted page, a deep page, a search and a facet.
In the same run, a baseline writes the same documents with a bare executemany
into a plain table (no validation, no indexes beyond the key), so the ratio
shows what validation and indexing cost. Medians of ``--runs`` runs, after an untimed
warm-up; the last line printed is one JSON object.
Targets (issue 2): >= 20,000 validated objects/s on SQLite; a filtered, paginated
list under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import orjson

SCHEMA = {
    "title": "Dataset",
    "slug": "dataset",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "category": {"type": "string"},
        "status": {"type": "string"},
        "publicatiedatum": {"type": "string", "format": "date-time"},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "contactEmail": {"type": "string", "format": "email"},
        "rank": {"type": "integer"},
    },
}
CATEGORIES = ("Dogs", "Cats", "Birds", "Fish", "Rabbits")


def make(i: int) -> dict:
    return {
        "title": f"Dataset {i} {'bella' if i % 97 == 0 else 'x'}",
        "description": f"Record number {i}",
        "category": CATEGORIES[i % len(CATEGORIES)],
        "status": "Published",
        "publicatiedatum": f"2026-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:00",
        "keywords": ["open", CATEGORIES[i % 5].lower()],
        "contactEmail": "data@example.org",
        "rank": i,
    }


def fresh_pg(url: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"oc_bench_obj_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.rsplit("/", 1)[0] + f"/{name}"


def drop_pg(admin_url: str, database_url: str) -> None:
    """Drop a database ``fresh_pg`` made (the bench leaves nothing behind)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


def baseline(docs: list[dict], batch: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "b.db")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (uuid TEXT PRIMARY KEY, doc TEXT)")
        started = time.perf_counter()
        for i in range(0, len(docs), batch):
            with conn:
                conn.executemany(
                    "INSERT INTO t VALUES (?, ?)",
                    [(str(uuid.uuid4()), orjson.dumps(d).decode()) for d in docs[i : i + batch]],
                )
        elapsed = time.perf_counter() - started
        conn.close()
    return len(docs) / elapsed


def one_run(n: int, batch: int, database_url: str | None) -> dict[str, float]:
    from openconnector.context import Context, set_context
    from openconnector.register.objects import ObjectService
    from openconnector.register.registers import RegisterService
    from openconnector.store.settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        context = Context(Settings(data_dir=Path(tmp), database_url=database_url, secret_key="bench"))
        set_context(context)
        registers = RegisterService(context)
        registers.create_register({"title": "DCAT", "slug": "dcat"})
        registers.create_schema(dict(SCHEMA), register="dcat")
        objects = ObjectService(context)
        docs = [make(i) for i in range(n)]
        started = time.perf_counter()
        for i in range(0, n, batch):
            objects.save_objects(docs[i : i + batch], "dcat", "dataset", shape=False)
        rate = n / (time.perf_counter() - started)
        if not context.settings.is_sqlite:
            with context.db.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE objects")
        queries = {
            "filtered_page": dict(filters={"category": "Dogs"}, limit=20, page=3),
            "filtered_sorted_page": dict(filters={"category": "Cats"}, order={"title": "desc"}, limit=20),
            "range_filter_page": dict(filters={"rank": {"gte": 5000, "lt": 6000}}, limit=20),
            "deep_page": dict(limit=20, page=2500),
            "search": dict(search="bella", limit=20),
            "facet": dict(filters={"status": "Published"}, facets=["category"], limit=20),
        }
        timings: dict[str, float] = {"objects_per_s": rate}
        for name, query in queries.items():
            samples = []
            for _ in range(5):
                t0 = time.perf_counter()
                result = objects.find_all("dcat", "dataset", **query)
                samples.append((time.perf_counter() - t0) * 1000)
                assert result["total"] > 0, (name, result["total"])
            timings[f"{name}_ms"] = statistics.median(samples)
        set_context(None)
        context.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL URL to create bench databases from ('' to skip)",
    )
    args = parser.parse_args()
    docs = [make(i) for i in range(args.objects)]
    baseline(docs[: args.batch * 5], args.batch)  # warm-up, untimed
    base = statistics.median(baseline(docs, args.batch) for _ in range(args.runs))
    print(f"baseline (bare executemany of JSON, no validation): {base:,.0f} objects/s")
    summary: dict[str, object] = {
        "objects": args.objects,
        "runs": args.runs,
        "baseline_objects_per_s": round(base),
    }
    backends = [("sqlite", None)] + ([("postgresql", args.postgres)] if args.postgres else [])
    for label, url in backends:
        runs = []
        for _ in range(args.runs):
            database = fresh_pg(url) if url else None
            try:
                runs.append(one_run(args.objects, args.batch, database))
            finally:
                if url and database:
                    drop_pg(url, database)
        medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{label}: {medians['objects_per_s']:,.0f} validated objects/s "
            f"({medians['objects_per_s'] / base:.2f}x baseline)"
        )
        for key, value in medians.items():
            if key.endswith("_ms"):
                print(f"  {key[:-3]:22s} {value:8.1f} ms")
        summary[label] = {k: round(v, 1) for k, v in medians.items()} | {
            "ratio_to_baseline": round(medians["objects_per_s"] / base, 2)
        }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
