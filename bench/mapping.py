"""Micro-benchmark: records/s of the tutorial's 4-field mapping (not a test).

    python bench/mapping.py [--records 200000] [--runs 3]

Prints the median of the runs for the compiled mapping (what a synchronisation
uses: compile once, call per record) and for ``execute_mapping`` (which also
looks the mapping up in the compile cache per call).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

from openconnector.connector.mapping import MappingService

TUTORIAL = {
    "name": "Pet to dataset",
    "mapping": {
        "title": "{{ name }}",
        "category": "{{ category.name }}",
        "status": "Published",
        "publicatiedatum": '{{ "now"|date("Y-m-d H:i:s") }}',
    },
}


def records(count: int) -> list[dict[str, Any]]:
    kinds = ["Dogs", "Cats", "Birds", "Fish"]
    return [
        {"id": i, "name": f"Pet {i}", "status": "available", "category": {"id": i % 4, "name": kinds[i % 4]}}
        for i in range(count)
    ]


def measure(label: str, run: Callable[[], None], count: int, runs: int) -> None:
    rates = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        rates.append(count / (time.perf_counter() - start))
    print(
        f"{label:<34} median {statistics.median(rates):>10,.0f} records/s  (runs: "
        + ", ".join(f"{rate:,.0f}" for rate in rates)
        + ")"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    data = records(args.records)
    service = MappingService()
    compiled = service.compile(TUTORIAL)
    print("sample:", compiled(data[0]))

    def compiled_run() -> None:
        for record in data:
            compiled(record)

    def execute_run() -> None:
        for record in data:
            service.execute_mapping(TUTORIAL, record)

    measure("compile once, call per record", compiled_run, args.records, args.runs)
    measure("execute_mapping per record", execute_run, args.records, args.runs)


if __name__ == "__main__":
    main()
