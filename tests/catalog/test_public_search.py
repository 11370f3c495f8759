"""The public catalog's ``_search`` and totals (issue 18) on SQLite and PostgreSQL: full-text,
ranked, and still only ever the published datasets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openconnector.catalog import service as catalog_service
from openconnector.catalog.woo import install_woo
from openconnector.register.objects import ObjectService

API = "/index.php/apps/opencatalogi/api/publications"


@pytest.fixture
def published(any_context):
    install_woo(any_context)
    now = datetime.now(UTC).replace(microsecond=0)
    past, future = (now - timedelta(hours=1)).isoformat(), (now + timedelta(days=3)).isoformat()
    items: list[dict[str, Any]] = [
        {"title": "Haven van Rotterdam", "description": "containers", "publicatiedatum": past},
        {"title": "Fietspaden", "description": "routes langs de haven", "publicatiedatum": past},
        {"title": "Café terrassen", "description": "vergunningen", "publicatiedatum": past},
        {"title": "Haven plannen", "description": "nog geheim", "publicatiedatum": future},
        {"title": "Haven concept", "description": "zonder datum"},
    ]
    return ObjectService(any_context).save_objects(items, "dcat", "dataset")


def search(client, term: str, **params: str) -> dict[str, Any]:
    answer = client.get(API, params={"_search": term, **params}, auth=None)
    assert answer.status_code == 200
    return answer.json()


def test_an_unpublished_dataset_is_never_found_by_searching(any_client, published):
    found = search(any_client, "haven")
    assert [d["title"] for d in found["results"]] == ["Haven van Rotterdam", "Fietspaden"]
    assert found["total"] == 2 and found["totalCapped"] is False
    for term in ("geheim", "plannen", "concept", "zonder datum"):
        assert search(any_client, term)["total"] == 0, term
    facets = search(any_client, "haven", **{"_facets[title][type]": "terms"})["facets"]["title"]["buckets"]
    assert {b["key"] for b in facets} == {"Haven van Rotterdam", "Fietspaden"}


def test_public_search_folds_accents_and_ranks_titles_first(any_client, published):
    assert [d["title"] for d in search(any_client, "cafe")["results"]] == ["Café terrassen"]
    assert [d["title"] for d in search(any_client, "CAFÉ terras")["results"]] == ["Café terrassen"]
    ordered = search(any_client, "haven", **{"_order[title]": "asc"})
    assert [d["title"] for d in ordered["results"]] == ["Fietspaden", "Haven van Rotterdam"]


def test_totals_past_the_cap_say_so(any_client, published, monkeypatch):
    monkeypatch.setattr(catalog_service, "COUNT_CAP", 2)
    monkeypatch.setattr(catalog_service, "SEARCH_COUNT_CAP", 1)
    listed = any_client.get(API, params={"_limit": "1"}, auth=None).json()
    assert (listed["total"], listed["totalCapped"], listed["pages"]) == (2, True, 2)
    third = any_client.get(API, params={"_limit": "1", "_page": "3"}, auth=None).json()
    assert len(third["results"]) == 1, "paging goes on past the counted total"
    searched = search(any_client, "haven")
    assert (searched["total"], searched["totalCapped"], len(searched["results"])) == (1, True, 2)
    exact = search(any_client, "rotterdam")
    assert (exact["total"], exact["totalCapped"]) == (1, False)


def test_facets_count_the_published_values_and_follow_every_write(any_client, any_context, published):
    """On PostgreSQL these come from object_facets, on SQLite from the covering indexes:
    both must equal what the published objects hold, after updates and deletes too."""
    objects = ObjectService(any_context)

    def categories() -> dict[str, int]:
        answer = any_client.get(API, params={"_facets": "category,keywords", "_limit": "0"}, auth=None).json()
        return {b["key"]: b["results"] for b in answer["facets"]["category"]["buckets"]}

    assert categories() == {}
    haven, fiets, cafe, plannen, concept = published
    now = datetime.now(UTC).replace(microsecond=0)
    for item, category in ((haven, "Water"), (fiets, "Verkeer"), (plannen, "Water"), (concept, "Water")):
        objects.save_object({"category": category}, "dcat", "dataset", uuid=item["id"], patch=True)
    assert categories() == {"Water": 1, "Verkeer": 1}  # the future and undated ones are not counted
    objects.save_object(
        {"publicatiedatum": (now - timedelta(minutes=1)).isoformat(), "keywords": ["kade", "schip"]},
        "dcat",
        "dataset",
        uuid=plannen["id"],
        patch=True,
    )
    assert categories() == {"Water": 2, "Verkeer": 1}
    keywords = any_client.get(API, params={"_facets": "keywords", "_limit": "0"}, auth=None).json()
    assert keywords["facets"]["keywords"]["buckets"] == [
        {"key": "kade", "results": 1, "label": "kade"},
        {"key": "schip", "results": 1, "label": "schip"},
    ]
    objects.delete_object(haven["id"], "dcat", "dataset")
    objects.save_object({"category": "Verkeer"}, "dcat", "dataset", uuid=cafe["id"], patch=True)
    assert categories() == {"Verkeer": 2, "Water": 1}
    filtered = any_client.get(
        API, params={"_facets": "category", "_limit": "0", "category": "Water"}, auth=None
    ).json()
    assert filtered["facets"]["category"]["buckets"] == [{"key": "Water", "results": 1, "label": "Water"}]
