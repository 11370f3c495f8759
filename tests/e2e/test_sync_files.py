"""Must-show of issue 17: a synchronisation fetches the documents its records link to.

Records served by a local API (tests/connector/fake_api.py) carry document URLs
served by the same server, with ETags and Last-Modified. The run attaches the
files to the datasets; a re-run downloads nothing (only conditional requests,
no bodies); a changed file is fetched again, a removed one removed; a broken
link makes its record invalid, not the run. Anonymous users then see the
attachments of published datasets in the catalog, their bytes with the right
content type, the DCAT distributions (DCAT-AP-NL, 0 violations) and find the
dataset by words in its document; the files of an unpublished dataset answer 404.
Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import DCAT

from openconnector import ObjectService, SynchronizationService
from openconnector.catalog.woo import install_woo
from openconnector.files.extraction import TextExtractor
from openconnector.files.service import FileService

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "files"))
from documents import odt_bytes, pdf_bytes  # noqa: E402  (tests/files/documents.py)

API = "/index.php/apps/opencatalogi/api"
SHAPES = Path(
    os.environ.get("DCAT_AP_NL_SHAPES", Path(__file__).resolve().parents[1] / "data" / "dcat-ap-nl")
)
PAST = "2020-06-01T12:00:00+00:00"
FUTURE = "2099-01-01T00:00:00+00:00"
ODT = "application/vnd.oasis.opendocument.text"


def _save(objects: ObjectService, schema: str, data: dict) -> dict:
    return objects.save_object(object=data, register="openconnector", schema=schema)


@pytest.fixture
def woo(any_context, fake_api):  # type: ignore[no-untyped-def]
    install_woo(any_context)
    objects = ObjectService(any_context)
    besluit = fake_api.put_file("besluit-1.pdf", pdf_bytes("Besluit over de kastanjeboom"), "application/pdf")
    inventaris = fake_api.put_file("inventaris-1.odt", odt_bytes("Inventaris bomen Dorpsstraat"), ODT)
    concept = fake_api.put_file("concept-2.pdf", pdf_bytes("Geheim concept over de linde"), "application/pdf")
    fake_api.documents = [
        {
            "id": 1,
            "title": "Bomenkap",
            "publicatiedatum": PAST,
            "documents": [{"url": besluit, "name": "besluit.pdf"}, {"url": inventaris}],
        },
        {"id": 2, "title": "Concept", "publicatiedatum": FUTURE, "documents": [{"url": concept}]},
        {
            "id": 3,
            "title": "Kapot",
            "publicatiedatum": PAST,
            "documents": [{"url": f"{fake_api.url}/files/missing.pdf"}],
        },
    ]
    source = _save(
        objects,
        "source",
        {"name": "Woo API", "type": "api", "location": fake_api.url, "configuration": {"retries": 0}},
    )
    mapping = _save(
        objects,
        "mapping",
        {"name": "Woo", "mapping": {"title": "title", "publicatiedatum": "publicatiedatum"}},
    )
    sync = _save(
        objects,
        "synchronization",
        {
            "name": "Woo documents",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {
                "endpoint": "/documents",
                "resultsPosition": "results",
                "files": [{"path": "documents", "urlKey": "url", "nameKey": "name", "published": True}],
            },
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )
    return {"sync": sync, "objects": objects, "urls": (besluit, inventaris, concept)}


def _run(woo: dict) -> dict:
    return SynchronizationService().synchronize(woo["sync"]["id"])["result"]


def _dataset(woo: dict, title: str) -> dict:
    return woo["objects"].find_all("dcat", "dataset", filters={"title": title})["results"][0]


def test_synchronised_documents_are_attached_refreshed_published_and_searchable(
    any_client, any_context, fake_api, woo
):
    # 1. the first run downloads every linked file; the broken link makes its record invalid
    first = _run(woo)
    assert first["files"] == {"fetched": 3, "skipped": 0, "failed": 1, "deleted": 0}
    assert first["objects"]["created"] == 3
    assert [r["originId"] for r in first["invalid"]] == ["3"]
    assert "missing.pdf" in first["invalid"][0]["reason"]
    bomenkap, concept = _dataset(woo, "Bomenkap"), _dataset(woo, "Concept")
    files = FileService(any_context)
    attached = {f["title"]: f for f in files.list(bomenkap)}
    assert set(attached) == {"besluit.pdf", "inventaris-1.odt"}
    assert attached["besluit.pdf"]["type"] == "application/pdf"
    assert attached["inventaris-1.odt"]["type"] == ODT
    assert b"".join(files.open(bomenkap, attached["besluit.pdf"]["id"])) == fake_api.files["besluit-1.pdf"][0]

    # 2. a re-run downloads nothing: every request was conditional and answered 304
    fake_api.file_answers.clear()
    before = len(fake_api.requests)
    second = _run(woo)
    assert second["files"] == {"fetched": 0, "skipped": 3, "failed": 1, "deleted": 0}
    assert fake_api.file_bodies() == 0
    asked = [
        r for r in fake_api.requests[before:] if r.path.startswith("/files/") and "missing" not in r.path
    ]
    assert len(asked) == 3 and all(r.headers.get("if-none-match") for r in asked)
    assert {f["id"] for f in files.list(bomenkap)} == {f["id"] for f in attached.values()}

    # 3. a changed file is fetched again (same file, new bytes); a link that went away is removed
    fake_api.put_file("besluit-1.pdf", pdf_bytes("Herzien besluit over de kastanjeboom"), "application/pdf")
    fake_api.documents[0]["documents"] = fake_api.documents[0]["documents"][:1]
    third = _run(woo)
    assert third["files"] == {"fetched": 1, "skipped": 1, "failed": 1, "deleted": 1}
    now = {f["title"]: f for f in files.list(bomenkap)}
    assert set(now) == {"besluit.pdf"} and now["besluit.pdf"]["id"] == attached["besluit.pdf"]["id"]
    assert now["besluit.pdf"]["hash"] != attached["besluit.pdf"]["hash"]
    assert b"".join(files.open(bomenkap, now["besluit.pdf"]["id"])) == fake_api.files["besluit-1.pdf"][0]

    # 4. the anonymous catalog lists the attachment and serves its bytes with its type
    listed = any_client.get(f"{API}/publications/{bomenkap['id']}/attachments", auth=None).json()["results"]
    assert [f["title"] for f in listed] == ["besluit.pdf"]
    download = any_client.get(listed[0]["downloadUrl"].removeprefix("http://testserver"), auth=None)
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/pdf"
    assert download.content == fake_api.files["besluit-1.pdf"][0]

    # 5. the files of the unpublished dataset answer 404, whatever URL is tried
    hidden = files.list(concept)[0]
    assert any_client.get(f"{API}/publications/{concept['id']}/attachments", auth=None).status_code == 404
    for guess in (
        f"{API}/publications/{concept['id']}/attachments/{hidden['uuid']}/download",
        f"{API}/publications/{bomenkap['id']}/attachments/{hidden['uuid']}/download",
        f"{API}/publications/{concept['id']}/attachments/{hidden['id']}/download",
    ):
        assert any_client.get(guess, auth=None).status_code == 404, guess

    # 6. the DCAT feed has the distribution and still conforms to DCAT-AP-NL
    from pyshacl import validate

    feed = any_client.get(f"{API}/catalogs/publications/dcat", params={"format": "turtle"}, auth=None)
    graph = Graph().parse(data=feed.content, format="turtle")
    dataset = URIRef(f"http://testserver{API}/publications/{bomenkap['id']}")
    downloads = [str(graph.value(d, DCAT.downloadURL)) for d in graph.objects(dataset, DCAT.distribution)]
    assert downloads == [listed[0]["downloadUrl"]]
    assert hidden["uuid"] not in feed.text
    shapes = Graph()
    for name in ("dcat-ap-SHACL.ttl", "dcat-ap-nl-SHACL.ttl"):
        shapes.parse(SHAPES / name, format="turtle")
    conforms, _, text = validate(graph, shacl_graph=shapes, inference="none", advanced=True)
    assert conforms, text

    # 7. once the text is extracted (in the background), the catalog finds the dataset by its document
    TextExtractor(any_context).extract_pending()
    found = any_client.get(f"{API}/publications", params={"_search": "herzien"}, auth=None).json()
    assert [r["title"] for r in found["results"]] == ["Bomenkap"]
    assert any_client.get(f"{API}/publications", params={"_search": "linde"}, auth=None).json()["total"] == 0
