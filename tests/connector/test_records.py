"""Finding records in response bodies (``connector/records.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from openconnector.connector.records import MISSING, RecordsNotFound, find_records, get_path
from openconnector.errors import SourceRejected

PETS = [{"id": 1}, {"id": 2}]

FOUND: list[tuple[Any, str | None, list[Any], str]] = [
    (PETS, None, PETS, "_root"),
    (PETS, "_root", PETS, "_root"),
    ({"results": PETS, "next": None}, None, PETS, "results"),
    ({"count": 2, "items": PETS}, None, PETS, "items"),
    ({"data": PETS}, None, PETS, "data"),
    ({"result": PETS}, None, PETS, "result"),
    ({"_embedded": {"pets": PETS}, "_links": {}}, None, PETS, "_embedded.pets"),
    ({"hydra:member": PETS}, None, PETS, "hydra:member"),
    ({"value": PETS, "@odata.nextLink": "x"}, None, PETS, "value"),
    ({"data": {"items": PETS}}, None, PETS, "data.items"),
    ({"results": None}, None, [], "results"),
    ({"data": {"items": PETS}}, "data.items", PETS, "data.items"),
    ({"data": [{"list": PETS}]}, "data.0.list", PETS, "data.0.list"),
    ({"data": {"pet": {"id": 1}}}, "data.pet", [{"id": 1}], "data.pet"),
    ({"data": None}, "data", [], "data"),
    ({"id": 1, "name": "Bella"}, "_object", [{"id": 1, "name": "Bella"}], "_object"),
]


@pytest.mark.parametrize(("body", "position", "records", "where"), FOUND)
def test_records_are_found_where_the_body_has_them(body: Any, position: str | None, records: Any, where: str):
    assert find_records(body, position) == (records, where)


NOT_FOUND: list[tuple[Any, str | None, str]] = [
    (
        {"count": 2, "items": PETS},
        "results",
        'No records at resultsPosition "results": the response is an object with keys ["count","items"]',
    ),
    (
        {"results": PETS},
        "_root",
        'No records at resultsPosition "_root": the response is an object with keys ["results"], not a list',
    ),
    (
        PETS,
        "_object",
        'No record at resultsPosition "_object": the response is a list of 2 items, not an object',
    ),
    (
        {"total": 0, "pets": PETS},
        None,
        'none of results, items, data, result, _embedded, hydra:member, value holds a list; the response is an object with keys ["total","pets"]',
    ),
    (None, None, "the response is empty"),
    ("<html>", None, "the response is a str value"),
]


@pytest.mark.parametrize(("body", "position", "message"), NOT_FOUND)
def test_missing_records_say_where_we_looked_and_what_the_response_had(
    body: Any, position: str | None, message: str
):
    with pytest.raises(RecordsNotFound) as error:
        find_records(body, position)
    assert message in error.value.message
    assert isinstance(error.value, SourceRejected)


def test_auto_detection_error_tells_how_to_fix_it():
    with pytest.raises(
        RecordsNotFound, match='Set resultsPosition to the dot path of the list, "_root" or "_object"'
    ):
        find_records({"pets": PETS})


def test_get_path_follows_dicts_and_list_indexes():
    body = {"data": {"items": [{"id": 7, "tags": ["a", "b"]}]}, "a.b": 1}
    assert get_path(body, "data.items.0.id") == 7
    assert get_path(body, "data.items.0.tags.-1") == "b"
    assert get_path(body, "a.b") == 1
    assert get_path(body, "") is body
    assert get_path(body, "data.items.5.id") is MISSING
    assert get_path(body, "data.nothing", None) is None
    assert get_path({"x": None}, "x") is None
    assert not MISSING
