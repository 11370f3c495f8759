"""Mapping throughput: openconnector.twig against Jinja2, on three kinds of mapping.

    python bench/twig.py [--records 20000] [--runs 5]

Three sets of four templates, each rendered for every record (the way a mapping
uses them: compiled once, rendered per record):

* ``plain``: ``{{ id }}``, ``{{ name }}``, ``{{ category.name }}``, ``Published``.
  Every one is a lone variable or static text, which the engine renders through a
  special fast path; this is the best case, not the usual one.
* ``tutorial``: the tutorial's mapping, ``{{ name }}``, ``{{ category.name }}``,
  ``Published`` and ``{{ "now"|date("Y-m-d H:i:s") }}``.
* ``general``: concatenation, filters, a ternary and a comparison; no template
  takes a fast path.

Each set is measured through the Twig engine alone (``Environment.from_string``,
strict_variables off as mappings use it) and, for the tutorial and general sets,
through ``MappingService`` (what a synchronisation runs, with its own shortcuts for
plain prints and ``"now"|date``). The baseline, measured in the same run, is Jinja2
rendering the equivalent templates (Jinja has no ``date`` filter: a small one that
formats the current time is registered, as a Jinja user would). PHP Twig's figure
is not known for this machine (no PHP here); the JSON says ``null`` rather than
quote one from elsewhere. One untimed warm-up pass per engine, then the median of
``--runs`` timed passes. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import jinja2

from openconnector.connector.mapping import MappingService
from openconnector.twig import Environment

TWIG = {
    "plain": ["{{ id }}", "{{ name }}", "{{ category.name }}", "Published"],
    "tutorial": ["{{ name }}", "{{ category.name }}", "Published", '{{ "now"|date("Y-m-d H:i:s") }}'],
    "general": [
        '{{ (name ~ " (" ~ category.name|lower ~ ")")|upper }}',
        '{{ id > 100 ? "many" : "few" }}',
        '{{ tags|default([])|join(", ") }}',
        '{{ status == "available" ? "Published" : "Concept" }}',
    ],
}
JINJA = {
    "plain": TWIG["plain"],
    "tutorial": ["{{ name }}", "{{ category.name }}", "Published", '{{ "now"|date("%Y-%m-%d %H:%M:%S") }}'],
    "general": [
        '{{ (name ~ " (" ~ category.name|lower ~ ")")|upper }}',
        '{{ "many" if id > 100 else "few" }}',
        '{{ tags|default([])|join(", ") }}',
        '{{ "Published" if status == "available" else "Concept" }}',
    ],
}
KEYS = ["a", "b", "c", "d"]


def make_records(n: int) -> list[dict[str, Any]]:
    cats = ["Dogs", "Cats", "Birds & Fish", "Reptiles"]
    return [
        {
            "id": i,
            "name": f"Pet {i}",
            "status": "available" if i % 3 else "sold",
            "category": {"id": i % 4, "name": cats[i % 4]},
            "tags": [f"t{i % 5}", "pet"],
        }
        for i in range(n)
    ]


def jinja_date(value: Any, fmt: str) -> str:
    moment = datetime.now(UTC) if value == "now" else value
    return moment.strftime(fmt)


def per_record(renders: list[Callable[[dict[str, Any]], Any]]) -> Callable[[dict[str, Any]], None]:
    r0, r1, r2, r3 = renders

    def render(record: dict[str, Any]) -> None:
        r0(record)
        r1(record)
        r2(record)
        r3(record)

    return render


def rate(render: Callable[[dict[str, Any]], Any], records: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    """Records/s: one untimed warm-up pass, then the median of ``runs`` timed passes."""
    for record in records[: min(len(records), 1000)]:
        render(record)
    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        for record in records:
            render(record)
        rates.append(len(records) / (time.perf_counter() - started))
    return {"median": round(statistics.median(rates)), "runs": [round(r) for r in rates]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    records = make_records(args.records)
    env = Environment(strict_variables=False, autoescape="html", timezone="UTC")
    jenv = jinja2.Environment(autoescape=True)
    jenv.filters["date"] = jinja_date
    service = MappingService()

    results: dict[str, Any] = {}
    for name in TWIG:
        twig_renders = [env.from_string(t).render for t in TWIG[name]]
        jinja_renders = [jenv.from_string(t).render for t in JINJA[name]]
        sample = records[7]
        ours = [r(sample) for r in twig_renders]
        theirs = [str(r(sample)) for r in jinja_renders]
        if name != "tutorial":  # the date may tick between the two renders
            assert ours == theirs, f"{name}: engines disagree: {ours} != {theirs}"
        twig_rate = rate(per_record(twig_renders), records, args.runs)
        jinja_rate = rate(per_record(jinja_renders), records, args.runs)
        entry: dict[str, Any] = {
            "templates": TWIG[name],
            "twig_engine_records_per_s": twig_rate["median"],
            "jinja2_records_per_s": jinja_rate["median"],
            "ratio_vs_jinja2": round(twig_rate["median"] / jinja_rate["median"], 2),
            "php_twig_records_per_s": None,
            "runs": {"twig": twig_rate["runs"], "jinja2": jinja_rate["runs"]},
        }
        if name != "plain":
            compiled = service.compile({"name": name, "mapping": dict(zip(KEYS, TWIG[name], strict=True))})
            mapped = rate(compiled, records, args.runs)
            entry["mapping_service_records_per_s"] = mapped["median"]
            entry["mapping_service_ratio_vs_jinja2"] = round(mapped["median"] / jinja_rate["median"], 2)
            entry["runs"]["mapping_service"] = mapped["runs"]
        results[name] = entry
        line = (
            f"{name:<9} twig engine {twig_rate['median']:>10,} records/s   jinja2 {jinja_rate['median']:>10,}"
            f"   ratio {entry['ratio_vs_jinja2']:>6.2f}x"
        )
        if "mapping_service_records_per_s" in entry:
            line += f"   MappingService {entry['mapping_service_records_per_s']:>10,}"
        print(line)
    print(
        json.dumps(
            {
                "bench": "twig",
                "records": args.records,
                "runs": args.runs,
                "jinja2": jinja2.__version__,
                "baseline": "jinja2, the same templates, measured in this run",
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
