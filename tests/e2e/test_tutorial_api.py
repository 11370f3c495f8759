"""The tutorial's Steps 1 to 4 with its curl commands, against the real service.

The requests are the tutorial's, verbatim except for the source location (a local
stand-in for the Pet Store) and the ids the server hands out.
"""

from __future__ import annotations

import pytest

OC = "/index.php/apps/openconnector/api"
OR = "/index.php/apps/openregister/api"
HEADERS = {"OCS-APIRequest": "true", "Content-Type": "application/json"}


@pytest.fixture
def api(live_server):
    with live_server.client(("admin", "admin"), headers=HEADERS) as client:
        yield client


@pytest.fixture
def dcat(api):
    """Parts 1 to 3 of the tutorial: the DCAT register with its Dataset schema."""
    api.post(f"{OR}/registers", json={"title": "DCAT register", "slug": "dcat"}).raise_for_status()
    api.post(
        f"{OR}/schemas",
        json={
            "title": "Dataset",
            "slug": "dataset",
            "register": "dcat",
            "required": ["title"],
            "properties": {
                "title": {"type": "string"},
                "category": {"type": "string"},
                "status": {"type": "string"},
                "publicatiedatum": {"type": "string", "format": "date-time"},
            },
        },
    ).raise_for_status()
    return "dcat/dataset"


def test_tutorial_steps_1_to_4_with_curl(api, dcat, fake_api):
    # Step 1: the source, and its Test action.
    source = api.post(
        f"{OC}/sources",
        content=(
            '{ "name": "Swagger Pet Store", "type": "api", "location": "%s/api/v3", "auth": "none", '  # noqa: UP031 - the tutorial body, verbatim
            '"isEnabled": true }' % fake_api.url
        ),
    ).json()
    source_id = source["id"]
    tested = api.post(f"{OC}/sources/test/{source_id}", headers={"OCS-APIRequest": "true"}).json()
    assert tested["ok"] is True and tested["statusCode"] < 500
    pets = api.post(
        f"{OC}/sources/test/{source_id}", json={"endpoint": "/pet/findByStatus?status=available"}
    ).json()
    assert pets["ok"] is True and pets["statusCode"] == 200 and "Bella" in pets["response"]["body"]

    # Step 2: the mapping, and its Test action.
    mapping = api.post(
        f"{OC}/mappings",
        content=r"""{ "name": "Pet to dataset", "mapping": {
"title": "{{ name }}", "category": "{{ category.name }}", "status": "Published",
"publicatiedatum": "{{ \"now\"|date(\"Y-m-d H:i:s\") }}" } }""",
    ).json()
    result = api.post(
        f"{OC}/mappings/test",
        content='{ "mapping": { "title": "{{ name }}" }, "inputObject": { "name": "Bella" } }',
    ).json()
    assert result["resultObject"] == {"title": "Bella"}

    # Step 3: the synchronisation into the DCAT register's Dataset schema.
    sync = api.post(
        f"{OC}/synchronizations",
        content=(
            '{ "name": "Pet store to datasets", "sourceId": "%s", "sourceType": "api", '  # noqa: UP031
            '"sourceTargetMapping": "%s", '
            '"sourceConfig": { "endpoint": "/pet/findByStatus?status=available", "idPosition": "id", '
            '"resultsPosition": "_root" }, '
            '"targetType": "register/schema", "targetId": "%s" }' % (source_id, mapping["id"], dcat)
        ),
    ).json()

    # Step 4: run it; then run it again; then change the source.
    run = api.post(f"{OC}/synchronizations/{sync['id']}/run", headers={"OCS-APIRequest": "true"})
    assert run.status_code == 200, run.text
    assert run.json()["result"]["objects"] | {} == {
        "found": 8,
        "created": 8,
        "updated": 0,
        "skipped": 0,
        "invalid": 0,
        "deleted": 0,
    }

    again = api.post(f"{OC}/synchronizations/{sync['uuid']}/run").json()["result"]["objects"]
    assert (again["found"], again["created"], again["skipped"]) == (8, 0, 8)

    fake_api.rename_pet(7, "Bella the Second")
    renamed = api.post(f"{OC}/synchronizations/{sync['id']}/run").json()["result"]["objects"]
    assert (renamed["updated"], renamed["skipped"], renamed["created"]) == (1, 7, 0)

    fake_api.remove_pet(7)
    removed = api.post(f"{OC}/synchronizations/{sync['id']}/run").json()["result"]["objects"]
    assert (removed["found"], removed["deleted"]) == (7, 1)

    datasets = api.get(f"{OR}/objects/dcat/dataset").json()
    assert datasets["total"] == 7
    assert all(d["publicatiedatum"] and d["status"] == "Published" for d in datasets["results"])
    assert "Bella the Second" not in [d["title"] for d in datasets["results"]]

    dashboard = api.get(f"{OC}/dashboard").json()
    assert dashboard["sources"] == 1 and dashboard["synchronizationContracts"] == 7
    logs = api.get(f"{OC}/synchronizations/logs").json()
    assert logs["total"] == 4
