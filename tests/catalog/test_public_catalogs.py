"""Managing catalogs (REST, admin only) and catalogs that span several schemas."""

from __future__ import annotations

from typing import Any

import pytest

from openconnector.catalog.service import CatalogService
from openconnector.catalog.woo import install_woo
from openconnector.errors import Conflict, NotFound
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService

API = "/index.php/apps/opencatalogi/api"
PAST = "2020-06-01T12:00:00+00:00"


def test_catalog_management_needs_login(client):
    for method, path in (
        ("get", "/catalogs"),
        ("post", "/catalogs"),
        ("get", "/catalogs/publications"),
        ("put", "/catalogs/publications"),
        ("delete", "/catalogs/publications"),
    ):
        assert client.request(method.upper(), f"{API}{path}", auth=None, json={}).status_code == 401, path


def test_catalogs_are_created_read_replaced_and_deleted_over_rest(client, context):
    install_woo(context)
    created = client.post(
        f"{API}/catalogs",
        json={
            "title": "Open data Utrecht",
            "registers": ["dcat"],
            "schemas": ["dataset"],
            "publisher": "Gemeente Utrecht",
            "contactPoint": "opendata@utrecht.nl",
            "themeMapping": {"Verkeer": "Transport"},
            "defaultTheme": "gove",
            "hasDcat": True,
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["slug"] == "open-data-utrecht"
    assert body["registers"] == [RegisterService(context).get_register("dcat")["id"]]
    assert body["contactPoint"] == {"email": "opendata@utrecht.nl"}
    assert (body["themeMapping"], body["defaultTheme"]) == ({"Verkeer": "TRAN"}, "GOVE")
    object_id = client.get(f"{API}/catalogs/{body['slug']}").json()["@self"]["objectId"]
    for ref in (body["slug"], body["id"], str(object_id)):
        assert client.get(f"{API}/catalogs/{ref}").json()["title"] == "Open data Utrecht"

    replaced = client.put(f"{API}/catalogs/{body['slug']}", json={"title": "Utrecht"})
    assert replaced.status_code == 200
    assert replaced.json()["slug"] == "open-data-utrecht" and "publisher" not in replaced.json()
    patched = client.patch(f"{API}/catalogs/{body['id']}", json={"description": "Alles"}).json()
    assert (patched["title"], patched["description"]) == ("Utrecht", "Alles")

    slugs = [c["slug"] for c in client.get(f"{API}/catalogs").json()["results"]]
    assert slugs == ["publications", "open-data-utrecht"]
    assert client.delete(f"{API}/catalogs/open-data-utrecht").status_code == 204
    assert client.get(f"{API}/catalogs/open-data-utrecht").status_code == 404


BAD_CATALOGS: list[tuple[dict[str, Any], int, str]] = [
    ({}, 400, "title: is required"),
    ({"title": "X", "slug": "Not A Slug"}, 400, "must be lowercase letters, digits and dashes"),
    ({"title": "Search"}, 400, "'search' is a reserved route name"),
    ({"title": "X", "registers": ["nope"]}, 404, "Register 'nope' not found"),
    ({"title": "X", "registers": ["openconnector"]}, 400, "cannot be published"),
    (
        {"title": "X", "registers": ["dcat"], "schemas": ["source"]},
        404,
        "not in any of the catalog's registers",
    ),
    ({"title": "X", "defaultTheme": "Dogs"}, 400, "is not an EU data theme"),
    (
        {"title": "X", "themeMapping": {"Dogs": "Pets"}},
        400,
        "themeMapping['Dogs'] = 'Pets' is not an EU data theme",
    ),
    ({"title": "X", "registers": "dcat", "schemas": {"a": 1}}, 400, "schemas: must be array, got object"),
    ({"title": "Publicaties", "slug": "publications"}, 409, "already exists"),
]


@pytest.mark.parametrize(("data", "status", "message"), BAD_CATALOGS, ids=[m for _, _, m in BAD_CATALOGS])
def test_bad_catalogs_are_refused_with_a_message_that_names_the_problem(
    client, context, data, status, message
):
    install_woo(context)
    response = client.post(f"{API}/catalogs", json=data)
    assert response.status_code == status
    assert message in response.json()["message"]


def test_the_default_catalog_exists_until_stored_and_returns_after_delete(context):
    catalogs = CatalogService(context)
    assert catalogs.get("publications")["id"] is None
    stored = catalogs.update(
        "publications", {"title": "Publicaties", "description": "Ons archief"}, merge=True
    )
    assert stored["id"] is not None and catalogs.get("publications")["description"] == "Ons archief"
    catalogs.delete("publications")
    assert catalogs.get("publications")["id"] is None
    with pytest.raises(NotFound):
        catalogs.delete("publications")
    with pytest.raises(Conflict):
        catalogs.create({"title": "A", "slug": "dup"}) and catalogs.create({"title": "B", "slug": "dup"})


# -- several schemas --------------------------------------------------------------------------


@pytest.fixture
def mixed(context):  # type: ignore[no-untyped-def]
    """A catalog over datasets and meeting notes: 3 + 2 published, 1 hidden."""
    install_woo(context)
    registers = RegisterService(context)
    registers.create_register({"title": "Raad"})
    registers.create_schema(
        {
            "title": "Notulen",
            "properties": {
                "title": {"type": "string"},
                "category": {"type": "string"},
                "vergadering": {"type": "string"},
                "publicatiedatum": {"type": "string", "format": "date-time"},
            },
        },
        register="raad",
    )
    objects = ObjectService(context)
    objects.save_objects(
        [
            {"title": t, "category": c, "publicatiedatum": PAST}
            for t, c in (("Bella", "Dogs"), ("Luna", "Cats"), ("Zorro", "Dogs"))
        ],
        "dcat",
        "dataset",
    )
    objects.save_objects(
        [
            {"title": "Raad januari", "category": "Dogs", "vergadering": "jan", "publicatiedatum": PAST},
            {"title": "Raad februari", "category": "Bestuur", "vergadering": "feb", "publicatiedatum": PAST},
            {"title": "Raad maart", "vergadering": "mrt"},
        ],
        "raad",
        "notulen",
    )
    CatalogService(context).create(
        {"title": "Alles", "registers": ["dcat", "raad"], "schemas": ["dataset", "notulen"]}
    )
    return "alles"


def titles(page: dict[str, Any]) -> list[str]:
    return [d["title"] for d in page["results"]]


def test_a_catalog_over_two_schemas_pages_through_both_in_turn(client, mixed):
    first = client.get(f"{API}/{mixed}", params={"_limit": "2"}, auth=None).json()
    second = client.get(f"{API}/{mixed}", params={"_limit": "2", "_page": "2"}, auth=None).json()
    third = client.get(f"{API}/{mixed}", params={"_limit": "2", "_page": "3"}, auth=None).json()
    assert (first["total"], first["pages"]) == (5, 3)
    assert titles(first) + titles(second) + titles(third) == [
        "Bella",
        "Luna",
        "Zorro",
        "Raad januari",
        "Raad februari",
    ]


def test_sorting_across_two_schemas_merges_like_one_query(client, mixed):
    page = client.get(
        f"{API}/{mixed}", params={"_order[title]": "desc", "_limit": "3", "_page": "1"}, auth=None
    ).json()
    assert titles(page) == ["Zorro", "Raad januari", "Raad februari"] and page["total"] == 5
    rest = client.get(
        f"{API}/{mixed}", params={"_order[title]": "desc", "_limit": "3", "_page": "2"}, auth=None
    ).json()
    assert titles(rest) == ["Luna", "Bella"]


def test_facets_and_filters_across_two_schemas_count_the_published_set(client, mixed):
    page = client.get(f"{API}/{mixed}", params={"_facets[category][type]": "terms"}, auth=None).json()
    assert page["facets"]["category"]["buckets"] == [
        {"key": "Dogs", "results": 3, "label": "Dogs"},
        {"key": "Bestuur", "results": 1, "label": "Bestuur"},
        {"key": "Cats", "results": 1, "label": "Cats"},
    ]
    only_notes = client.get(f"{API}/{mixed}", params={"vergadering": "jan"}, auth=None).json()
    assert titles(only_notes) == ["Raad januari"]
    searched = client.get(f"{API}/{mixed}", params={"_search": "raad"}, auth=None).json()
    assert titles(searched) == ["Raad januari", "Raad februari"]
    unknown = client.get(f"{API}/{mixed}", params={"nonsense": "x"}, auth=None)
    assert unknown.status_code == 400


def test_detail_of_a_multi_schema_catalog_finds_objects_in_either(client, mixed, context):
    page = client.get(f"{API}/{mixed}", auth=None).json()
    for item in page["results"]:
        assert client.get(f"{API}/{mixed}/{item['id']}", auth=None).status_code == 200
    hidden = ObjectService(context).find_all("raad", "notulen", filters={"vergadering": "mrt"})["results"][0]
    assert client.get(f"{API}/{mixed}/{hidden['id']}", auth=None).status_code == 404


def test_a_schema_without_a_date_publicatiedatum_publishes_nothing(context):
    registers = RegisterService(context)
    registers.create_register({"title": "Los"})
    registers.create_schema(
        {"title": "Blad", "properties": {"title": {"type": "string"}, "publicatiedatum": {"type": "string"}}},
        register="los",
    )
    ObjectService(context).save_object(
        {"title": "A", "publicatiedatum": "2020-01-01 00:00:00"}, "los", "blad"
    )
    catalogs = CatalogService(context)
    catalogs.create({"title": "Los", "registers": ["los"], "schemas": ["blad"]})
    assert catalogs.publications("los")["total"] == 0
    with pytest.raises(NotFound):  # like a register that is not there
        catalogs.create({"title": "Other", "registers": ["los"], "schemas": ["nope"]})
