"""Endpoints as a new user sets them up after the tutorial: the datasets served
anonymously, an intake guarded by an API key, an error rule, a synchronisation
rule and a proxy to a source, all over real HTTP against the real service."""

from __future__ import annotations

import pytest

OC = "/index.php/apps/openconnector/api"
OR = "/index.php/apps/openregister/api"
EP = f"{OC}/endpoint"


@pytest.fixture
def admin(live_server):
    with live_server.client(("admin", "admin")) as client:
        yield client


@pytest.fixture
def anonymous(live_server):
    with live_server.client() as client:
        yield client


@pytest.fixture
def tutorial(admin, fake_api):
    """Tutorial parts 1-4: the DCAT register, the Pet Store source, the mapping, the sync, run once."""
    admin.post(f"{OR}/registers", json={"title": "DCAT register", "slug": "dcat"}).raise_for_status()
    admin.post(
        f"{OR}/schemas",
        json={
            "title": "Dataset",
            "slug": "dataset",
            "register": "dcat",
            "required": ["title"],
            "properties": {
                "title": {"type": "string", "minLength": 1},
                "category": {"type": "string"},
                "status": {"type": "string", "enum": ["Concept", "Published"]},
                "publicatiedatum": {"type": "string", "format": "date-time"},
            },
        },
    ).raise_for_status()
    source = admin.post(
        f"{OC}/sources",
        json={"name": "Swagger Pet Store", "type": "api", "location": f"{fake_api.url}/api/v3"},
    ).json()
    mapping = admin.post(
        f"{OC}/mappings",
        json={
            "name": "Pet to dataset",
            "mapping": {"title": "{{ name }}", "category": "{{ category.name }}", "status": "Published"},
        },
    ).json()
    sync = admin.post(
        f"{OC}/synchronizations",
        json={
            "name": "Pet store to datasets",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "/pet/findByStatus?status=available", "resultsPosition": "_root"},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    ).json()
    run = admin.post(f"{OC}/synchronizations/{sync['id']}/run").json()
    assert run["result"]["objects"]["created"] == 8
    return {"source": source, "mapping": mapping, "sync": sync}


def test_datasets_are_served_anonymously_with_paging(admin, anonymous, tutorial):
    for name, pattern in (("Datasets", "datasets"), ("Dataset", "datasets/{{id}}")):
        made = admin.post(
            f"{OC}/endpoints",
            json={
                "name": name,
                "endpoint": pattern,
                "method": "GET",
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            },
        )
        assert made.status_code == 200, made.text

    page = anonymous.get(f"{EP}/datasets", params={"_limit": 3, "_order[title]": "asc"})
    assert page.status_code == 200, page.text
    body = page.json()
    assert body["count"] == 8 and len(body["results"]) == 3 and body["previous"] is None
    assert body["next"].startswith(f"{anonymous.base_url}{EP}/datasets?") and "_page=2" in body["next"]
    second = anonymous.get(body["next"]).json()
    assert second["previous"] and len(second["results"]) == 3
    titles = [d["title"] for d in body["results"] + second["results"]]
    assert titles == sorted(titles)

    dogs = anonymous.get(f"{EP}/datasets", params={"category": "Dogs"}).json()
    assert dogs["count"] >= 1 and all(d["category"] == "Dogs" for d in dogs["results"])
    found = anonymous.get(f"{EP}/datasets", params={"_search": "bella"}).json()
    assert [d["title"] for d in found["results"]] == ["Bella"]

    one = anonymous.get(f"{EP}/datasets/{found['results'][0]['id']}")
    assert one.status_code == 200 and one.json()["title"] == "Bella"

    xml = anonymous.get(f"{EP}/datasets/{found['results'][0]['id']}", headers={"Accept": "application/xml"})
    assert xml.headers["content-type"].startswith("application/xml")
    assert "<title>Bella</title>" in xml.text

    # The short prefix serves the same endpoints.
    short = anonymous.get("/apps/openconnector/api/endpoint/datasets").json()
    assert short["count"] == 8

    missing = anonymous.delete(f"{EP}/datasets/x")
    assert missing.status_code == 404
    assert "datasets/x DELETE" in missing.json()["error"] + missing.json()["message"]

    preflight = anonymous.options(f"{EP}/datasets", headers={"Origin": "https://example.org"})
    assert preflight.headers["access-control-allow-origin"] == "https://example.org"
    assert "PATCH" in preflight.headers["access-control-allow-methods"]

    # Admin routes stay admin.
    assert anonymous.get(f"{OC}/endpoints").status_code == 401

    logs = admin.get(f"{OC}/endpoints/logs", params={"_limit": 100}).json()
    served = [log for log in logs["results"] if log["endpoint"] == "Datasets"]
    assert served and all(log["statusCode"] == 200 and log["duration"] >= 0 for log in served)
    assert any(log["statusCode"] == 404 for log in logs["results"])


