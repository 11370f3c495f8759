"""Benchmark: what searching the text of documents adds to the public catalog's ``_search``.

Not a test. Fills a fresh SQLite file with ``--count`` published datasets, attaches a
published text document of ``--chars`` characters to ``--files`` of them, extracts their
text with the real ``TextExtractor``, and times the published-catalog search (the
publication rule plus ``_search``) in-process through ``ObjectService.find_all``, twice:

    baseline    before the text is extracted: the full-text index holds the properties only
    documents   after: the documents' text is part of the index (``files/search_text.py``)

for a word found only in documents and a word found nowhere. Warm-up, then the median of
``--runs`` runs of ``--queries`` queries each; the ratio is documents / baseline. The last
line printed is a JSON summary::

    python bench/search_files.py                     # 20,000 datasets, 500 documents of 20,000 characters
    python bench/search_files.py --count 5000 --files 100 --runs 3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from openconnector.catalog.service import CatalogService
from openconnector.catalog.woo import install_woo
from openconnector.context import Context
from openconnector.files.extraction import TextExtractor
from openconnector.files.service import FileService
from openconnector.register.objects import ObjectService
from openconnector.register.search import parse_params
from openconnector.store.settings import Settings

WORDS = [
    "besluit",
    "gemeente",
    "verzoek",
    "openbaar",
    "document",
    "raad",
    "college",
    "wethouder",
    "bomen",
    "verkeer",
    "haven",
    "subsidie",
    "vergunning",
    "bestemmingsplan",
    "inventaris",
    "bijlage",
    "advies",
    "rapport",
    "notulen",
    "begroting",
]
PAST = "2020-06-01T12:00:00+00:00"


def fill(context: Context, count: int, files: int, chars: int) -> None:
    install_woo(context)
    objects = ObjectService(context)
    rng = random.Random(7)
    made = []
    for start in range(0, count, 1000):
        batch = [
            {
                "title": f"Dataset {n}",
                "description": " ".join(rng.choices(WORDS, k=12)),
                "publicatiedatum": PAST,
            }
            for n in range(start, min(count, start + 1000))
        ]
        made.extend(objects.save_objects(batch, "dcat", "dataset"))
    service = FileService(context)
    for n, obj in enumerate(made[:files]):
        words = rng.choices(WORDS, k=chars // 8)
        if n == files - 1:
            words.insert(0, "zeldzaamwoord")  # in one document only (the text is cut at --chars)
        text = " ".join(words)[:chars].encode()
        service.add(obj, text, name=f"doc-{n}.txt", content_type="text/plain", published=True)


def extract(context: Context) -> None:
    extractor = TextExtractor(context, batch=200)
    while extractor.extract_pending():
        pass


def found(context: Context, term: str) -> int:
    """How many published datasets the catalog's search finds for ``term``."""
    catalogs = CatalogService(context)
    pair = catalogs.resolved("publications")[1][0]
    query = parse_params([("_search", term), ("_limit", "0")])
    extra = [catalogs.visible(pair.schema)]
    return ObjectService(context).find_all(
        pair.register["id"], pair.schema["id"], query=query, extra_where=extra
    )["total"]


def timed(context: Context, term: str, queries: int) -> float:
    """Median seconds of one search, over ``queries`` searches."""
    catalogs = CatalogService(context)
    _, pairs = catalogs.resolved("publications")
    pair = pairs[0]
    objects = ObjectService(context)
    samples = []
    for _ in range(queries):
        query = parse_params([("_search", term)])
        started = time.perf_counter()
        objects.find_all(
            pair.register["id"], pair.schema["id"], query=query, extra_where=[catalogs.visible(pair.schema)]
        )
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--chars", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queries", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = replace(Settings(), data_dir=Path(tmp), scheduler=False, secret_key="bench")
        context = Context(settings)
        started = time.perf_counter()
        fill(context, args.count, args.files, args.chars)
        print(
            f"filled {args.count} datasets, {args.files} documents in {time.perf_counter() - started:.1f} s"
        )
        summary: dict[str, object] = {
            "bench": "search_files",
            "datasets": args.count,
            "documents": args.files,
            "chars": args.chars,
        }
        terms = (("only_in_documents", "zeldzaamwoord"), ("common", "gemeente"), ("nowhere", "xyzzyplugh"))
        baselines = {}
        for label, term in terms:
            timed(context, term, 2)  # warm-up
            baselines[label] = statistics.median(timed(context, term, args.queries) for _ in range(args.runs))
        found_before = found(context, "zeldzaamwoord")
        extract(context)
        summary["found_by_document_word"] = {"before": found_before, "after": found(context, "zeldzaamwoord")}
        print(f"datasets found by a word of one document: {summary['found_by_document_word']}")
        for label, term in terms:
            timed(context, term, 2)
            baseline = baselines[label]
            documents = statistics.median(timed(context, term, args.queries) for _ in range(args.runs))
            ratio = documents / baseline if baseline else float("inf")
            print(
                f"{label:18} baseline {baseline * 1000:7.1f} ms   documents {documents * 1000:7.1f} ms   "
                f"ratio {ratio:.2f}"
            )
            summary[label] = {
                "baseline_ms": round(baseline * 1000, 2),
                "documents_ms": round(documents * 1000, 2),
                "ratio": round(ratio, 2),
            }
        context.close()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
