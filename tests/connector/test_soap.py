"""SOAP sources against a local SOAP service (a hand-written WSDL and answers served by
the fake API): the operation's answer becomes records; a Fault ends the run clearly."""

from __future__ import annotations

import pytest

pytest.importorskip("zeep")

from openconnector import ObjectService, SynchronizationService  # noqa: E402


@pytest.fixture
def objects(context, make_dcat):
    make_dcat(context, status={"type": "string"})
    return ObjectService(context)


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def _sync(objects, fake_api, status):
    source = _save(
        objects,
        "source",
        {
            "name": "Zaaksysteem",
            "type": "soap",
            "location": fake_api.url + "/soap",
            "configuration": {"wsdl": fake_api.url + "/soap?wsdl", "retries": 0},
        },
    )
    mapping = _save(
        objects, "mapping", {"name": "zaak", "mapping": {"title": "{{ omschrijving }}", "status": "status"}}
    )
    return _save(
        objects,
        "synchronization",
        {
            "name": f"zaken {status}",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "ListZaken", "arguments": {"status": status}, "idPosition": "id"},
            "targetId": "dcat/dataset",
        },
    )


def test_a_soap_operation_answer_becomes_records(objects, fake_api):
    fake_api.set_records(9)
    sync = _sync(objects, fake_api, "open")
    run = SynchronizationService().synchronize(sync["id"])
    assert run["status"] == "success", run["message"]
    assert run["result"]["objects"]["created"] == 5
    found = objects.find_all("dcat", "dataset", limit=20)["results"]
    assert sorted(o["title"] for o in found) == [f"Record {i}" for i in (1, 3, 5, 7, 9)]
    assert {o["status"] for o in found} == {"open"}
    posted = [r for r in fake_api.requests if r.path == "/soap" and r.method == "POST"]
    assert posted and posted[-1].headers["soapaction"] == '"http://example.org/zaken/ListZaken"'
    again = SynchronizationService().synchronize(sync["id"])
    assert again["result"]["objects"]["skipped"] == 5


def test_a_soap_fault_and_an_unknown_operation_are_clear(objects, fake_api):
    run = SynchronizationService().synchronize(_sync(objects, fake_api, "fault")["id"])
    assert run["status"] == "error" and "Zaaksysteem niet bereikbaar" in run["message"]
    sync = _sync(objects, fake_api, "open")
    objects.save_object(
        object={"sourceConfig": {"endpoint": "DeleteEverything"}},
        register="openconnector",
        schema="synchronization",
        uuid=sync["id"],
        patch=True,
    )
    bad = SynchronizationService().synchronize(sync["id"])
    assert bad["status"] == "error" and "offers ListZaken" in bad["message"]
