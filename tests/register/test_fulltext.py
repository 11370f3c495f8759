"""Full-text ``_search`` (register/fulltext.py) on SQLite and PostgreSQL: words as prefixes,
accents, ranking, and an index that follows every write path."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from openconnector import ObjectService, SynchronizationService
from openconnector.register import fulltext
from openconnector.register.registers import RegisterService


@pytest.fixture
def objects(any_context, make_dcat):
    make_dcat(
        any_context, description={"type": "string"}, keywords={"type": "array", "items": {"type": "string"}}
    )
    return ObjectService()


def titles(objects, search, **kwargs):
    return [o["title"] for o in objects.find_all("dcat", "dataset", search=search, **kwargs)["results"]]


def test_every_word_must_match_as_the_start_of_a_word(objects):
    objects.save_objects(
        [
            {"title": "Bella", "description": "a harbour dog"},
            {"title": "Belle", "description": "a city cat"},
            {"title": "Isabella", "description": "a harbour cat"},
        ],
        "dcat",
        "dataset",
    )
    assert sorted(titles(objects, "bel")) == ["Bella", "Belle"]  # not Isabella: words, not substrings
    assert titles(objects, "BEL harb") == ["Bella"]
    assert sorted(titles(objects, "cat")) == ["Belle", "Isabella"]
    assert titles(objects, "cat dog") == []
    assert titles(objects, "!!!") == []


def test_accents_do_not_matter_either_way(objects):
    objects.save_objects(
        [
            {"title": "Café de Klok"},
            {"title": "Cafe Zoë", "keywords": ["Ærø", "crème brûlée"]},
            {"title": "Kerk"},
        ],
        "dcat",
        "dataset",
    )
    assert sorted(titles(objects, "cafe")) == ["Cafe Zoë", "Café de Klok"]
    assert sorted(titles(objects, "CAFÉ")) == ["Cafe Zoë", "Café de Klok"]
    assert titles(objects, "zoe") == ["Cafe Zoë"]
    assert titles(objects, "creme brulee") == ["Cafe Zoë"]  # arrays of strings are searched too


def test_without_an_order_a_search_ranks_title_matches_first(objects):
    objects.save_objects(
        [
            {"title": "Parking permits", "description": "harbour harbour mentioned in passing"},
            {"title": "Trees", "description": "nothing to see"},
            {"title": "Harbour traffic", "description": "ships"},
            {"title": "Noise", "description": "near the harbour"},
        ],
        "dcat",
        "dataset",
    )
    ranked = titles(objects, "harbour")
    assert ranked[0] == "Harbour traffic" and sorted(ranked) == [
        "Harbour traffic",
        "Noise",
        "Parking permits",
    ]
    assert titles(objects, "harbour", order={"title": "asc"}) == [
        "Harbour traffic",
        "Noise",
        "Parking permits",
    ]


def test_the_index_follows_updates_patches_and_deletes(objects):
    first = objects.save_object({"title": "Windmill", "category": "Energy"}, "dcat", "dataset")
    second = objects.save_object({"title": "Watermill"}, "dcat", "dataset")
    assert titles(objects, "windmill") == ["Windmill"]

    objects.save_object({"title": "Lighthouse"}, "dcat", "dataset", uuid=first["id"])
    assert titles(objects, "windmill") == [] and titles(objects, "lighthouse") == ["Lighthouse"]
    objects.save_object({"category": "Sea"}, "dcat", "dataset", uuid=first["id"], patch=True)
    assert titles(objects, "sea") == ["Lighthouse"] and titles(objects, "energy") == []

    objects.delete_object(first["id"], "dcat", "dataset")
    assert titles(objects, "lighthouse") == []
    objects.delete_objects([second["id"]])
    assert titles(objects, "watermill") == []
    with objects.db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM object_search")).scalar_one() == 0


def test_bulk_saves_index_new_and_changed_objects_in_one_go(objects):
    made = objects.save_objects([{"title": f"Bridge {n}"} for n in range(5)], "dcat", "dataset")
    objects.save_objects(
        [{"id": made[0]["id"], "title": "Tunnel 0"}, {"title": "Tunnel 9"}, {"title": 7}],
        "dcat",
        "dataset",
        raise_invalid=False,
    )
    assert sorted(titles(objects, "tunnel")) == ["Tunnel 0", "Tunnel 9"]
    assert objects.find_all("dcat", "dataset", search="bridge")["total"] == 4


def test_deleting_a_register_empties_its_part_of_the_index(any_context, objects):
    objects.save_object({"title": "Gone with the register"}, "dcat", "dataset")
    RegisterService().delete_register("dcat")
    with any_context.db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM object_search")).scalar_one() == 0


def test_dates_uris_and_secrets_are_not_searched(objects):
    objects.save_object(
        {"title": "Annual report", "publicatiedatum": "2026-11-29T10:00:00+00:00"}, "dcat", "dataset"
    )
    assert titles(objects, "2026") == [] and titles(objects, "annual 2026") == []
    schema = {"properties": {"name": {"type": "string"}, "password": {"type": "string"}}}
    schema["configuration"] = {"secretProperties": ["password"], "objectNameField": "name"}
    assert fulltext.document(schema, {"name": "Alice", "password": "hunter2"}) == ("Alice", "")


def test_extra_text_is_searched_and_kept_when_the_object_changes(any_context, objects):
    saved = objects.save_object({"title": "Council minutes"}, "dcat", "dataset")
    with any_context.db.begin() as conn:
        fulltext.set_extra_text(conn, saved["id"], "Het verslag van de vergadering over de brug")
    assert titles(objects, "vergadering") == ["Council minutes"]
    objects.save_object({"title": "Council minutes, approved"}, "dcat", "dataset", uuid=saved["id"])
    assert titles(objects, "vergadering brug") == ["Council minutes, approved"]
    assert titles(objects, "approved") == ["Council minutes, approved"]
    with any_context.db.begin() as conn:
        fulltext.set_extra_text(conn, saved["id"], None)
    assert titles(objects, "vergadering") == [] and titles(objects, "approved") == [
        "Council minutes, approved"
    ]


def test_a_search_broader_than_the_rank_window_still_pages_every_match_once(objects, monkeypatch):
    monkeypatch.setattr(fulltext, "RANK_WINDOW", 3)
    objects.save_objects(
        [{"title": f"Harbour {n}" if n % 3 == 0 else f"Quay {n}", "description": "harbour"} for n in range(9)]
        + [{"title": "Unrelated"}],
        "dcat",
        "dataset",
    )
    seen = []
    for page in range(1, 6):
        seen += titles(objects, "harbour", limit=2, page=page)
    assert sorted(seen) == sorted(f"Harbour {n}" if n % 3 == 0 else f"Quay {n}" for n in range(9))
    assert seen[0] == "Harbour 6"  # the newest three are ranked: the title match first
    assert objects.find_all("dcat", "dataset", search="harbour", limit=2)["total"] == 9


def test_a_synchronisation_run_makes_its_objects_searchable(any_context, objects, fake_api):
    def save(schema, data):
        return objects.save_object(object=data, register="openconnector", schema=schema)

    source = save(
        "source", {"name": "Pets", "type": "api", "location": fake_api.url + "/api/v3", "auth": "none"}
    )
    mapping = save(
        "mapping", {"name": "Pet", "mapping": {"title": "{{ name }}", "category": "{{ category.name }}"}}
    )
    sync = save(
        "synchronization",
        {
            "name": "pets",
            "sourceId": source["id"],
            "sourceType": "api",
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "/pet/findByStatus?status=available"},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )
    SynchronizationService().synchronize(sync)
    everything = objects.find_all("dcat", "dataset", limit=100)["results"]
    assert everything, "the run created objects"
    one = everything[0]
    assert one["id"] in [o["id"] for o in objects.find_all("dcat", "dataset", search=one["title"])["results"]]
    assert objects.find_all("dcat", "dataset", search=one["category"])["total"] == sum(
        1 for o in everything if o.get("category") == one["category"]
    )


def test_changing_which_properties_are_searched_reindexes_the_schema(objects):
    objects.save_object({"title": "Museum", "description": "https://example.org/museum"}, "dcat", "dataset")
    assert titles(objects, "example") == ["Museum"]
    RegisterService().update_schema(
        "dataset", {"properties": {**_props(), "description": {"type": "string", "format": "uri"}}}
    )
    assert titles(objects, "example") == [] and titles(objects, "museum") == ["Museum"]


def _props():
    return RegisterService().get_schema("dataset")["properties"]


def test_marking_a_property_facetable_counts_the_objects_already_there(objects):
    objects.save_objects(
        [{"title": "A", "category": "Dogs"}, {"title": "B", "category": "Dogs"}], "dcat", "dataset"
    )

    def counted():
        found = objects.find_all("dcat", "dataset", facets=["category"], limit=0)["facets"]["category"]
        return {b["key"]: b["results"] for b in found["buckets"]}

    assert counted() == {"Dogs": 2}
    RegisterService().update_schema(
        "dataset", {"properties": {**_props(), "category": {"type": "string", "facetable": True}}}
    )
    assert counted() == {"Dogs": 2}
    objects.save_objects([{"title": "C", "category": "Cats"}], "dcat", "dataset")
    assert counted() == {"Dogs": 2, "Cats": 1}
