"""Errors at save time (issue 12, point 4) and names that identify (point 5).

A source without a location or of a type that cannot be called, and a mapping
whose Twig does not parse, are refused when saved, with a 400 that names the
field (and for a mapping the key and Twig's message). Slugs are unique per kind:
a second one is a 409, and a name two entities share is refused as a reference,
with the candidates listed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

API = "/index.php/apps/openconnector/api"
OR = "/index.php/apps/openregister/api"


def test_a_source_without_location_is_refused_naming_the_field(client: Any) -> None:
    answer = client.post(f"{API}/sources", json={"name": "Nowhere", "type": "api"})
    assert answer.status_code == 400
    assert answer.json()["property"] == "location" and "needs a location" in answer.json()["message"]
    made = client.post(f"{API}/sources", json={"name": "Somewhere", "location": "https://example.org"}).json()
    assert made["type"] == "api"
    cleared = client.put(f"{API}/sources/{made['id']}", json={"location": ""})
    assert cleared.status_code == 400 and cleared.json()["property"] == "location"
    assert client.put(f"{API}/sources/{made['id']}", json={"description": "x"}).status_code == 200


@pytest.mark.parametrize("kind", ["database", "file", "ftp"])
def test_a_source_type_that_cannot_be_called_is_refused(client: Any, kind: str) -> None:
    answer = client.post(
        f"{API}/sources", json={"name": "S", "type": kind, "location": "https://example.org"}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["property"] == "type" and repr(kind) in body["message"]
    # Both checks name what would work: the service's (for the original's other types)
    # and the body schema's enum (for a type no version knows).
    for working in ("api", "xml", "soap", "csv", "jsonl", "xlsx", "dcat"):
        assert repr(working) in body["message"] or working in body.get("supported", [])


def test_a_file_source_may_point_at_an_uploaded_file_other_sources_may_not(client: Any) -> None:
    csv = client.post(f"{API}/sources", json={"name": "F", "type": "csv", "location": "upload:a.csv"})
    assert csv.status_code == 200, csv.text
    api = client.post(f"{API}/sources", json={"name": "A", "type": "api", "location": "upload:a.csv"})
    assert api.status_code == 400 and api.json()["property"] == "location"


def test_a_mapping_with_a_twig_syntax_error_is_refused_naming_key_and_message(client: Any) -> None:
    answer = client.post(
        f"{API}/mappings", json={"name": "Broken", "mapping": {"ok": "{{ a }}", "title": "{{ name "}}
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["key"] == "title" and body["property"] == "mapping.title"
    assert body["message"].startswith("Twig syntax error in mapping key 'title': Unclosed \"variable\"")
    made = client.post(f"{API}/mappings", json={"name": "Fine", "mapping": {"title": "{{ name }}"}}).json()
    broken = client.put(f"{API}/mappings/{made['id']}", json={"mapping": {"title": "{% if %}"}})
    assert broken.status_code == 400 and broken.json()["key"] == "title"
    assert client.get(f"{API}/mappings/{made['id']}").json()["mapping"] == {"title": "{{ name }}"}


def test_the_mapping_test_warns_about_variables_the_input_lacks(client: Any) -> None:
    answer = client.post(
        f"{API}/mappings/test",
        json={
            "mapping": {
                "mapping": {"title": "{{ nmae }}", "category": "{{ category.title }}", "id": "{{ id }}"}
            },
            "inputObject": {"name": "Bella", "id": 7, "category": {"name": "Dogs"}},
        },
    )
    assert answer.status_code == 200
    assert answer.json()["warnings"] == [
        {
            "property": "title",
            "variable": "nmae",
            "message": "title reads nmae, which the input does not have",
        },
        {
            "property": "category",
            "variable": "category.title",
            "message": "category reads category.title, which the input does not have",
        },
    ]


@pytest.mark.parametrize(
    ("segment", "body"),
    [
        ("sources", {"name": "Pet Store", "location": "https://example.org"}),
        ("mappings", {"name": "Pet to dataset"}),
        ("synchronizations", {"name": "Pets"}),
    ],
)
def test_a_second_entity_with_the_same_slug_is_a_409(client: Any, segment: str, body: dict) -> None:
    first = client.post(f"{API}/{segment}", json=body)
    assert first.status_code == 200
    again = client.post(f"{API}/{segment}", json=body)
    assert again.status_code == 409
    assert again.json()["slug"] == first.json()["slug"] and again.json()["id"] == first.json()["id"]
    other = client.post(f"{API}/{segment}", json={**body, "name": body["name"] + " 2"}).json()
    taken = client.put(f"{API}/{segment}/{other['id']}", json={"slug": first.json()["slug"]})
    assert taken.status_code == 409


def test_registers_and_schemas_refuse_a_second_slug(client: Any) -> None:
    assert client.post(f"{OR}/registers", json={"title": "DCAT", "slug": "dcat"}).status_code == 201
    assert client.post(f"{OR}/registers", json={"title": "Other", "slug": "dcat"}).status_code == 409
    schema = {"title": "Dataset", "slug": "dataset", "register": "dcat", "properties": {}}
    assert client.post(f"{OR}/schemas", json=schema).status_code == 201
    again = client.post(f"{OR}/schemas", json=schema)
    assert again.status_code == 409 and "already has a schema with slug 'dataset'" in again.json()["message"]


def test_an_ambiguous_name_is_refused_with_the_candidates(context: Any, client: Any) -> None:
    from openconnector import ObjectService

    objects = ObjectService(context)
    ids = [
        objects.save_object({"name": "Twin", "location": "https://example.org"}, "openconnector", "source")
        for _ in range(2)
    ]
    answer = client.get(f"{API}/sources/Twin")
    assert answer.status_code == 409
    assert {c["uuid"] for c in answer.json()["candidates"]} == {i["uuid"] for i in ids}
    assert client.get(f"{API}/sources/{ids[0]['uuid']}").status_code == 200

    cli = subprocess.run(
        [sys.executable, "-c", "from openconnector.cli import main; main()", "source", "test", "Twin"]
        + ["--data-dir", str(context.settings.data_dir)],
        env={**os.environ, "OPENCONNECTOR_SECRET_KEY": "test-secret", "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 1
    said = " ".join((cli.stdout + cli.stderr).split())
    assert "2 sources have the name 'Twin'" in said
    assert all(i["uuid"] in said for i in ids), said
