"""Harvesting a DCAT-AP-NL feed: this very service's feed (catalog/dcat.py), served by a
real server, harvested into a second instance: same titles, no duplicates on re-run,
a dataset removed at the source deleted at the harvester."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openconnector.api.app import create_app
from openconnector.catalog.woo import install_woo
from openconnector.connector.dcat_harvest import dataset_records, parse_feed
from openconnector.connector.sync import SynchronizationService
from openconnector.context import Context, set_context
from openconnector.errors import SourceRejected
from openconnector.register.objects import ObjectService

FEED = "/index.php/apps/opencatalogi/api/catalogs/publications/dcat"
PAST = "2020-06-01T12:00:00+00:00"


def _dataset(i: int) -> dict:
    return {
        "title": f"Dataset {i}",
        "description": f"Beschrijving {i}",
        "category": "Dogs" if i % 2 else "Verkeer",
        "publicatiedatum": PAST,
        "keywords": [f"k{i}", "woo"],
        "publisher": "Gemeente Voorbeeld",
        "distributions": [{"title": "CSV", "accessURL": f"https://example.nl/{i}.csv", "format": "CSV"}],
    }


@pytest.fixture
def publisher(tmp_path, settings):
    """Instance A: the Woo catalog with 25 published datasets, one unpublished, one future."""
    from dataclasses import replace

    from tests.conftest import LiveServer

    context = Context(replace(settings, data_dir=tmp_path / "publisher"))
    install_woo(context)
    objects = ObjectService(context)
    saved = objects.save_objects([_dataset(i) for i in range(1, 26)], "dcat", "dataset")
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    objects.save_objects(
        [{"title": "Concept", "category": "Dogs"}, {"title": "Later", "publicatiedatum": future}],
        "dcat",
        "dataset",
    )
    with LiveServer(create_app(context)) as server:
        yield server, objects, saved
    context.close()


def test_a_feed_of_this_service_is_harvested_into_a_second_instance(publisher, context):
    server, source_objects, saved = publisher
    set_context(context)
    install_woo(context)
    objects = ObjectService(context)
    source = objects.save_object(
        object={"name": "Buurgemeente", "type": "dcat", "location": server.url + FEED},
        register="openconnector",
        schema="source",
    )
    sync = objects.save_object(
        object={
            "name": "Harvest",
            "sourceId": source["id"],
            "sourceConfig": {"endpoint": "", "maxPages": 5},
            "targetId": "dcat/dataset",
        },
        register="openconnector",
        schema="synchronization",
    )
    run = SynchronizationService(context).synchronize(sync["id"])
    assert run["status"] == "success", run["message"]
    assert run["result"]["objects"]["created"] == 25, run["result"]
    harvested = objects.find_all("dcat", "dataset", limit=100)["results"]
    assert sorted(h["title"] for h in harvested) == sorted(f"Dataset {i}" for i in range(1, 26))
    one = next(h for h in harvested if h["title"] == "Dataset 3")
    assert one["description"] == "Beschrijving 3" and set(one["keywords"]) == {"k3", "woo"}
    assert one["theme"] == "AGRI" and one["distributions"][0]["accessURL"] == "https://example.nl/3.csv"
    assert one["publisher"] and one["publicatiedatum"].startswith("2020-06-01")

    again = SynchronizationService(context).synchronize(sync["id"])
    assert again["result"]["objects"]["created"] == 0 and again["result"]["objects"]["skipped"] == 25
    assert objects.find_all("dcat", "dataset", limit=0)["total"] == 25

    gone = next(s for s in saved if s["title"] == "Dataset 7")
    source_objects.delete_object(gone["id"], "dcat", "dataset")
    third = SynchronizationService(context).synchronize(sync["id"])
    assert third["result"]["objects"]["deleted"] == 1
    titles = {h["title"] for h in objects.find_all("dcat", "dataset", limit=100)["results"]}
    assert "Dataset 7" not in titles and len(titles) == 24


def test_the_three_formats_give_the_same_records(publisher):
    import httpx

    server, _, _ = publisher
    by_format = {}
    for fmt in ("turtle", "jsonld", "rdfxml"):
        answer = httpx.get(server.url + FEED, params={"format": fmt}, timeout=60)
        graph = parse_feed(answer.content, answer.headers["content-type"], "feed")
        by_format[fmt] = dataset_records(graph)
    assert len(by_format["turtle"]) == 25
    assert by_format["turtle"] == by_format["jsonld"] == by_format["rdfxml"]


def test_rdfxml_with_entities_and_jsonld_with_a_remote_context_are_refused():
    bomb = b'<!DOCTYPE r [<!ENTITY a "aaaa">]><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">&a;</rdf:RDF>'
    with pytest.raises(SourceRejected, match="entity"):
        parse_feed(bomb, "application/rdf+xml", "feed")
    with pytest.raises(SourceRejected, match="remote @context"):
        parse_feed(
            b'{"@context": "https://example.org/context.jsonld", "@id": "x"}', "application/ld+json", "f"
        )


PAGE = """@prefix dcat: <http://www.w3.org/ns/dcat#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix hydra: <http://www.w3.org/ns/hydra/core#> .
<{base}/feed> hydra:view <{base}/files/page{n}.ttl> .
<{base}/files/page{n}.ttl> a hydra:PartialCollectionView {next} .
{datasets}
"""


def test_a_paged_turtle_feed_is_followed_by_hydra_next(fake_api, context, make_dcat):
    make_dcat(context, description={"type": "string"}, modified={"type": "string"})
    for n, ids in ((1, range(1, 4)), (2, range(4, 6))):
        nxt = f"; hydra:next <{fake_api.url}/files/page2.ttl>" if n == 1 else ""
        datasets = "\n".join(
            f'<https://other.example/ds/{i}> a dcat:Dataset ; dct:title "Titel {i}"@nl, "Title {i}"@en ; '
            f'dct:modified "2024-01-0{i}" .'
            for i in ids
        )
        body = PAGE.format(base=fake_api.url, n=n, next=nxt, datasets=datasets)
        fake_api.files[f"page{n}.ttl"] = (body.encode(), "text/turtle")
    objects = ObjectService(context)
    save = lambda schema, data: objects.save_object(object=data, register="openconnector", schema=schema)  # noqa: E731
    source = save("source", {"name": "Other", "type": "dcat", "location": fake_api.url})
    sync = save(
        "synchronization",
        {
            "name": "h",
            "sourceId": source["id"],
            "sourceConfig": {"endpoint": "/files/page1.ttl"},
            "targetId": "dcat/dataset",
        },
    )
    run = SynchronizationService(context).synchronize(sync["id"])
    assert run["status"] == "success", run["message"]
    assert run["result"]["pages"] == 2 and run["result"]["objects"]["created"] == 5
    titles = sorted(o["title"] for o in objects.find_all("dcat", "dataset", limit=10)["results"])
    assert titles == [f"Titel {i}" for i in range(1, 6)]
