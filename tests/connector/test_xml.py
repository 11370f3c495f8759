"""XML answers: parsed like the original (``@attributes``, repeated elements as lists,
text as ``#``), found with resultsPosition/idPosition, and entity tricks refused."""

from __future__ import annotations

import pytest

from openconnector import ObjectService, SynchronizationService
from openconnector.connector.bodies import decode_body, parse_xml
from openconnector.errors import SourceRejected

OC = "/index.php/apps/openconnector/api"


def test_attributes_repeated_elements_and_text_are_kept():
    data = parse_xml(
        b'<pets count="2"><pet id="1"><name>Bella</name><tag>a</tag><tag>b</tag></pet>'
        b'<pet id="2"><name>Max</name><tag>c</tag><note/><size unit="kg">12</size></pet></pets>'
    )
    assert data["@attributes"] == {"count": "2"}
    assert isinstance(data["pet"], list) and len(data["pet"]) == 2
    bella, max_ = data["pet"]
    assert bella == {"@attributes": {"id": "1"}, "name": "Bella", "tag": ["a", "b"]}
    assert max_["tag"] == "c" and max_["note"] is None
    assert max_["size"] == {"@attributes": {"unit": "kg"}, "#": "12"}


def test_namespaces_are_dropped_and_content_type_decides():
    body = b'<feed xmlns:dc="http://purl.org/dc/terms/"><dc:title>T</dc:title></feed>'
    assert decode_body(body, "application/atom+xml") == {"title": "T"}
    assert decode_body(body, "text/plain", kind="xml") == {"title": "T"}
    assert decode_body(b'{"a": 1}', "application/json") == {"a": 1}
    assert decode_body(b'{"a": 1}\n{"a": 2}\n', "application/x-ndjson") == [{"a": 1}, {"a": 2}]


def test_billion_laughs_and_external_entities_are_refused_before_expansion():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>'
    )
    with pytest.raises(SourceRejected, match="billion laughs"):
        parse_xml(bomb)
    xxe = b'<!DOCTYPE r [<!ENTITY s SYSTEM "file:///etc/passwd">]><r>&s;</r>'
    with pytest.raises(SourceRejected, match="declares an entity"):
        parse_xml(xxe)
    with pytest.raises(SourceRejected, match="invalid XML"):
        parse_xml(b"<a><b></a>")


@pytest.fixture
def objects(context, make_dcat):
    make_dcat(context)
    return ObjectService(context)


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def _xml_sync(objects, fake_api, endpoint, source_type="api"):
    source = _save(
        objects,
        "source",
        {
            "name": "Old system",
            "type": source_type,
            "location": fake_api.url,
            "configuration": {"retries": 0},
        },
    )
    mapping = _save(
        objects,
        "mapping",
        {
            "name": "XML pet",
            "mapping": {
                "title": "{{ name }}",
                "description": "{{ category['#'] }} #{{ category['@attributes'].id }}: {{ tags.tag|join(', ') }}",
            },
        },
    )
    return _save(
        objects,
        "synchronization",
        {
            "name": "xml pets",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {
                "endpoint": endpoint,
                "resultsPosition": "pet",
                "idPosition": "@attributes.id",
                "usesPagination": False,
            },
            "targetId": "dcat/dataset",
        },
    )


def test_an_xml_api_synchronises_with_attributes_and_nested_lists(objects, fake_api):
    sync = _xml_sync(objects, fake_api, "/xml/pets")
    run = SynchronizationService().synchronize(sync["id"])
    assert run["status"] == "success", run["message"]
    assert run["result"]["objects"]["created"] == 10
    found = {o["title"]: o for o in objects.find_all("dcat", "dataset", limit=100)["results"]}
    assert found["Luna"]["description"] == "Cats #2: friendly, cats"
    again = SynchronizationService().synchronize(sync["id"])
    assert again["result"]["objects"]["skipped"] == 10


def test_xml_bombs_end_the_run_with_a_clear_error_and_the_service_stays_up(
    client, context, make_dcat, fake_api
):
    make_dcat(context)
    objects = ObjectService(context)
    for endpoint, words in (("/xml/bomb", "billion laughs"), ("/xml/xxe", "external entities")):
        sync = _xml_sync(objects, fake_api, endpoint, source_type="xml")
        answer = client.post(f"{OC}/synchronizations/{sync['id']}/run")
        assert answer.status_code in (200, 400, 502), answer.text
        body = answer.json()
        text = body.get("message", "")
        assert words in text and "refused" in text, body
    assert client.get(f"{OC}/sources").status_code == 200
