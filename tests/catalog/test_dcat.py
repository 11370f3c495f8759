"""The DCAT-AP-NL feed: conformance to the Geonovum shapes, defaults, formats, paging.

The conformance yardstick is ``dcat-ap-SHACL.ttl`` plus ``dcat-ap-nl-SHACL.ttl``
loaded into one shapes graph (the profile's own rule). Each feed is
serialised, parsed back from the bytes and validated, in all three formats,
so what is checked is what a harvester receives. Shapes are read from
``tests/data/dcat-ap-nl`` (Geonovum's files, see the README there; ``$DCAT_AP_NL_SHAPES``
overrides it to try another version).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD

from openconnector.catalog.dcat import UnsupportedFormat, build_graph, negotiate, serialize
from openconnector.errors import OpenConnectorError

SHAPES_DIR = Path(
    os.environ.get("DCAT_AP_NL_SHAPES", str(Path(__file__).resolve().parents[1] / "data" / "dcat-ap-nl"))
)
YARDSTICK = ("dcat-ap-SHACL.ttl", "dcat-ap-nl-SHACL.ttl")
SH = Namespace("http://www.w3.org/ns/shacl#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"
RDFLIB_FORMAT = {"jsonld": "json-ld", "turtle": "turtle", "rdfxml": "xml"}
MEDIA_TYPE = {"jsonld": "application/ld+json", "turtle": "text/turtle", "rdfxml": "application/rdf+xml"}

BASE = "https://data.example.nl"
FEED = f"{BASE}/index.php/apps/opencatalogi/api/catalogs/publications/dcat"
API = f"{BASE}/index.php/apps/opencatalogi/api/publications/"

# The tutorial's catalog as seeded: a slug and a title, nothing else.
BARE_CATALOG: dict[str, Any] = {"slug": "publications", "title": "Publicaties"}
FULL_CATALOG: dict[str, Any] = {
    "slug": "publications",
    "title": "Open data Amsterdam",
    "description": "Datasets van de gemeente Amsterdam.",
    "homepage": "https://www.amsterdam.nl/opendata",
    "publisher": "Gemeente Amsterdam",
    "publisherUri": "https://identifier.overheid.nl/tooi/id/gemeente/gm0363",
    "contactPoint": {
        "name": "Team Open Data",
        "email": "opendata@amsterdam.nl",
        "url": "https://www.amsterdam.nl/contact",
    },
    "license": "http://creativecommons.org/licenses/by/4.0/deed.nl",
    "defaultTheme": "GOVE",
    "themeMapping": {"Dogs": "AGRI", "katten": "Landbouw, visserij, bosbouw en voeding"},
    "language": "NLD",
    "modified": "2026-10-01T08:30:00+02:00",
}

# The tutorial's objects: title, category, status, publicatiedatum; id and @self from the register.
PETS: list[dict[str, Any]] = [
    {
        "id": f"5f0c6c1e-0000-4000-8000-00000000000{n}",
        "title": title,
        "category": category,
        "status": "Published",
        "publicatiedatum": "2026-11-29T10:00:00+00:00",
        "@self": {
            "id": f"5f0c6c1e-0000-4000-8000-00000000000{n}",
            "register": "1",
            "schema": "1",
            "created": "2026-11-28T09:00:00+00:00",
            "updated": "2026-11-28T09:15:00+00:00",
        },
    }
    for n, (title, category) in enumerate(
        [("Bella", "Dogs"), ("Max", "Dogs"), ("Luna", "Cats"), ("Tweety", "Birds")]
    )
]
RICH: dict[str, Any] = {
    "id": "7d2b3a10-9c1e-4e55-a3a1-2f6d1c0b9e01",
    "title": "Hondenbelasting per wijk",
    "description": "Aantal aangemelde honden per wijk, per jaar.",
    "category": "Dogs",
    "theme": "ECON",
    "status": "gepubliceerd",
    "publicatiedatum": "2026-03-01T09:00:00+01:00",
    "keywords": ["honden", "belasting", "wijken", "honden"],
    "publisher": "https://identifier.overheid.nl/tooi/id/gemeente/gm0363",
    "contactEmail": "belastingen@amsterdam.nl",
    "license": "CC-BY-4.0",
    "accessRights": "PUBLIC",
    "language": "nl",
    "landingPage": "https://www.amsterdam.nl/belastingen/hondenbelasting",
    "distributions": [
        {
            "title": "Honden per wijk (CSV)",
            "accessURL": "https://data.amsterdam.nl/honden",
            "downloadURL": "https://data.amsterdam.nl/honden/honden-per-wijk.csv",
            "mediaType": "text/csv",
            "byteSize": 48213,
        },
        {
            "title": "Honden per wijk (API)",
            "accessURL": "https://api.data.amsterdam.nl/honden/v1",
            "format": "JSON",
            "license": "http://creativecommons.org/publicdomain/zero/1.0/deed.nl",
        },
        {"title": "zonder URL wordt overgeslagen"},
    ],
    "@self": {
        "id": "7d2b3a10-9c1e-4e55-a3a1-2f6d1c0b9e01",
        "register": "2",
        "schema": "3",
        "created": "2026-02-01T10:00:00+00:00",
        "updated": "2026-03-02T11:00:00+00:00",
    },
}
# Input an editor or a sync can produce: wrong types, bad dates, URLs with spaces.
MESSY: dict[str, Any] = {
    "@self": {"id": "c0ffee00-0000-4000-8000-000000000001", "updated": "niet een datum"},
    "title": 12345,
    "description": "   ",
    "category": ["not", "a", "string"],
    "theme": "https://publications.europa.eu/resource/authority/data-theme/TRAN/",
    "status": "iets anders",
    "publicatiedatum": "29-11-2026",
    "keywords": "fiets, parkeren , ,stalling",
    "publisher": {"name": "Vervoerregio", "uri": "not a uri"},
    "contactEmail": "geen e-mail",
    "contactUrl": "https://example.nl/contact formulier",
    "license": "onbekend",
    "accessRights": "https://publications.europa.eu/resource/authority/access-right/RESTRICTED",
    "language": "xx-yy",
    "landingPage": "javascript:alert(1)",
    "distributions": [
        {"downloadURL": "https://example.nl/data set.xlsx", "byteSize": -5},
        {
            "accessURL": "ftp://example.nl/pub/data.zip",
            "byteSize": "12",
            "mediaType": "application/zip; charset=binary",
        },
        "not a distribution",
    ],
}


def feed(catalog: dict[str, Any], datasets: list[dict[str, Any]], **kwargs: Any) -> Graph:
    return build_graph(catalog, datasets, base_url=BASE, feed_url=FEED, **kwargs)


def reparse(graph: Graph, fmt: str) -> Graph:
    body, media_type = serialize(graph, fmt)
    assert media_type == MEDIA_TYPE[fmt]
    return Graph().parse(data=body, format=RDFLIB_FORMAT[fmt])


@pytest.fixture(scope="module")
def yardstick() -> Graph:
    missing = [name for name in YARDSTICK if not (SHAPES_DIR / name).exists()]
    assert not missing, f"DCAT-AP-NL shapes missing from {SHAPES_DIR}: {missing}"
    shapes = Graph()
    for name in YARDSTICK:
        shapes.parse(SHAPES_DIR / name, format="turtle")
    return shapes


def shacl_results(data: Graph, shapes: Graph) -> list[tuple[str, str]]:
    """(severity, readable line) for every result, so a failing test says what to fix."""
    from pyshacl import validate

    _, report, _ = validate(data, shacl_graph=shapes, inference="none", advanced=True)
    results = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        severity = str(report.value(result, SH.resultSeverity)).rsplit("#", 1)[-1]
        line = (
            f"{severity}: {report.value(result, SH.focusNode)} "
            f"path={report.value(result, SH.resultPath)} value={report.value(result, SH.value)} "
            f"-- {report.value(result, SH.resultMessage)} (shape {report.value(result, SH.sourceShape)})"
        )
        results.append((severity, line))
    return sorted(results)


def violations(data: Graph, shapes: Graph) -> list[str]:
    return [line for severity, line in shacl_results(data, shapes) if severity == "Violation"]


CASES = {
    "tutorial pets, bare catalog": (BARE_CATALOG, PETS),
    "tutorial pets, full catalog": (FULL_CATALOG, PETS),
    "rich dataset, full catalog": (FULL_CATALOG, [RICH]),
    "messy input, bare catalog": (BARE_CATALOG, [MESSY, *PETS[:1]]),
}


# --------------------------------------------------------------------------- conformance


@pytest.mark.parametrize("fmt", ["jsonld", "turtle", "rdfxml"])
@pytest.mark.parametrize("case", list(CASES))
def test_feed_has_no_dcat_ap_nl_violations_after_a_round_trip(case: str, fmt: str, yardstick: Graph) -> None:
    catalog, datasets = CASES[case]
    parsed = reparse(feed(catalog, datasets), fmt)
    found = violations(parsed, yardstick)
    assert not found, f"{len(found)} DCAT-AP-NL violations in {fmt} ({case}):\n" + "\n".join(found)


@pytest.mark.parametrize("fmt", ["jsonld", "turtle", "rdfxml"])
@pytest.mark.parametrize("case", list(CASES))
def test_serialisation_carries_the_whole_graph(case: str, fmt: str) -> None:
    catalog, datasets = CASES[case]
    graph = feed(catalog, datasets)
    assert isomorphic(reparse(graph, fmt), Graph() + graph)


def test_empty_page_builds_but_cannot_conform(yardstick: Graph) -> None:
    """DCAT-AP-NL wants >= 1 dcat:dataset per catalog; an empty catalog is the one feed we cannot make valid."""
    found = violations(reparse(feed(FULL_CATALOG, []), "turtle"), yardstick)
    assert len(found) == 1 and "CatalogShape_dataset_minCount" in found[0], found


def test_report_what_the_other_shape_files_say(yardstick: Graph) -> None:
    """Reported, not asserted: klassebereik, klassebereik-codelijsten and aanbevolen (run with -s to read)."""
    data = reparse(feed(FULL_CATALOG, [RICH, *PETS]), "turtle")
    lines = []
    for name in (
        "dcat-ap-nl-SHACL-klassebereik.ttl",
        "dcat-ap-nl-SHACL-klassebereik-codelijsten.ttl",
        "dcat-ap-nl-SHACL-aanbevolen.ttl",
    ):
        shapes = Graph().parse(SHAPES_DIR / name, format="turtle")
        results = shacl_results(data, shapes)
        by_kind = Counter(
            (severity, re.split(r"[/#]", re.sub(r".*path=(\S+).*", r"\1", line))[-1])
            for severity, line in results
        )
        summary = ", ".join(f"{n}x {sev} {path}" for (sev, path), n in sorted(by_kind.items())) or "conforms"
        lines.append(f"{name}: {summary}")
    print("\n" + "\n".join(lines))


# --------------------------------------------------------------------------- mapping and defaults


def one(graph: Graph, subject: Any, predicate: URIRef) -> Any:
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, f"{subject} {predicate}: {values}"
    return values[0]


def dataset_iri(uuid: str) -> URIRef:
    return URIRef(API + uuid)


def test_bare_pet_gets_every_mandatory_property_from_defaults() -> None:
    g = feed(BARE_CATALOG, PETS[:1])
    d = dataset_iri(PETS[0]["id"])
    assert one(g, d, DCTERMS.title) == Literal("Bella", lang="nl")
    assert one(g, d, DCTERMS.description) == Literal("Bella", lang="nl")
    assert one(g, d, DCTERMS.identifier) == Literal(str(d))
    assert one(g, d, DCAT.landingPage) == d
    assert one(g, d, DCTERMS.accessRights) == URIRef(EU + "access-right/PUBLIC")
    assert one(g, d, DCAT.theme) == URIRef(EU + "data-theme/GOVE")  # "Dogs" unmapped in a bare catalog
    assert one(g, d, DCTERMS.language) == URIRef(EU + "language/NLD")
    assert one(g, d, URIRef("http://www.w3.org/ns/adms#status")) == URIRef(EU + "dataset-status/COMPLETED")
    assert one(g, d, DCTERMS.issued) == Literal("2026-11-29T10:00:00+00:00", datatype=XSD.dateTime)
    assert one(g, d, DCTERMS.modified) == Literal("2026-11-28T09:15:00+00:00", datatype=XSD.dateTime)
    publisher = one(g, d, DCTERMS.publisher)
    assert one(g, d, DCTERMS.creator) == publisher
    assert one(g, publisher, FOAF.name) == Literal("Publicaties", lang="nl")  # the catalog title
    assert list(g.objects(d, DCAT.distribution)) == []  # conditional in DCAT-AP-NL: none invented


def test_contact_point_falls_back_to_a_page_never_to_a_made_up_address() -> None:
    g = feed(BARE_CATALOG, PETS[:1])
    contact = one(g, dataset_iri(PETS[0]["id"]), DCAT.contactPoint)
    assert set(g.objects(contact, RDF.type)) == {VCARD.Organization, VCARD.Kind}
    assert one(g, contact, VCARD.hasURL) == URIRef(BASE + "/")
    assert list(g.objects(contact, VCARD.hasEmail)) == []
    homepage = feed({**BARE_CATALOG, "homepage": "https://www.example.nl"}, PETS[:1])
    assert one(homepage, URIRef(FEED + "#contactpoint"), VCARD.hasURL) == URIRef("https://www.example.nl")


def test_catalog_settings_fill_publisher_contact_licence_and_theme() -> None:
    g = feed(FULL_CATALOG, PETS)
    catalog = URIRef(FEED)
    tooi = URIRef(FULL_CATALOG["publisherUri"])
    assert one(g, catalog, DCTERMS.publisher) == tooi
    assert one(g, tooi, FOAF.name) == Literal("Gemeente Amsterdam", lang="nl")
    contact = one(g, catalog, DCAT.contactPoint)
    assert one(g, contact, VCARD.hasEmail) == URIRef("mailto:opendata@amsterdam.nl")
    assert one(g, contact, VCARD.fn) == Literal("Team Open Data", lang="nl")
    assert one(g, catalog, DCTERMS.license) == URIRef(FULL_CATALOG["license"])
    assert one(g, catalog, FOAF.homepage) == URIRef(FULL_CATALOG["homepage"])
    assert one(g, catalog, DCTERMS.modified) == Literal("2026-10-01T08:30:00+02:00", datatype=XSD.dateTime)
    themes = {p["title"]: one(g, dataset_iri(p["id"]), DCAT.theme) for p in PETS}
    assert themes == {
        "Bella": URIRef(EU + "data-theme/AGRI"),  # mapping "Dogs"
        "Max": URIRef(EU + "data-theme/AGRI"),
        "Luna": URIRef(EU + "data-theme/GOVE"),  # "Cats" is not mapped ("katten" is): defaultTheme
        "Tweety": URIRef(EU + "data-theme/GOVE"),
    }


@pytest.mark.parametrize(
    ("dataset", "catalog", "expected"),
    [
        ({"category": "dogs"}, {"themeMapping": {"Dogs": "AGRI"}}, "AGRI"),  # mapping keys ignore case
        ({"category": "Katten"}, {"themeMapping": {"katten": "Landbouw"}}, "AGRI"),  # values may be labels
        ({"category": "TRAN"}, {}, "TRAN"),  # already an EU code
        ({"category": "Verkeer en vervoer"}, {}, "TRAN"),  # a Dutch alias
        ({"category": "Dogs", "theme": f"{EU}data-theme/HEAL"}, {"themeMapping": {"Dogs": "AGRI"}}, "HEAL"),
        ({"category": "Dogs"}, {"defaultTheme": "ENVI"}, "ENVI"),
        ({}, {"defaultTheme": "XYZ"}, "GOVE"),  # a bad default is logged, not fatal
    ],
)
def test_theme_comes_from_theme_then_mapping_then_code_then_default(
    dataset: dict[str, Any], catalog: dict[str, Any], expected: str
) -> None:
    g = feed({**BARE_CATALOG, **catalog}, [{"id": "a1", "title": "t", **dataset}])
    theme = one(g, dataset_iri("a1"), DCAT.theme)
    assert theme == URIRef(EU + "data-theme/" + expected)
    assert (theme, RDF.type, SKOS.Concept) in g and len(list(g.objects(theme, SKOS.prefLabel))) == 2


def test_rich_dataset_maps_every_field() -> None:
    g = feed(FULL_CATALOG, [RICH])
    d = dataset_iri(RICH["id"])
    assert one(g, d, DCAT.theme) == URIRef(EU + "data-theme/ECON")
    assert set(g.objects(d, DCAT.keyword)) == {
        Literal(w, lang="nl") for w in ("honden", "belasting", "wijken")
    }
    assert one(g, d, DCAT.landingPage) == URIRef(RICH["landingPage"])
    assert one(g, d, DCTERMS.publisher) == URIRef(FULL_CATALOG["publisherUri"])
    contact = one(g, d, DCAT.contactPoint)
    assert one(g, contact, VCARD.hasEmail) == URIRef("mailto:belastingen@amsterdam.nl")
    assert one(g, contact, VCARD.fn) == Literal("Gemeente Amsterdam", lang="nl")
    assert one(g, d, DCTERMS.issued) == Literal("2026-03-01T09:00:00+01:00", datatype=XSD.dateTime)

    csv, api = sorted(g.objects(d, DCAT.distribution))  # the one without a URL is left out
    assert one(g, csv, DCAT.accessURL) == URIRef("https://data.amsterdam.nl/honden")
    assert one(g, csv, DCAT.downloadURL) == URIRef("https://data.amsterdam.nl/honden/honden-per-wijk.csv")
    assert one(g, csv, DCAT.mediaType) == URIRef("https://www.iana.org/assignments/media-types/text/csv")
    assert one(g, csv, DCTERMS.format) == URIRef(EU + "file-type/CSV")
    assert one(g, csv, DCAT.byteSize) == Literal("48213", datatype=XSD.nonNegativeInteger)
    assert one(g, csv, DCTERMS.license) == URIRef(
        "http://creativecommons.org/licenses/by/4.0/deed.nl"
    )  # "CC-BY-4.0"
    assert one(g, api, DCTERMS.format) == URIRef(EU + "file-type/JSON")
    assert one(g, api, DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/application/json"
    )
    assert one(g, api, DCTERMS.license) == URIRef("http://creativecommons.org/publicdomain/zero/1.0/deed.nl")


def test_messy_input_is_cleaned_or_left_out() -> None:
    g = feed(BARE_CATALOG, [MESSY])
    d = dataset_iri(MESSY["@self"]["id"])
    assert one(g, d, DCTERMS.title) == Literal("12345", lang="nl")
    assert one(g, d, DCTERMS.description) == Literal("12345", lang="nl")
    assert one(g, d, DCAT.theme) == URIRef(EU + "data-theme/TRAN")
    assert one(g, d, DCTERMS.accessRights) == URIRef(EU + "access-right/RESTRICTED")
    assert list(g.objects(d, DCTERMS.issued)) == [] and list(g.objects(d, DCTERMS.modified)) == []
    assert list(g.objects(d, URIRef("http://www.w3.org/ns/adms#status"))) == []
    assert set(g.objects(d, DCAT.keyword)) == {
        Literal(w, lang="nl") for w in ("fiets", "parkeren", "stalling")
    }
    assert one(g, d, DCAT.landingPage) == d  # javascript: is not a landing page
    publisher = one(g, d, DCTERMS.publisher)
    assert isinstance(publisher, BNode) and one(g, publisher, FOAF.name) == Literal("Vervoerregio", lang="nl")
    contact = one(g, d, DCAT.contactPoint)
    assert one(g, contact, VCARD.hasURL) == URIRef("https://example.nl/contact%20formulier")
    xlsx, zipped = sorted(g.objects(d, DCAT.distribution))
    assert one(g, xlsx, DCAT.accessURL) == URIRef(
        "https://example.nl/data%20set.xlsx"
    )  # downloadURL stands in
    assert one(g, xlsx, DCTERMS.format) == URIRef(EU + "file-type/XLSX")
    assert list(g.objects(xlsx, DCAT.byteSize)) == []
    assert one(g, xlsx, DCTERMS.license) == URIRef("http://creativecommons.org/publicdomain/zero/1.0/deed.nl")
    assert one(g, zipped, DCAT.mediaType) == URIRef(
        "https://www.iana.org/assignments/media-types/application/zip"
    )
    assert one(g, zipped, DCAT.byteSize) == Literal("12", datatype=XSD.nonNegativeInteger)


def test_objects_without_id_or_seen_before_are_skipped(caplog: pytest.LogCaptureFixture) -> None:
    later = {**PETS[0], "title": "Bella 2", "@self": {**PETS[0]["@self"], "updated": "2027-01-01T00:00:00Z"}}
    g = feed(BARE_CATALOG, [{"title": "zonder id"}, PETS[0], later])
    assert list(g.objects(URIRef(FEED), DCAT.dataset)) == [dataset_iri(PETS[0]["id"])]
    assert one(g, dataset_iri(PETS[0]["id"]), DCTERMS.title) == Literal("Bella", lang="nl")
    assert "without id" in caplog.text and "second object" in caplog.text


def test_publisher_object_uses_its_uri_and_name() -> None:
    g = feed(
        BARE_CATALOG,
        [
            {
                "id": "p",
                "title": "t",
                "publisher": {"id": "42", "uri": "https://org.example/x", "name": "Org X"},
            }
        ],
    )
    publisher = one(g, dataset_iri("p"), DCTERMS.publisher)
    assert publisher == URIRef("https://org.example/x")
    assert one(g, publisher, FOAF.name) == Literal("Org X", lang="nl")


def test_same_input_gives_the_same_bytes_in_any_process() -> None:
    """ETags depend on it: no random blank-node labels, no hash-order output."""
    script = (
        "import hashlib, sys, json\n"
        "from openconnector.catalog.dcat import build_graph, serialize\n"
        "args = json.loads(sys.argv[1])\n"
        "g = build_graph(*args['pos'], **args['kw'])\n"
        "print(' '.join(hashlib.sha256(serialize(g, f)[0]).hexdigest() for f in ('jsonld', 'turtle', 'rdfxml')))\n"
    )
    args = json.dumps(
        {"pos": [FULL_CATALOG, [MESSY, RICH, *PETS]], "kw": {"base_url": BASE, "feed_url": FEED}}
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script, args],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1, digests


# --------------------------------------------------------------------------- paging


def page_links(g: Graph, page: int) -> dict[str, Any]:
    view = one(g, URIRef(FEED), HYDRA.view)
    assert view == URIRef(f"{FEED}?page={page}")
    assert {HYDRA.PartialCollectionView, HYDRA.PagedCollection} <= set(g.objects(view, RDF.type))
    links: dict[str, Any] = {}
    for name in ("first", "previous", "next", "last", "totalItems", "itemsPerPage"):
        values = list(g.objects(view, HYDRA[name]))
        links[name] = (
            None if not values else values[0].toPython() if isinstance(values[0], Literal) else str(values[0])
        )
    return links


@pytest.mark.parametrize(
    ("page", "count", "total", "expected"),
    [
        (1, 1000, 2500, {"first": 1, "previous": None, "next": 2, "last": 3, "totalItems": 2500}),
        (2, 1000, 2500, {"first": 1, "previous": 1, "next": 3, "last": 3, "totalItems": 2500}),
        (3, 500, 2500, {"first": 1, "previous": 2, "next": None, "last": 3, "totalItems": 2500}),
        (1, 4, 4, {"first": 1, "previous": None, "next": None, "last": 1, "totalItems": 4}),
        (1, 1000, None, {"first": 1, "previous": None, "next": 2, "last": None, "totalItems": None}),
        (2, 7, None, {"first": 1, "previous": 1, "next": None, "last": 2, "totalItems": 1007}),
        (4, 0, 2500, {"first": 1, "previous": 3, "next": None, "last": 3, "totalItems": 2500}),
    ],
)
def test_hydra_links_follow_page_and_total(page: int, count: int, total: int | None, expected: dict) -> None:
    datasets = [{"id": f"id-{n}", "title": f"t{n}"} for n in range(count)]
    g = feed(BARE_CATALOG, datasets, page=page, per_page=1000, total=total)
    links = page_links(g, page)
    want = {
        key: (f"{FEED}?page={value}" if key in ("first", "previous", "next", "last") and value else value)
        for key, value in expected.items()
    }
    assert links == {**want, "itemsPerPage": 1000}


def test_page_links_keep_other_query_parameters_and_the_catalog_iri_does_not() -> None:
    g = build_graph(
        BARE_CATALOG, PETS, base_url=BASE, feed_url=f"{FEED}?format=turtle&page=9", page=1, per_page=2
    )
    assert list(g.subjects(RDF.type, DCAT.Catalog)) == [URIRef(FEED)]
    view = one(g, URIRef(FEED), HYDRA.view)
    assert str(view) == f"{FEED}?format=turtle&page=1"
    assert str(one(g, view, HYDRA.next)) == f"{FEED}?format=turtle&page=2"


def test_bad_paging_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="page"):
        feed(BARE_CATALOG, PETS, page=0)
    with pytest.raises(ValueError, match="feed_url"):
        build_graph(BARE_CATALOG, PETS, base_url=BASE, feed_url="/relative/dcat")
    with pytest.raises(ValueError, match="base_url"):
        build_graph(BARE_CATALOG, PETS, base_url="data.example.nl", feed_url=FEED)


# --------------------------------------------------------------------------- negotiation


@pytest.mark.parametrize(
    ("accept", "format_param", "expected"),
    [
        (None, None, "jsonld"),
        ("", None, "jsonld"),
        ("*/*", None, "jsonld"),
        ("application/ld+json", None, "jsonld"),
        ("application/json", None, "jsonld"),
        ("text/turtle", None, "turtle"),
        ("TEXT/Turtle; charset=utf-8", None, "turtle"),
        ("application/rdf+xml", None, "rdfxml"),
        ("text/turtle, application/ld+json", None, "turtle"),  # equal q: first listed
        ("*/*, text/turtle", None, "turtle"),  # equal q: exact type beats the wildcard
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", None, "turtle"),
        ("text/turtle;q=0, */*", None, "jsonld"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None, "jsonld"),  # a browser
        ("text/*", None, "turtle"),
        ("application/*", None, "jsonld"),
        ("text/html", "turtle", "turtle"),  # ?format= wins, even over an Accept we cannot serve
        ("text/turtle", "rdfxml", "rdfxml"),
        (None, "JSONLD", "jsonld"),
        (None, "ttl", "turtle"),
        (None, "rdf", "rdfxml"),
        ("text/turtle", "", "turtle"),  # an empty ?format= is no choice
    ],
)
def test_negotiation_table(accept: str | None, format_param: str | None, expected: str) -> None:
    assert negotiate(accept, format_param) == expected


@pytest.mark.parametrize(
    ("accept", "format_param"),
    [
        ("text/html", None),
        ("application/pdf, text/plain", None),
        ("text/turtle;q=0", None),
        (None, "csv"),
        ("*/*", "yaml"),
    ],
)
def test_unsupported_formats_raise_406_listing_what_we_serve(
    accept: str | None, format_param: str | None
) -> None:
    with pytest.raises(UnsupportedFormat) as raised:
        negotiate(accept, format_param)
    error = raised.value
    assert isinstance(error, ValueError) and isinstance(error, OpenConnectorError)
    assert error.status == 406
    for name, media_type in MEDIA_TYPE.items():
        assert name in error.message and media_type in error.message
    assert error.to_dict()["supported"] == ["jsonld", "turtle", "rdfxml"]


def test_serialize_refuses_unknown_format() -> None:
    with pytest.raises(UnsupportedFormat):
        serialize(feed(BARE_CATALOG, PETS), "n3")


def test_jsonld_is_one_flat_graph_with_prefixes() -> None:
    body, _ = serialize(feed(BARE_CATALOG, PETS[:1]), "jsonld")
    doc = json.loads(body)
    assert doc["@context"]["dcat"] == str(DCAT)
    types = {t for node in doc["@graph"] for t in node.get("@type", [])}
    assert {"dcat:Catalog", "dcat:Dataset", "hydra:PagedCollection"} <= types


# --------------------------------------------------------------------------- user text

NASTY = [
    '<script>alert("x")</script>',
    "quotes ' and \" and `backticks`",
    "line one\nline two\r\nline three\ttabbed",
    "Ëën café — ☕ 中文 🐶 ",
    "back\\slash \\n is not a newline \\u0041",
    '"""triple""" and \'\'\' too',
    "]]> & &amp; &lt; <![CDATA[x]]>",
    '"@nl ^^xsd:string <http://x> _:b0 .',
    '{"@id": "_:x", "@value": 1}',
]


def literals(graph: Graph, uuid: str) -> tuple[str, str, set[str]]:
    d = dataset_iri(uuid)
    return (
        str(one(graph, d, DCTERMS.title)),
        str(one(graph, d, DCTERMS.description)),
        {str(k) for k in graph.objects(d, DCAT.keyword)},
    )


@pytest.mark.parametrize("fmt", ["jsonld", "turtle", "rdfxml"])
def test_user_text_round_trips_as_literals(fmt: str) -> None:
    datasets = [
        {"id": f"n{i}", "title": text, "description": text + "\n" + text, "keywords": [text]}
        for i, text in enumerate(NASTY)
    ]
    graph = feed(BARE_CATALOG, datasets)
    body, _ = serialize(graph, fmt)
    if fmt == "rdfxml":
        assert b"<script>" not in body and b"&lt;script&gt;" in body
    parsed = Graph().parse(data=body, format=RDFLIB_FORMAT[fmt])
    for i, text in enumerate(NASTY):
        clean = text.strip()
        assert literals(parsed, f"n{i}") == (clean, (text + "\n" + text).strip(), {clean})


def test_characters_no_xml_document_can_carry_are_dropped() -> None:
    graph = feed(BARE_CATALOG, [{"id": "c", "title": "a\x00b\x07c\x1bd\ufffe\ud800e"}])
    for fmt in RDFLIB_FORMAT:
        assert literals(reparse(graph, fmt), "c")[0] == "abcde"


_DROPPED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.text(min_size=1, max_size=40))
def test_any_title_round_trips_in_every_format(text: str) -> None:
    clean = _DROPPED.sub("", text).strip()
    graph = feed(BARE_CATALOG, [{"id": "h", "title": text}])
    for fmt in RDFLIB_FORMAT:
        assert literals(reparse(graph, fmt), "h")[0] == (clean or "h")  # an empty title falls back to the id


# --------------------------------------------------------------------------- speed


@pytest.mark.parametrize("enabled", [True, False])
def test_garbage_collector_state_is_restored(enabled: bool) -> None:
    import gc

    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        serialize(feed(BARE_CATALOG, PETS), "turtle")
        with pytest.raises(UnsupportedFormat):
            serialize(feed(BARE_CATALOG, PETS), "n3")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_a_full_page_builds_and_serialises_quickly() -> None:
    """Guards against regressions like rdflib's Turtle writer (10 s for this page); bound is generous."""
    rich = [
        {**RICH, "id": f"r{n}", "title": f"{RICH['title']} {n}", "contactEmail": f"team{n % 10}@amsterdam.nl"}
        for n in range(1000)
    ]
    timings = {}
    start = time.perf_counter()
    graph = feed(FULL_CATALOG, rich, total=5000)
    timings["build"] = time.perf_counter() - start
    for fmt in ("jsonld", "turtle", "rdfxml"):
        start = time.perf_counter()
        body, _ = serialize(graph, fmt)
        timings[fmt] = time.perf_counter() - start
        assert hashlib.sha256(body).hexdigest()
    print(f"\n{len(graph)} triples: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in timings.items()))
    assert timings["build"] + timings["turtle"] < 6 and timings["build"] + timings["jsonld"] < 6, timings
