"""The DCAT-AP-NL feed as served over HTTP: formats, caching, paging, and one SHACL check.

The graph itself is tested in test_dcat.py; here it is what a harvester gets
from the route: the same datasets the public list shows, in each format.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, RDF

from openconnector.catalog.service import CatalogService
from openconnector.catalog.woo import install_woo
from openconnector.register.objects import ObjectService

API = "/index.php/apps/opencatalogi/api"
FEED = f"{API}/catalogs/publications/dcat"
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
RDFLIB = {"jsonld": "json-ld", "turtle": "turtle", "rdfxml": "xml"}
MEDIA = {"jsonld": "application/ld+json", "turtle": "text/turtle", "rdfxml": "application/rdf+xml"}
SHAPES = Path(
    os.environ.get("DCAT_AP_NL_SHAPES", Path(__file__).resolve().parents[1] / "data" / "dcat-ap-nl")
)
PAST = "2020-06-01T12:00:00+00:00"


@pytest.fixture
def pets(context):  # type: ignore[no-untyped-def]
    install_woo(context)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return ObjectService(context).save_objects(
        [
            {
                "title": "Bella",
                "category": "Dogs",
                "status": "Published",
                "publicatiedatum": PAST,
                "keywords": ["dog"],
                "contactEmail": "dieren@example.nl",
                "distributions": [{"title": "CSV", "accessURL": "https://example.nl/bella.csv"}],
            },
            {"title": "Luna", "category": "Cats", "status": "Published", "publicatiedatum": PAST},
            {"title": "Daisy", "category": "Verkeer", "publicatiedatum": PAST},
            {"title": "Rex", "category": "Dogs", "publicatiedatum": future},
            {"title": "Max", "category": "Dogs"},
        ],
        "dcat",
        "dataset",
    )


def datasets(graph: Graph) -> set[str]:
    return {str(s).rsplit("/", 1)[-1] for s in graph.subjects(RDF.type, DCAT.Dataset)}


@pytest.mark.parametrize("fmt", list(RDFLIB))
def test_the_feed_parses_in_every_format_and_holds_only_published_datasets(client, pets, fmt):
    by_param = client.get(FEED, params={"format": fmt}, auth=None)
    by_accept = client.get(FEED, headers={"Accept": MEDIA[fmt]}, auth=None)
    for response in (by_param, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == MEDIA[fmt]
        assert response.headers["vary"] == "Accept"
        graph = Graph().parse(data=response.content, format=RDFLIB[fmt])
        assert datasets(graph) == {p["id"] for p in pets[:3]}
    # the only difference: page links keep ?format= so a harvester stays in its format
    assert b"format=" + fmt.encode() in by_param.content and b"format=" not in by_accept.content


def test_the_feed_themes_categories_through_the_catalog_mapping(client, pets):
    graph = Graph().parse(data=client.get(FEED, params={"format": "turtle"}).content, format="turtle")
    themes = {
        str(s).rsplit("/", 1)[-1]: str(o).rsplit("/", 1)[-1] for s, o in graph.subject_objects(DCAT.theme)
    }
    assert themes == {pets[0]["id"]: "AGRI", pets[1]["id"]: "AGRI", pets[2]["id"]: "TRAN"}


def test_json_ld_is_the_default_and_unsupported_formats_are_406(client, pets):
    assert client.get(FEED).headers["content-type"] == "application/ld+json"
    refused = client.get(FEED, headers={"Accept": "text/html"}, auth=None)
    assert refused.status_code == 406
    assert refused.json()["supported"] == ["jsonld", "turtle", "rdfxml"]
    assert client.get(FEED, params={"format": "csv"}).status_code == 406


def test_etag_and_last_modified_answer_304(client, pets):
    first = client.get(FEED, params={"format": "turtle"}, auth=None)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert client.get(FEED, params={"format": "turtle"}, headers={"If-None-Match": etag}).status_code == 304
    assert (
        client.get(FEED, params={"format": "turtle"}, headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    assert client.get(FEED, params={"format": "jsonld"}, headers={"If-None-Match": etag}).status_code == 200
    # a newly published dataset changes the ETag
    ObjectService().save_object({"title": "Milo", "publicatiedatum": PAST}, "dcat", "dataset")
    changed = client.get(FEED, params={"format": "turtle"}, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    head = client.head(FEED, params={"format": "turtle"})
    assert head.status_code == 200 and head.headers["etag"] == changed.headers["etag"] and not head.content


def test_the_feed_pages_by_a_thousand_with_hydra_links(client, context):
    install_woo(context)
    ObjectService(context).save_objects(
        [{"title": f"Pet {n}", "publicatiedatum": PAST} for n in range(1001)], "dcat", "dataset"
    )
    first = Graph().parse(data=client.get(FEED, params={"format": "turtle"}).content, format="turtle")
    second_response = client.get(FEED, params={"format": "turtle", "page": "2"})
    second = Graph().parse(data=second_response.content, format="turtle")
    assert (len(datasets(first)), len(datasets(second))) == (1000, 1)
    view = next(second.subjects(RDF.type, HYDRA.PartialCollectionView))
    assert str(second.value(view, HYDRA.previous)).endswith("format=turtle&page=1")
    assert second.value(view, HYDRA.totalItems) == Literal(1001)
    assert (view, HYDRA.next, None) not in second
    assert client.get(FEED, params={"page": "3"}).status_code == 404
    assert client.get(FEED, params={"page": "0"}).status_code == 400


def test_the_instance_feed_holds_every_dcat_catalog_and_skips_the_others(client, pets, context):
    catalogs = CatalogService(context)
    catalogs.create({"title": "Honden", "registers": ["dcat"], "schemas": ["dataset"], "hasDcat": True})
    catalogs.create({"title": "Intern", "registers": ["dcat"], "schemas": ["dataset"]})
    graph = Graph().parse(
        data=client.get(f"{API}/dcat", params={"format": "turtle"}).content, format="turtle"
    )
    feeds = {str(c).rsplit("/", 2)[-2] for c in graph.subjects(RDF.type, DCAT.Catalog)}
    assert feeds == {"publications", "honden"}
    assert client.get(f"{API}/catalogs/intern/dcat").status_code == 404
    assert client.get(f"{API}/catalogs/nope/dcat").json()["error"] == "Catalog not found"


def test_dataset_iris_are_the_public_detail_urls(client, pets):
    graph = Graph().parse(data=client.get(FEED, params={"format": "turtle"}).content, format="turtle")
    iri = URIRef(f"http://testserver{API}/publications/{pets[0]['id']}")
    assert (iri, RDF.type, DCAT.Dataset) in graph
    assert client.get(str(iri).removeprefix("http://testserver"), auth=None).json()["title"] == "Bella"


def test_the_served_turtle_conforms_to_dcat_ap_nl(client, pets):
    from pyshacl import validate

    shapes = Graph()
    for name in ("dcat-ap-SHACL.ttl", "dcat-ap-nl-SHACL.ttl"):
        shapes.parse(SHAPES / name, format="turtle")
    served = Graph().parse(data=client.get(FEED, params={"format": "turtle"}).content, format="turtle")
    conforms, _, text = validate(served, shacl_graph=shapes, inference="none", advanced=True)
    assert conforms, text
