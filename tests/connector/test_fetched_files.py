"""Files fetched by synchronisations (connector/fetched_files.py): declarations, credentials,
limits and failures. The whole flow, with the catalog, is tests/e2e/test_sync_files.py."""

from __future__ import annotations

from dataclasses import replace

import pytest

from openconnector import ObjectService, SynchronizationService
from openconnector.context import Context, set_context
from openconnector.errors import BadRequest
from openconnector.files.service import FileService

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _save(objects: ObjectService, schema: str, data: dict) -> dict:
    return objects.save_object(object=data, register="openconnector", schema=schema)


@pytest.fixture
def objects(context, make_dcat):  # type: ignore[no-untyped-def]
    make_dcat(context)
    return ObjectService(context)


def _sync(objects: ObjectService, source: dict, **extra: object) -> dict:
    config = {"endpoint": "/documents", "resultsPosition": "results"}
    config.update(extra.pop("config", {}))  # type: ignore[arg-type]
    return _save(
        objects,
        "synchronization",
        {
            "name": "documents",
            "sourceId": source["id"],
            "sourceTargetMapping": _save(objects, "mapping", {"name": "m", "mapping": {"title": "title"}})[
                "id"
            ],
            "sourceConfig": config,
            "targetId": "dcat/dataset",
            **extra,
        },
    )


def _source(objects: ObjectService, location: str, **extra: object) -> dict:
    return _save(
        objects,
        "source",
        {"name": "Docs", "type": "api", "location": location, "configuration": {"retries": 0}, **extra},
    )


def _titles(context: Context, title: str) -> dict[str, dict]:
    found = ObjectService(context).find_all("dcat", "dataset", filters={"title": title})["results"][0]
    return {f["title"]: f for f in FileService(context).list(found)}


def test_a_fetch_file_rule_declares_the_files_with_its_tags_and_sharing(context, objects, fake_api):
    url = fake_api.put_file("a.pdf", PDF, "application/pdf")
    fake_api.documents = [{"id": 1, "title": "Een", "bijlagen": [url]}]
    rule = _save(
        objects,
        "rule",
        {
            "name": "haal bijlagen",
            "type": "fetch_file",
            "configuration": {
                "fetch_file": {"filePath": "bijlagen", "tags": ["woo", "bijlage"], "autoShare": False}
            },
        },
    )
    sync = _sync(objects, _source(objects, fake_api.url), actions=[rule["id"]])
    result = SynchronizationService().synchronize(sync["id"])["result"]
    assert result["files"]["fetched"] == 1
    file = _titles(context, "Een")["a.pdf"]
    assert file["labels"] == ["woo", "bijlage"]
    assert file["published"] is None
    assert file["source"]["url"] == url


def test_the_source_credentials_go_only_to_urls_under_its_location(context, objects, fake_api):
    own = fake_api.put_file("own.pdf", PDF, "application/pdf")
    fake_api.put_file("elsewhere.pdf", PDF, "application/pdf")
    elsewhere = own.replace("127.0.0.1", "localhost").replace("own.pdf", "elsewhere.pdf")
    fake_api.documents = [{"id": 1, "title": "Een", "documents": [own, elsewhere]}]
    source = _source(
        objects, fake_api.url, configuration={"retries": 0, "headers": {"Authorization": "Bearer s3cret"}}
    )
    sync = _sync(objects, source, config={"files": [{"path": "documents"}]})
    result = SynchronizationService().synchronize(sync["id"])["result"]
    assert result["files"] == {"fetched": 2, "skipped": 0, "failed": 0, "deleted": 0}
    sent = {r.path: r.headers for r in fake_api.requests if r.path.startswith("/files/")}
    assert sent["/files/own.pdf"].get("authorization") == "Bearer s3cret"
    assert "authorization" not in sent["/files/elsewhere.pdf"]


def test_a_test_run_fetches_no_files(context, objects, fake_api):
    fake_api.documents = [
        {"id": 1, "title": "Een", "documents": [fake_api.put_file("a.pdf", PDF, "application/pdf")]}
    ]
    sync = _sync(objects, _source(objects, fake_api.url), config={"files": [{"path": "documents"}]})
    log = SynchronizationService().synchronize(sync["id"], test=True)
    assert "files" not in log["result"]
    assert fake_api.hits_under("/files/") == 0


