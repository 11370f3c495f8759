"""Promise: a body of the wrong shape is refused at the edge with a 400 that names
the property, never read letter by letter or half-stored; and the OpenAPI
document declares each route's request body and the statuses it answers.
"""

from __future__ import annotations

import pytest

OR = "/index.php/apps/openregister/api"
OC = "/index.php/apps/openconnector/api"
CAT = "/index.php/apps/opencatalogi/api"

WRONG = [
    # (method, path, body, property named)
    ("post", f"{OR}/registers", {"title": "R", "schemas": "notalist"}, "schemas"),
    ("post", f"{OR}/registers", {"title": 5}, "title"),
    ("post", f"{OR}/registers", {"description": "no title"}, "title"),
    ("patch", f"{OR}/registers/dcat", {"schemas": "dataset"}, "schemas"),
    ("put", f"{OR}/registers/dcat", {"title": ["D"]}, "title"),
    ("post", f"{OR}/schemas", {"title": "S", "properties": "title"}, "properties"),
    ("post", f"{OR}/schemas", {"title": "S", "required": "title"}, "required"),
    ("patch", f"{OR}/schemas/dataset", {"properties": {"title": "string"}}, "properties.title"),
    ("post", f"{CAT}/catalogs", {"title": "C", "registers": "dcat"}, "registers"),
    ("patch", f"{CAT}/catalogs/publications", {"listed": "yes"}, "listed"),
    ("post", f"{OC}/sources", {"name": "S", "configuration": "x"}, "configuration"),
    ("post", f"{OC}/sources", {"name": 7}, "name"),
    ("post", f"{OC}/mappings", {"name": "M", "unset": "title"}, "unset"),
    ("patch", f"{OC}/mappings/1", {"mapping": ["title"]}, "mapping"),
    ("post", f"{OC}/mappings/test", {"mapping": "x", "inputObject": {}}, "mapping"),
    ("post", f"{OC}/mappings/test", {"mapping": {}, "inputObject": "x"}, "inputObject"),
    ("post", f"{OC}/synchronizations/1/schedule", {"interval": "soon"}, "interval"),
    ("post", f"{OC}/synchronizations/1/schedule", {"isEnabled": "no"}, "isEnabled"),
    ("post", f"{OC}/sources/test/1", {"headers": ["Accept"]}, "headers"),
]


@pytest.fixture
def ready(client, make_dcat):
    make_dcat(client.app.state.context)
    assert client.post(f"{OC}/mappings", json={"name": "M1", "mapping": {}}).status_code == 200
    return client


@pytest.mark.parametrize(
    ("method", "path", "body", "prop"), WRONG, ids=[f"{w[0]} {w[1]} {w[3]}" for w in WRONG]
)
def test_wrong_types_are_400_naming_the_property(ready, method, path, body, prop):
    before = ready.get(f"{OR}/registers").json()["total"]
    response = ready.request(method.upper(), path, json=body)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["property"] == prop, answer
    assert prop.split(".")[0] in answer["message"]
    assert ready.get(f"{OR}/registers").json()["total"] == before  # nothing half-stored


def test_a_list_where_an_object_belongs_is_400(ready):
    response = ready.post(f"{OR}/registers", json=["title", "R"])
    assert response.status_code == 400
    assert "JSON object" in response.json()["message"]


def test_right_types_still_work(ready):
    created = ready.post(f"{OR}/registers", json={"title": "Other", "schemas": ["dataset"]})
    assert created.status_code == 201, created.text
    assert created.json()["schemas"] == [ready.get(f"{OR}/schemas/dataset").json()["id"]]


def test_the_openapi_document_declares_bodies_and_statuses(client):
    doc = client.get("/api/openapi.json").json()
    no_body = ("/api/jobs/run/", "/api/jobs/test/", "/retry")  # retries take no body
    missing_body, missing_status = [], []
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            takes_body = method in ("post", "put", "patch") and not any(p in path for p in no_body)
            if takes_body and not operation.get("requestBody", {}).get("content"):
                missing_body.append(f"{method} {path}")
            need = {"400", "404"} | ({"401"} if "/opencatalogi/api/{catalog" not in path else set())
            if "dcat" in path or path.endswith(
                ("/catalogi", "/{catalog_slug}", "/{catalog_slug}/{object_id}")
            ):
                need = {"400", "404"}
            if not need <= codes:
                missing_status.append(f"{method} {path}: {sorted(need - codes)}")
    assert not missing_body, missing_body
    assert not missing_status, missing_status
