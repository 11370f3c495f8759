"""Dot paths as mappings use them (``openconnector.connector.paths``)."""

from __future__ import annotations

from typing import Any

import pytest

from openconnector.connector import paths

DATA = {"a": {"b": None, "list": [10, 20]}, "x.y": 1, "0": "zero"}


@pytest.mark.parametrize(
    "path, expected",
    [
        ("a.b", None),
        ("a.list.1", 20),
        ("a.list.01", paths.MISSING),
        ("a.list.-1", paths.MISSING),
        ("a.list.2", paths.MISSING),
        ("a.missing", paths.MISSING),
        ("a.b.c", paths.MISSING),
        ("x.y", paths.MISSING),
        ("x&#46;y", 1),
        ("0", "zero"),
    ],
)
def test_get_finds_values_the_way_the_original_does(path: str, expected: Any) -> None:
    assert paths.get(DATA, paths.split(path)) is expected or paths.get(DATA, paths.split(path)) == expected


def test_a_key_holding_null_exists() -> None:
    assert paths.get({"a": None}, ("a",)) is None
    assert paths.get({}, ("a",)) is paths.MISSING


@pytest.mark.parametrize(
    "start, path, expected",
    [
        ({}, "a.b", {"a": {"b": 1}}),
        ({"a": "text"}, "a.b", {"a": {"b": 1}}),
        ({"a": [0]}, "a.0", {"a": [1]}),
        ({"a": [0]}, "a.1", {"a": [0, 1]}),
        ({"a": [0]}, "a.3", {"a": {"0": 0, "3": 1}}),
        ({"a": [0]}, "a.name", {"a": {"0": 0, "name": 1}}),
        ([5], "k", {"0": 5, "k": 1}),
    ],
)
def test_set_value_creates_or_converts_containers_like_php_arrays(
    start: Any, path: str, expected: Any
) -> None:
    assert paths.set_value(start, paths.split(path), 1) == expected


def test_deleting_list_elements_keeps_indexes_until_compacted() -> None:
    data = {"l": ["a", "b", "c"]}
    assert paths.delete(data, ("l", "0")) is True
    assert paths.get(data, ("l", "0")) is paths.MISSING
    assert paths.get(data, ("l", "2")) == "c"
    assert paths.delete(data, ("l", "0")) is False
    assert paths.compact(data) == {"l": ["b", "c"]}


def test_clone_copies_every_container() -> None:
    data = {"a": [{"b": 1}]}
    copy = paths.clone(data)
    copy["a"][0]["b"] = 2
    assert data == {"a": [{"b": 1}]}