def test_two_endpoints_on_one_path_conflict(admin, anonymous, tutorial):
    for name in ("First", "Second"):
        admin.post(
            f"{OC}/endpoints",
            json={"name": name, "endpoint": "same", "method": "GET", "targetId": "dcat/dataset"},
        ).raise_for_status()
    answer = anonymous.get(f"{EP}/same")
    assert answer.status_code == 409 and set(answer.json()["endpoints"]) == {"First", "Second"}


def test_intake_with_api_key_mapping_and_save_object(admin, anonymous, tutorial):
    consumer = admin.post(
        f"{OC}/consumers",
        json={
            "name": "Gemeente Voorbeeld",
            "authorizationType": "apiKey",
            "authorizationConfiguration": {"key": "voorbeeld-key-123"},
        },
    ).json()
    assert consumer["authorizationConfiguration"]["key"] == "********"
    assert "voorbeeld-key-123" not in admin.get(f"{OC}/consumers").text

    mapping = admin.post(
        f"{OC}/mappings",
        json={"name": "Intake to dataset", "mapping": {"title": "{{ naam }}", "category": "{{ soort }}"}},
    ).json()
    rules = [
        admin.post(f"{OC}/rules", json=rule).json()
        for rule in (
            {
                "name": "Key required",
                "type": "authentication",
                "order": 1,
                "configuration": {"authentication": {"type": "apikey", "consumers": ["Gemeente Voorbeeld"]}},
            },
            {
                "name": "No tests",
                "type": "error",
                "order": 2,
                "conditions": {"==": [{"var": "body.naam"}, "test"]},
                "configuration": {"error": {"code": 422, "name": "Rejected", "message": "No test data"}},
            },
            {
                "name": "Map intake",
                "type": "mapping",
                "order": 3,
                "configuration": {"mapping": mapping["id"]},
            },
            {
                "name": "Save dataset",
                "type": "save_object",
                "order": 4,
                "configuration": {"save_object": {"register": "dcat", "schema": "dataset"}},
            },
        )
    ]
    endpoint = admin.post(
        f"{OC}/endpoints",
        json={
            "name": "Intake",
            "endpoint": "intake",
            "method": "POST",
            "targetType": "none",
            "rules": [r["id"] for r in rules],
        },
    )
    assert endpoint.status_code == 200, endpoint.text

    written = anonymous.post(
        f"{EP}/intake",
        json={"naam": "Fietsenstallingen", "soort": "Mobiliteit"},
        headers={"Authorization": "voorbeeld-key-123"},
    )
    assert written.status_code == 201, written.text
    saved = written.json()
    assert saved["title"] == "Fietsenstallingen" and saved["category"] == "Mobiliteit"
    stored = admin.get(f"{OR}/objects/dcat/dataset/{saved['id']}").json()
    assert stored["title"] == "Fietsenstallingen"

    no_key = anonymous.post(f"{EP}/intake", json={"naam": "x"})
    assert no_key.status_code == 401 and "Missing API key" in no_key.json()["message"]
    wrong_key = anonymous.post(f"{EP}/intake", json={"naam": "x"}, headers={"Authorization": "nope"})
    assert wrong_key.status_code == 401 and wrong_key.json()["message"] == "Invalid API key"

    bad = anonymous.post(
        f"{EP}/intake", json={"naam": "", "soort": "x"}, headers={"Authorization": "voorbeeld-key-123"}
    )
    assert bad.status_code == 400
    assert [e["property"] for e in bad.json()["errors"]] == ["title"]

    not_json = anonymous.post(
        f"{EP}/intake", content=b'{"naam": ', headers={"Authorization": "voorbeeld-key-123"}
    )
    assert not_json.status_code == 400 and "Malformed JSON" in not_json.json()["message"]

    refused = anonymous.post(
        f"{EP}/intake", json={"naam": "test"}, headers={"Authorization": "voorbeeld-key-123"}
    )
    assert refused.status_code == 422 and refused.json() == {"error": "Rejected", "message": "No test data"}

    huge = anonymous.post(
        f"{EP}/intake", content=b"[" + b"1," * 600_000 + b"1]", headers={"Authorization": "voorbeeld-key-123"}
    )
    assert huge.status_code == 413

    logs = admin.get(f"{OC}/endpoints/logs", params={"endpoint": endpoint.json()["id"]}).json()
    statuses = sorted(log["statusCode"] for log in logs["results"])
    assert statuses == [201, 400, 400, 401, 401, 422]
    assert {log["consumer"] for log in logs["results"] if log["statusCode"] == 201} == {"Gemeente Voorbeeld"}


