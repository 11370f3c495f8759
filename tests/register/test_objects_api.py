"""The OpenRegister REST API as the issue's curl session uses it, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

API = "/index.php/apps/openregister/api"

DATASET = {
    "title": "Dataset",
    "required": ["title"],
    "properties": {
        "title": {"type": "string"},
        "category": {"type": "string"},
        "rank": {"type": "integer"},
        "publicatiedatum": {"type": "string", "format": "date-time"},
        "contactEmail": {"type": "string", "format": "email"},
    },
}


@pytest.fixture
def dcat(any_client):
    reg = any_client.post(f"{API}/registers", json={"title": "DCAT", "slug": "dcat"})
    assert reg.status_code == 201, reg.text
    sch = any_client.post(f"{API}/schemas", json={**DATASET, "slug": "dataset", "register": "dcat"})
    assert sch.status_code == 201, sch.text
    return any_client


def test_registers_list_includes_openconnector(any_client):
    response = any_client.get(f"{API}/registers")
    assert response.status_code == 200
    assert "openconnector" in [r["slug"] for r in response.json()["results"]]


def test_without_credentials_the_api_answers_401_json(any_client):
    response = any_client.get(f"{API}/registers", auth=None)
    assert response.status_code == 401
    assert response.json()["error"] == "Unauthorized"
    wrong = any_client.get(f"{API}/registers", auth=("admin", "nope"))
    assert wrong.status_code == 401


def test_the_path_without_index_php_works_too(any_client):
    assert any_client.get("/apps/openregister/api/registers").status_code == 200


def test_object_without_required_title_is_refused_naming_title(dcat):
    response = dcat.post(f"{API}/objects/dcat/dataset", json={"category": "Dogs"})
    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "error" and body["message"] == "Validation failed"
    assert [e["property"] for e in body["errors"]] == ["title"]


def test_object_lifecycle_create_get_put_patch_delete(dcat):
    created = dcat.post(f"{API}/objects/dcat/dataset", json={"title": "Bella", "category": "Dogs"})
    assert created.status_code == 201
    obj = created.json()
    uid = obj["id"]
    assert len(uid) == 36 and obj["@self"]["register"] and obj["@self"]["version"] == "1.0.0"
    assert dcat.get(f"{API}/objects/dcat/dataset/{uid}").json()["title"] == "Bella"

    replaced = dcat.put(f"{API}/objects/dcat/dataset/{uid}", json={"title": "Bella 2"})
    assert replaced.status_code == 200
    assert "category" not in replaced.json(), "PUT replaces: left-out properties are gone"

    patched = dcat.patch(f"{API}/objects/dcat/dataset/{uid}", json={"category": "Cats"})
    assert patched.json()["title"] == "Bella 2" and patched.json()["category"] == "Cats"
    assert patched.json()["@self"]["version"] == "1.0.2"

    assert dcat.delete(f"{API}/objects/dcat/dataset/{uid}").status_code == 204
    gone = dcat.get(f"{API}/objects/dcat/dataset/{uid}")
    assert gone.status_code == 404 and gone.json()["error"] == "Not Found"


def test_register_schema_and_object_by_id_uuid_or_slug(dcat):
    reg = dcat.get(f"{API}/registers/dcat").json()
    sch = dcat.get(f"{API}/schemas/dataset").json()
    obj = dcat.post(f"{API}/objects/{reg['id']}/{sch['uuid']}", json={"title": "X"}).json()
    assert dcat.get(f"{API}/objects/{reg['uuid']}/{sch['id']}/{obj['id']}").status_code == 200
    assert dcat.get(f"{API}/objects/DCAT/Dataset/{obj['id']}").status_code == 200


def test_list_paging_filters_search_and_order(dcat):
    names = ["Bella", "Max", "Luna", "Charlie", "Belle"]
    for i, name in enumerate(names):
        category = "Dogs" if i % 2 == 0 else "Cats"
        dcat.post(f"{API}/objects/dcat/dataset", json={"title": name, "category": category, "rank": i})
    page = dcat.get(f"{API}/objects/dcat/dataset?_limit=2&_page=2").json()
    assert (page["total"], page["page"], page["pages"], page["limit"], page["offset"]) == (5, 2, 3, 2, 2)
    assert [o["title"] for o in page["results"]] == ["Luna", "Charlie"]

    dogs = dcat.get(f"{API}/objects/dcat/dataset?category=Dogs").json()
    assert sorted(o["title"] for o in dogs["results"]) == ["Bella", "Belle", "Luna"]

    search = dcat.get(f"{API}/objects/dcat/dataset?_search=bel").json()
    assert sorted(o["title"] for o in search["results"]) == ["Bella", "Belle"]

    ordered = dcat.get(f"{API}/objects/dcat/dataset", params={"_order[title]": "desc"}).json()
    assert [o["title"] for o in ordered["results"]] == sorted(names, reverse=True)

    ranged = dcat.get(f"{API}/objects/dcat/dataset", params={"rank[gte]": "1", "rank[lt]": "3"}).json()
    assert sorted(o["title"] for o in ranged["results"]) == ["Luna", "Max"]

    either = dcat.get(f"{API}/objects/dcat/dataset", params=[("title[]", "Max"), ("title[]", "Luna")]).json()
    assert either["total"] == 2


@pytest.mark.parametrize("value", ["2026-11-29 14:00:00", "2026-11-29T14:00:00+01:00", "2026-11-29"])
def test_date_time_forms_are_accepted_and_stored_canonically(dcat, value):
    obj = dcat.post(f"{API}/objects/dcat/dataset", json={"title": "D", "publicatiedatum": value}).json()
    stored = obj["publicatiedatum"]
    assert stored.endswith("+00:00") and "T" in stored
    expected = {
        "2026-11-29 14:00:00": "2026-11-29T13:00:00+00:00",  # Amsterdam is UTC+1 in November
        "2026-11-29T14:00:00+01:00": "2026-11-29T13:00:00+00:00",
        "2026-11-29": "2026-11-28T23:00:00+00:00",
    }[value]
    assert stored == expected


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("/objects/dcat/dataset", {"_limit": "x"}, "_limit"),
        ("/objects/dcat/dataset", {"_page": "0"}, "_page"),
        ("/objects/dcat/dataset", {"_order[title]": "sideways"}, "asc or desc"),
        ("/objects/dcat/dataset", {"nosuchprop": "1"}, "nosuchprop"),
        ("/objects/dcat/dataset", {"rank": "abc"}, "rank"),
        ("/objects/dcat/dataset", {"rank[between]": "1"}, "between"),
    ],
)
def test_bad_query_parameters_get_a_clear_400(dcat, path, params, needle):
    response = dcat.get(API + path, params=params)
    assert response.status_code == 400, response.text
    assert needle in response.json()["message"]


def test_unknown_register_or_schema_is_404_and_malformed_json_is_400(dcat):
    assert dcat.get(f"{API}/objects/nope/dataset").status_code == 404
    assert dcat.get(f"{API}/objects/dcat/nope").status_code == 404
    bad = dcat.post(
        f"{API}/objects/dcat/dataset", content=b'{"title": ', headers={"content-type": "application/json"}
    )
    assert bad.status_code == 400 and "Malformed JSON" in bad.json()["message"]
    wrong_type = dcat.post(f"{API}/objects/dcat/dataset", json=["not", "an", "object"])
    assert wrong_type.status_code == 400


def test_format_errors_name_the_property(dcat):
    response = dcat.post(
        f"{API}/objects/dcat/dataset",
        json={"title": "x", "contactEmail": "not-an-email", "publicatiedatum": "soon"},
    )
    assert response.status_code == 400
    assert sorted(e["property"] for e in response.json()["errors"]) == ["contactEmail", "publicatiedatum"]