def test_a_content_type_the_bytes_contradict_and_bad_urls_make_the_record_invalid(context, objects, fake_api):
    lie = fake_api.put_file("lie.pdf", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf")
    fake_api.documents = [
        {"id": 1, "title": "Leugen", "documents": [lie]},
        {"id": 2, "title": "Raar", "documents": ["ftp://example.org/x.pdf"]},
        {"id": 3, "title": "Goed", "documents": [fake_api.put_file("ok.pdf", PDF, "application/pdf")]},
    ]
    sync = _sync(objects, _source(objects, fake_api.url), config={"files": [{"path": "documents"}]})
    log = SynchronizationService().synchronize(sync["id"])
    assert log["status"] == "warning"  # the run goes on
    assert log["result"]["files"] == {"fetched": 1, "skipped": 0, "failed": 2, "deleted": 0}
    reasons = {r["originId"]: r["reason"] for r in log["result"]["invalid"]}
    assert "application/pdf" in reasons["1"] and "image/png" in reasons["1"]
    assert "not an http(s) URL" in reasons["2"]
    assert set(_titles(context, "Goed")) == {"ok.pdf"}
    assert _titles(context, "Leugen") == {}


def test_a_file_over_the_size_limit_fails_and_keeps_nothing(settings, make_dcat, fake_api):
    context = Context(replace(settings, files_max_size=1000))
    set_context(context)
    try:
        make_dcat(context)
        objects = ObjectService(context)
        fake_api.documents = [
            {
                "id": 1,
                "title": "Groot",
                "documents": [fake_api.put_file("big.pdf", PDF + b"x" * 5000, "application/pdf")],
            }
        ]
        sync = _sync(objects, _source(objects, fake_api.url), config={"files": [{"path": "documents"}]})
        log = SynchronizationService(context).synchronize(sync["id"])
        assert log["result"]["files"]["failed"] == 1
        assert "larger than the limit of 1000 bytes" in log["result"]["invalid"][0]["reason"]
        assert _titles(context, "Groot") == {}
    finally:
        set_context(None)
        context.close()


def test_downloads_run_at_most_the_sources_concurrency_at_once(context, objects, fake_api):
    fake_api.file_delay = 0.2
    urls = [fake_api.put_file(f"f{n}.pdf", PDF + bytes([n]), "application/pdf") for n in range(12)]
    fake_api.documents = [{"id": n, "title": f"D{n}", "documents": [u]} for n, u in enumerate(urls)]
    sync = _sync(
        objects, _source(objects, fake_api.url), config={"files": [{"path": "documents"}], "concurrency": 3}
    )
    result = SynchronizationService().synchronize(sync["id"])["result"]
    assert result["files"]["fetched"] == 12
    assert fake_api.max_in_flight == 3  # at once, but never more than allowed


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"urlKey": "url"}, "needs a path"),
        ([{"path": "documents", "labels": [1]}], "must be a list of texts"),
        (42, "must be a list"),
    ],
)
def test_a_bad_file_declaration_is_a_400_naming_it(context, objects, fake_api, files, message):
    sync = _sync(objects, _source(objects, fake_api.url), config={"files": files})
    with pytest.raises(BadRequest, match=message):
        SynchronizationService().synchronize(sync["id"])


def test_a_document_the_source_says_is_gone_is_removed_and_a_missing_one_kept(context, objects, fake_api):
    gone = fake_api.put_file("gone.pdf", PDF, "application/pdf")
    missing = fake_api.put_file("missing.pdf", PDF + b"2", "application/pdf")
    fake_api.documents = [{"id": 1, "title": "Een", "documents": [gone, missing]}]
    sync = _sync(objects, _source(objects, fake_api.url), config={"files": [{"path": "documents"}]})
    assert SynchronizationService().synchronize(sync["id"])["result"]["files"]["fetched"] == 2
    fake_api.gone_files.add("gone.pdf")
    del fake_api.files["missing.pdf"]  # 404: maybe a mistake at the source, so the file stays
    log = SynchronizationService().synchronize(sync["id"])
    assert log["result"]["files"] == {"fetched": 0, "skipped": 0, "failed": 1, "deleted": 1}
    assert set(_titles(context, "Een")) == {"missing.pdf"}
    assert "404" in log["result"]["invalid"][0]["reason"]


def test_the_same_bytes_under_a_new_etag_are_skipped_and_the_new_etag_asked_next_time(
    context, objects, fake_api
):
    url = fake_api.put_file("a.pdf", PDF, "application/pdf")
    fake_api.documents = [{"id": 1, "title": "Een", "bijlagen": [url]}]
    sync = _sync(objects, _source(objects, fake_api.url), config={"files": [{"path": "bijlagen"}]})
    assert SynchronizationService().synchronize(sync["id"])["result"]["files"]["fetched"] == 1
    fake_api.etag_salt = "re-tagged"  # e.g. a server behind a new load balancer
    second = SynchronizationService().synchronize(sync["id"], force=True)["result"]["files"]
    assert (second["fetched"], second["skipped"]) == (0, 1)
    assert fake_api.file_bodies() == 2  # the first fetch and the re-tagged answer
    third = SynchronizationService().synchronize(sync["id"], force=True)["result"]["files"]
    assert (third["fetched"], third["skipped"]) == (0, 1)
    assert fake_api.file_bodies() == 2  # asked with the new ETag: a 304, no bytes
    assert fake_api.file_answers[-1][1] == 304
