"""Experiment: would a two-process pipeline bring a first run to 0.8x the reference loop?

    python bench/sync_pipeline.py [--records 100000] [--page-size 1000] [--runs 3]

The engine maps on one thread and writes on another, so its Python work shares one
GIL. This script measures the split that frees the most of it: a worker process
parses each page, hashes, maps and validates its records (the engine's own compiled
mapping and validator); the main process only looks up contracts, builds the page's
statements (the engine's own ``ObjectBatch`` and ``ContractStore``) and writes them
on a writer thread, one transaction per page. It leaves out call logs, run logs,
locks and the rules for invalid and repeated records, so it is faster than any
complete engine of this shape could be. It reports, as medians of ``--runs``, the
reference loop of ``bench/sync.py``, this pipeline, how long its writer thread had a
page in hand, and the CPU seconds of each process beside the CPU seconds the
machine's cores give within 0.8x the reference's time. When the work alone needs
more than that, no arrangement of it on this machine reaches the target. One untimed
reference loop warms the source and the caches first. The last line printed is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import pickle
import statistics
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
import orjson
from sync import Source, reference_loop, setup


def _mapper(conn: Connection, mapping: Any, validator: Any) -> None:
    """The worker process: page bytes in, ``(fingerprint, [(origin, hash, object)])`` out."""
    from openconnector.connector.records import content_hash

    while body := conn.recv_bytes():
        records = orjson.loads(body)["results"]
        out = []
        for record in records:
            target = mapping.apply(record)
            validator.normalise(target)
            if not validator.errors(target):
                out.append((str(record["id"]), content_hash(record), target))
        conn.send_bytes(pickle.dumps((content_hash(records), out), protocol=5))


def _next_link(body: bytes) -> str | None:
    """The page's next link, read without parsing the page (the worker parses it)."""
    start = body.index(b'"next":') + 7
    return orjson.loads(body[start : body.index(b",", start)])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pipeline_run(url: str, records: int, server_pid: int) -> dict[str, float]:
    """One first run through the two-process pipeline: records/s, seconds, the seconds
    the writer thread had a page in hand, and CPU seconds of the main process (fetching,
    contract lookups, statements, writes), the worker (parsing, hashing, mapping,
    validating) and the source server."""
    from openconnector.clock import now_iso
    from openconnector.connector.contracts import ContractStore
    from openconnector.connector.records import content_hash
    from openconnector.connector.sync import SynchronizationService
    from openconnector.register.objects import ObjectBatch
    from openconnector.store.ids import new_uuids
    from openconnector.store.statements import run_statements

    with tempfile.TemporaryDirectory() as tmp:
        context, sync = setup(tmp, url, None)
        service = SynchronizationService()
        plan = service._plan(service.entities.get(sync))
        validator = service.objects.registers.validator(plan["schema"])
        ours, theirs = mp.Pipe()
        worker = mp.get_context("fork").Process(
            target=_mapper, args=(theirs, plan["mapping"], validator), daemon=True
        )
        worker.start()
        contracts = ContractStore(sync["id"])
        register, schema = plan["register"], plan["schema"]
        busy = 0.0

        def write(statements: list[Any]) -> None:
            nonlocal busy
            started = time.perf_counter()
            with context.db.begin() as conn:
                run_statements(conn, statements)
            busy += time.perf_counter() - started

        def fetch_all(client: httpx.Client) -> int:
            link: str | None = f"{url}/pets?page=1"
            sent = 0
            while link:
                body = client.get(link).content
                ours.send_bytes(body)
                sent += 1
                link = _next_link(body)
            return sent

        started = time.perf_counter()
        cpu_before = (time.process_time(), _cpu_seconds(worker.pid or 0), _cpu_seconds(server_pid))
        with (
            httpx.Client() as client,
            ThreadPoolExecutor(1) as fetcher,
            ThreadPoolExecutor(1) as writer,
        ):
            fetched = fetcher.submit(fetch_all, client)
            pending: Future[None] | None = None
            pages = created = 0
            while not (fetched.done() and pages == fetched.result()):
                fingerprint, rows = pickle.loads(ours.recv_bytes())
                pages += 1
                now = now_iso()
                with context.db.connect() as conn:
                    contracts.for_origins(conn, [origin for origin, _, _ in rows])
                uuids = new_uuids(len(rows))
                shared = ObjectBatch.shared_of(register, schema, None, now)
                new = [(o, h, u) for u, (o, h, _) in zip(uuids, rows, strict=True)]
                page_hash = content_hash([plan["page_salt"], fingerprint])
                statements = ObjectBatch(
                    [], [(u, t) for u, (_, _, t) in zip(uuids, rows, strict=True)], [], shared
                ).statements("sqlite") + contracts.write_statements(
                    "sqlite", new, [], plan["mapping_hash"], now, page_hash
                )
                if pending is not None:
                    pending.result()
                pending = writer.submit(write, statements)
                created += len(rows)
            if pending is not None:
                pending.result()
        elapsed = time.perf_counter() - started
        main_cpu = time.process_time() - cpu_before[0]
        worker_cpu = _cpu_seconds(worker.pid or 0) - cpu_before[1]
        server_cpu = _cpu_seconds(server_pid) - cpu_before[2]
        ours.send_bytes(b"")
        worker.join()
        context.close()
        if created != records:
            raise RuntimeError(f"created {created} of {records}")
        return {
            "rate": records / elapsed,
            "seconds": elapsed,
            "writer_busy": busy,
            "main_cpu": main_cpu,
            "worker_cpu": worker_cpu,
            "server_cpu": server_cpu,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    source = Source(args.records, args.page_size)
    reference: list[float] = []
    runs: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            reference_loop(source.url, Path(tmp) / "warm.db")  # warm-up, untimed
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as tmp:
                started = time.perf_counter()
                count = reference_loop(source.url, Path(tmp) / "ref.db")
                reference.append(count / (time.perf_counter() - started))
            runs.append(pipeline_run(source.url, args.records, source.proc.pid or 0))
    finally:
        source.stop()
    ref = statistics.median(reference)
    med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    cores = os.cpu_count() or 1
    print(f"reference loop:         {ref:10,.0f} records/s  runs={[round(r) for r in reference]}")
    print(
        f"two-process first run:  {med['rate']:10,.0f} records/s  ({med['rate'] / ref:.2f}x reference)  "
        f"runs={[round(run['rate']) for run in runs]}"
    )
    print(
        f"run:                    {med['seconds']:10.2f} s, the writer thread had a page for {med['writer_busy']:.2f} s"
    )
    print(
        f"CPU:                    main {med['main_cpu']:.2f} s, worker {med['worker_cpu']:.2f} s, "
        f"source {med['server_cpu']:.2f} s: {sum(med[k] for k in ('main_cpu', 'worker_cpu', 'server_cpu')):.2f} s "
        f"of the {cores * med['seconds']:.2f} s that {cores} cores give"
    )
    budget = args.records / (0.8 * ref)
    print(
        f"0.8x the reference:     {budget:10.2f} s for {args.records:,} records, "
        f"{cores * budget:.2f} CPU seconds on {cores} cores"
    )
    cpu = sum(med[k] for k in ("main_cpu", "worker_cpu", "server_cpu"))
    print(
        json.dumps(
            {
                "bench": "sync_pipeline",
                "records": args.records,
                "page_size": args.page_size,
                "runs": args.runs,
                "cpus": cores,
                "reference_records_per_s": round(ref),
                "pipeline_records_per_s": round(med["rate"]),
                "ratio_to_reference": round(med["rate"] / ref, 2),
                "cpu_seconds": {k: round(med[k], 2) for k in ("main_cpu", "worker_cpu", "server_cpu")},
                "cpu_seconds_total": round(cpu, 2),
                "cpu_seconds_within_0_8x": round(cores * budget, 2),
                "all_runs": {
                    "reference": [round(r) for r in reference],
                    "pipeline": [round(r["rate"]) for r in runs],
                },
            }
        )
    )


if __name__ == "__main__":
    main()
