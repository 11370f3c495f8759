"""One identity everywhere (issue 12, point 6): a create answers the ``id`` and
``uuid`` a later GET shows, through REST and through Python."""

from __future__ import annotations

from typing import Any

import pytest

from openconnector import ObjectService
from openconnector.connector.entities import EntityService

API = "/index.php/apps/openconnector/api"
OR = "/index.php/apps/openregister/api"


@pytest.mark.parametrize(
    ("segment", "body"),
    [
        ("sources", {"name": "S", "type": "api", "location": "https://example.org"}),
        ("mappings", {"name": "M", "mapping": {"title": "{{ name }}"}}),
        ("synchronizations", {"name": "Y"}),
        ("jobs", {"name": "J"}),
    ],
)
def test_rest_create_answers_the_numeric_id_and_uuid_a_get_shows(
    client: Any, segment: str, body: dict
) -> None:
    made = client.post(f"{API}/{segment}", json=body).json()
    assert isinstance(made["id"], int) and made["uuid"]
    shown = client.get(f"{API}/{segment}/{made['id']}").json()
    assert (shown["id"], shown["uuid"]) == (made["id"], made["uuid"])
    assert client.get(f"{API}/{segment}/{made['uuid']}").json()["id"] == made["id"]


def test_register_schema_and_object_creates_answer_what_a_get_shows(client: Any) -> None:
    register = client.post(f"{OR}/registers", json={"title": "R"}).json()
    assert client.get(f"{OR}/registers/{register['id']}").json()["uuid"] == register["uuid"]
    schema = client.post(
        f"{OR}/schemas", json={"title": "T", "register": register["id"], "properties": {}}
    ).json()
    assert client.get(f"{OR}/schemas/{schema['uuid']}").json()["id"] == schema["id"]
    made = client.post(f"{OR}/objects/{register['id']}/{schema['id']}", json={"title": "x"}).json()
    shown = client.get(f"{OR}/objects/{register['id']}/{schema['id']}/{made['id']}").json()
    assert made["@self"]["objectId"] == shown["@self"]["objectId"] and isinstance(
        made["@self"]["objectId"], int
    )
    assert made["@self"]["uuid"] == shown["@self"]["uuid"] == made["id"]


def test_python_save_object_returns_the_uuid_and_the_numeric_id_rest_shows(context: Any, client: Any) -> None:
    objects = ObjectService(context)
    source = objects.save_object(
        object={
            "name": "Swagger Pet Store",
            "type": "api",
            "location": "https://example.org",
            "auth": "none",
        },
        register="openconnector",
        schema="source",
    )
    assert source["uuid"] == source["id"] == source["@self"]["uuid"]
    shown = client.get(f"{API}/sources/{source['uuid']}").json()
    assert (shown["id"], shown["uuid"]) == (source["@self"]["objectId"], source["uuid"])
    found = objects.find(source["uuid"])
    assert (found["uuid"], found["@self"]["objectId"]) == (source["uuid"], source["@self"]["objectId"])
    # the object handed back is saved as it is: its uuid is its identity, not a new field
    again = objects.save_object({**found, "description": "again"}, register="openconnector", schema="source")
    assert again["uuid"] == source["uuid"] and again["@self"]["version"] == "1.0.1"
    assert EntityService("source", context).get(source["uuid"])["description"] == "again"
    assert objects.find_all("openconnector", "source", limit=1)["results"][0]["uuid"] == source["uuid"]
