"""Mapping throughput: openconnector.twig against Jinja2 on a four-field mapping.

Run: ``python bench/twig.py [records]``. Each engine compiles the four templates
once, then renders every template against every record (the way the mapping
engine uses it). Prints records/s (median of 3 runs), the ratio, and a
one-line JSON summary.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import jinja2

from openconnector.twig import Environment

TWIG_TEMPLATES = ["{{ id }}", "{{ name }}", "{{ category.name }}", "Published"]
JINJA_TEMPLATES = ["{{ id }}", "{{ name }}", "{{ category.name }}", "Published"]


def make_records(n: int) -> list[dict[str, Any]]:
    cats = ["Dogs", "Cats", "Birds & Fish", "Reptiles"]
    return [
        {"id": i, "name": f"Pet {i}", "status": "available", "category": {"id": i % 4, "name": cats[i % 4]}}
        for i in range(n)
    ]


def run(renders: list[Callable[[dict[str, Any]], str]], records: list[dict[str, Any]]) -> float:
    """Seconds to render all templates for all records."""
    r0, r1, r2, r3 = renders
    start = time.perf_counter()
    for rec in records:
        r0(rec)
        r1(rec)
        r2(rec)
        r3(rec)
    return time.perf_counter() - start


def median_rate(renders: list[Callable[[dict[str, Any]], str]], records: list[dict[str, Any]]) -> float:
    return statistics.median(len(records) / run(renders, records) for _ in range(3))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    records = make_records(n)

    env = Environment(strict_variables=False, autoescape="html", timezone="UTC")
    twig_renders = [env.from_string(t).render for t in TWIG_TEMPLATES]
    jenv = jinja2.Environment(autoescape=True)
    jinja_renders = [jenv.from_string(t).render for t in JINJA_TEMPLATES]

    sample = records[2]
    assert [r(sample) for r in twig_renders] == [str(r(sample)) for r in jinja_renders], "engines disagree"

    twig_rate = median_rate(twig_renders, records)
    jinja_records = records[: max(n // 10, 1000)]  # Jinja2 is much slower; a tenth is enough for its rate
    jinja_rate = median_rate(jinja_renders, jinja_records)
    ratio = twig_rate / jinja_rate
    print(f"records:              {n}")
    print(f"openconnector.twig:   {twig_rate:12,.0f} records/s")
    print(f"jinja2 {jinja2.__version__:<13s} {jinja_rate:12,.0f} records/s ({len(jinja_records)} records)")
    print(f"ratio:                {ratio:12.1f}x")
    print(
        json.dumps(
            {
                "records": n,
                "twig_records_per_s": round(twig_rate),
                "jinja2_records_per_s": round(jinja_rate),
                "ratio": round(ratio, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
