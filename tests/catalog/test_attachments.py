"""Published files in the public catalog: listed, downloaded, described in DCAT, searched.

A file is public only when it is published and its object is published (the
catalog's one publication rule); anything else answers the same 404 whatever URL
is guessed. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, XSD

from openconnector.catalog.woo import install_woo
from openconnector.files.extraction import TextExtractor
from openconnector.files.service import FileService
from openconnector.register.objects import ObjectService

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "files"))
from documents import docx_bytes, odt_bytes, pdf_bytes  # noqa: E402  (tests/files/documents.py)

API = "/index.php/apps/opencatalogi/api"
FEED = f"{API}/catalogs/publications/dcat"
SPDX = Namespace("http://spdx.org/rdf/terms#")
SHAPES = Path(
    os.environ.get("DCAT_AP_NL_SHAPES", Path(__file__).resolve().parents[1] / "data" / "dcat-ap-nl")
)
PAST = "2020-06-01T12:00:00+00:00"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def woo(any_context):  # type: ignore[no-untyped-def]
    """Two published datasets and an unpublished one, with files published or not."""
    install_woo(any_context)
    objects = ObjectService(any_context)
    files = FileService(any_context)
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    public = objects.save_object({"title": "Bomenkap", "publicatiedatum": PAST}, "dcat", "dataset")
    other = objects.save_object({"title": "Verkeer", "publicatiedatum": PAST}, "dcat", "dataset")
    hidden = objects.save_object({"title": "Concept", "publicatiedatum": future}, "dcat", "dataset")
    made = {
        "besluit": files.add(
            public,
            pdf_bytes("Besluit op het Woo-verzoek over de kastanjeboom"),
            name="besluit.pdf",
            content_type="application/pdf",
            published=True,
        ),
        "notulen": files.add(
            public,
            docx_bytes("Interne notulen over de plataan"),
            name="notulen.docx",
            content_type=DOCX,
            published=False,
        ),
        "later": files.add(public, b"komt nog", name="later.txt", published=future),
        "other": files.add(
            other, odt_bytes("Verkeersbesluit Dorpsstraat"), name="verkeer.odt", published=True
        ),
        "hidden": files.add(
            hidden, pdf_bytes("Geheim concept over de linde"), name="concept.pdf", published=True
        ),
    }
    return {"public": public, "other": other, "hidden": hidden, "files": made}


def _list(client, dataset):  # type: ignore[no-untyped-def]
    return client.get(f"{API}/publications/{dataset['id']}/attachments", auth=None)


def test_only_published_files_of_a_published_dataset_are_listed(any_client, woo):
    answer = _list(any_client, woo["public"])
    assert answer.status_code == 200
    listed = answer.json()["results"]
    assert [f["title"] for f in listed] == ["besluit.pdf"]
    shown = listed[0]
    besluit = woo["files"]["besluit"]
    assert shown["id"] == besluit["uuid"]
    assert (shown["type"], shown["size"], shown["hash"]) == (
        "application/pdf",
        besluit["size"],
        besluit["hash"],
    )
    assert shown["downloadUrl"].startswith("http://testserver" + API + "/publications/")
    assert "accessUrl" in shown
    assert not {"owner", "source", "storage_key"} & set(shown)  # nothing only an admin may know


def test_a_published_file_downloads_anonymously_with_its_type_and_bytes(any_client, woo):
    shown = _list(any_client, woo["public"]).json()["results"][0]
    path = shown["downloadUrl"].removeprefix("http://testserver")
    got = any_client.get(path, auth=None)
    assert got.status_code == 200
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.content == b"".join(FileService().open(woo["public"], woo["files"]["besluit"]["id"]))
    again = any_client.get(path, headers={"If-None-Match": got.headers["etag"]}, auth=None)
    assert again.status_code == 304 and not again.content
    head = any_client.head(path, auth=None)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(got.content))
    described = any_client.get(shown["accessUrl"].removeprefix("http://testserver"), auth=None).json()
    assert described["title"] == "besluit.pdf"


def test_files_that_are_not_public_answer_404_whatever_url_is_guessed(any_client, woo):
    files = woo["files"]
    public, hidden = woo["public"]["id"], woo["hidden"]["id"]
    guesses = [
        (public, files["notulen"]["uuid"]),  # unpublished file of a published dataset
        (public, files["later"]["uuid"]),  # published tomorrow
        (public, files["other"]["uuid"]),  # a public file, but of another dataset
        (public, str(files["besluit"]["id"])),  # the admin's numeric id
        (public, "00000000-0000-0000-0000-000000000000"),
        (hidden, files["hidden"]["uuid"]),  # a published file of an unpublished dataset
        ("00000000-0000-0000-0000-000000000000", files["besluit"]["uuid"]),
    ]
    for dataset, file in guesses:
        for tail in ("", "/download"):
            answer = any_client.get(f"{API}/publications/{dataset}/attachments/{file}{tail}", auth=None)
            assert answer.status_code == 404, (dataset, file, tail)
            assert answer.json()["error"] in ("Attachment not found", "Publication not found")
    assert _list(any_client, woo["hidden"]).status_code == 404
    # a login changes nothing on public routes
    assert any_client.get(f"{API}/publications/{hidden}/attachments").status_code == 404


def test_the_feed_has_a_distribution_per_published_file_and_conforms(any_client, woo):
    from pyshacl import validate

    served = any_client.get(FEED, params={"format": "turtle"}, auth=None)
    graph = Graph().parse(data=served.content, format="turtle")
    dataset = URIRef(f"http://testserver{API}/publications/{woo['public']['id']}")
    distributions = list(graph.objects(dataset, DCAT.distribution))
    assert len(distributions) == 1
    node = distributions[0]
    besluit = woo["files"]["besluit"]
    download = graph.value(node, DCAT.downloadURL)
    assert str(download).endswith(f"/attachments/{besluit['uuid']}/download")
    assert graph.value(node, DCAT.accessURL) == download
    assert str(graph.value(node, DCAT.mediaType)).endswith("/application/pdf")
    assert graph.value(node, DCAT.byteSize) == Literal(str(besluit["size"]), datatype=XSD.nonNegativeInteger)
    checksum = graph.value(node, SPDX.checksum)
    assert graph.value(checksum, SPDX.checksumValue) == Literal(besluit["hash"], datatype=XSD.hexBinary)
    assert str(graph.value(checksum, SPDX.algorithm)).endswith("checksumAlgorithm_sha256")
    # the unpublished dataset and its file are not in the feed at all
    assert woo["files"]["hidden"]["uuid"] not in served.text and woo["hidden"]["id"] not in served.text
    # the download URL in the feed serves the bytes
    assert any_client.get(str(download).removeprefix("http://testserver"), auth=None).status_code == 200

    shapes = Graph()
    for name in ("dcat-ap-SHACL.ttl", "dcat-ap-nl-SHACL.ttl"):
        shapes.parse(SHAPES / name, format="turtle")
    conforms, _, text = validate(graph, shacl_graph=shapes, inference="none", advanced=True)
    assert conforms, text


def test_publishing_a_file_changes_the_feed_etag(any_client, woo):
    first = any_client.get(FEED, auth=None)
    FileService().publish(woo["public"], woo["files"]["notulen"]["id"])
    second = any_client.get(FEED, headers={"If-None-Match": first.headers["etag"]}, auth=None)
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]


def test_search_finds_a_dataset_by_words_in_its_published_file_once_extracted(any_client, any_context, woo):
    def found(word: str) -> set[str]:
        answer = any_client.get(f"{API}/publications", params={"_search": word}, auth=None)
        assert answer.status_code == 200
        return {r["title"] for r in answer.json()["results"]}

    assert found("kastanjeboom") == set()  # not extracted yet: uploads do not wait for it
    assert TextExtractor(any_context).extract_pending() == 5
    assert found("kastanjeboom") == {"Bomenkap"}  # PDF
    assert found("DORPSSTRAAT") == {"Verkeer"}  # ODT, any case
    assert found("plataan") == set()  # only in an unpublished file
    assert found("linde") == set()  # only in a file of an unpublished dataset
    # one index serves the administrator's list too: it finds by published files' words
    admin = "/index.php/apps/openregister/api/objects/dcat/dataset"
    assert [
        o["title"] for o in any_client.get(admin, params={"_search": "kastanjeboom"}).json()["results"]
    ] == ["Bomenkap"]
    assert any_client.get(admin, params={"_search": "plataan"}).json()["results"] == []
    assert TextExtractor(any_context).extract_pending() == 0  # each file is read once