def test_unknown_rule_types_are_refused_when_saved(admin):
    answer = admin.post(f"{OC}/rules", json={"name": "Odd", "type": "fetch_file"})
    assert answer.status_code == 400 and answer.json()["field"] == "type"


def test_synchronization_rule_runs_the_sync_on_the_body(admin, anonymous, tutorial):
    rule = admin.post(
        f"{OC}/rules",
        json={
            "name": "Push pets",
            "type": "synchronization",
            "configuration": {"synchronization": tutorial["sync"]["id"]},
        },
    ).json()
    admin.post(
        f"{OC}/endpoints",
        json={
            "name": "Push",
            "endpoint": "push",
            "method": "POST",
            "targetType": "none",
            "rules": [rule["id"]],
        },
    ).raise_for_status()
    pushed = anonymous.post(
        f"{EP}/push", json={"id": 501, "name": "Pushed pet", "category": {"name": "Cats"}}
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json()["result"]["objects"]["created"] == 1
    total = admin.get(f"{OR}/objects/dcat/dataset", params={"title": "Pushed pet"}).json()["total"]
    assert total == 1
    # A pushed record never makes the run delete what it did not see.
    assert admin.get(f"{OR}/objects/dcat/dataset").json()["total"] == 9
    invalid = anonymous.post(f"{EP}/push", json={"id": 502, "name": "", "category": {"name": "Cats"}})
    assert invalid.status_code == 400
    assert invalid.json()["result"]["invalid"][0]["originId"] == "502"


def test_proxy_endpoint_returns_the_source_answer(admin, anonymous, tutorial, fake_api):
    admin.post(
        f"{OC}/endpoints",
        json={
            "name": "Pets proxy",
            "endpoint": "pets/{{id}}",
            "method": "GET",
            "targetType": "api",
            "targetId": str(tutorial["source"]["id"]),
            "configurations": {"sourceEndpoint": "/pet/{{id}}"},
        },
    ).raise_for_status()
    pet = anonymous.get(f"{EP}/pets/1")
    assert pet.status_code == 200, pet.text
    assert pet.json()["name"] == "Bella"
    missing = anonymous.get(f"{EP}/pets/999")
    assert missing.status_code == 404
    calls = admin.get(f"{OC}/sources/logs", params={"_limit": 100}).json()["results"]
    assert any("/pet/1" in (c.get("request") or {}).get("url", "") for c in calls)
