"""ObjectService from Python, the twin of the tutorial's PHP tab, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from openconnector import ObjectService
from openconnector.errors import NotFound, ValidationFailed


@pytest.fixture
def objects(any_context, make_dcat):
    make_dcat(any_context)
    return ObjectService()


def test_save_object_creates_updates_and_upserts_by_uuid(objects):
    created = objects.save_object(
        object={"title": "Bella", "category": "Dogs"}, register="dcat", schema="dataset"
    )
    updated = objects.save_object(
        object={"id": created["id"], "title": "Bella 2"}, register="dcat", schema="dataset"
    )
    assert updated["id"] == created["id"] and updated["@self"]["version"] == "1.0.1"
    assert "category" not in updated
    given = "0b0e5b8e-6f1a-4c39-9f3f-2f6f1f0c9a11"
    upserted = objects.save_object(object={"title": "Given"}, register="dcat", schema="dataset", uuid=given)
    assert upserted["id"] == given and objects.find(given)["title"] == "Given"


def test_find_all_takes_the_rest_list_filters_as_keywords(objects):
    for i, (title, category) in enumerate(
        [("Bella", "Dogs"), ("Max", "Dogs"), ("Luna", "Cats"), ("Belle", "Cats")]
    ):
        objects.save_object(
            {"title": title, "category": category, "publicatiedatum": f"2026-11-2{i} 10:00:00"},
            "dcat",
            "dataset",
        )
    assert objects.find_all("dcat", "dataset", filters={"category": "Dogs"})["total"] == 2
    assert [
        o["title"]
        for o in objects.find_all("dcat", "dataset", search="bel", order={"title": "asc"})["results"]
    ] == ["Bella", "Belle"]
    page = objects.find_all("dcat", "dataset", limit=2, page=2, order={"title": "desc"})
    assert [o["title"] for o in page["results"]] == ["Belle", "Bella"] and page["pages"] == 2
    recent = objects.find_all("dcat", "dataset", filters={"publicatiedatum": {"gte": "2026-11-22"}})
    assert sorted(o["title"] for o in recent["results"]) == ["Belle", "Luna"]
    facets = objects.find_all("dcat", "dataset", facets=["category"], limit=0)["facets"]["category"][
        "buckets"
    ]
    assert {b["key"]: b["results"] for b in facets} == {"Dogs": 2, "Cats": 2}


def test_invalid_objects_raise_with_each_property_and_bulk_keeps_the_valid_ones(objects):
    with pytest.raises(ValidationFailed) as caught:
        objects.save_object({"category": 3}, "dcat", "dataset")
    assert sorted(e["property"] for e in caught.value.errors) == ["category", "title"]
    results = objects.save_objects(
        [{"title": "ok"}, {"category": "no title"}, {"title": "ok too"}],
        "dcat",
        "dataset",
        raise_invalid=False,
    )
    assert [type(r).__name__ for r in results] == ["dict", "ValidationFailed", "dict"]
    assert objects.find_all("dcat", "dataset")["total"] == 2


def test_delete_object_removes_it(objects):
    created = objects.save_object({"title": "Gone"}, "dcat", "dataset")
    objects.delete_object(created["id"], "dcat", "dataset")
    with pytest.raises(NotFound):
        objects.find(created["id"])


def test_text_that_bulk_writes_must_escape_comes_back_unchanged(objects):
    """Bulk inserts go through PostgreSQL's COPY and SQLite's multi-row VALUES: tabs,
    newlines, backslashes, COPY's own null marker and non-ASCII text all survive."""
    awkward = [
        "tab\there",
        "line\nbreak\r\n",
        "back\\slash \\N \\\\",
        "\\N",
        "quote \" and ' both",
        "émoji 🐕 ünïcode",
        '{"not": "json"}',
    ]
    saved = objects.save_objects([{"title": text, "category": text} for text in awkward], "dcat", "dataset")
    for text, made in zip(awkward, saved, strict=True):
        found = objects.find(made["id"])
        assert found["title"] == text and found["category"] == text
    assert objects.find_all("dcat", "dataset", filters={"category": "\\N"})["total"] == 1
