"""The publication rule at its boundaries, through ``CatalogService`` with an injected clock.

docs/catalog.md: an object is public when its ``publicatiedatum`` is present and not
after now; a ``date`` is public from 00:00 local time; a schema without a date or
date-time ``publicatiedatum`` publishes nothing; with ``hardValidation: false`` a value
that is not a date publishes nothing. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from openconnector.catalog.service import CatalogService
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService

MOMENT = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)  # 14:00 in Amsterdam (summer time)


def make_catalog(context: Any, prop: dict[str, Any] | None, **schema: Any) -> CatalogService:
    registers = RegisterService(context)
    registers.create_register({"title": "Agenda", "slug": "agenda"})
    properties: dict[str, Any] = {"title": {"type": "string"}}
    if prop is not None:
        properties["publicatiedatum"] = prop
    registers.create_schema(
        {"title": "Item", "slug": "item", "properties": properties, **schema}, register="agenda"
    )
    catalogs = CatalogService(context)
    catalogs.create({"title": "Items", "slug": "items", "registers": ["agenda"], "schemas": ["item"]})
    return catalogs


def titles(catalogs: CatalogService, now: datetime) -> list[str]:
    return sorted(o["title"] for o in catalogs.publications("items", now=now)["results"])


def save(context: Any, *objects: dict[str, Any]) -> list[dict[str, Any]]:
    return [ObjectService(context).save_object(o, "agenda", "item") for o in objects]


def test_a_date_time_is_public_from_its_second_on(any_context):
    catalogs = make_catalog(any_context, {"type": "string", "format": "date-time"})
    (at,) = save(any_context, {"title": "at", "publicatiedatum": "2030-06-01T14:00:00+02:00"})
    save(any_context, {"title": "undated"})
    assert titles(catalogs, MOMENT - timedelta(seconds=1)) == []
    assert titles(catalogs, MOMENT) == ["at"]
    assert titles(catalogs, MOMENT + timedelta(microseconds=999_999)) == ["at"]
    with pytest.raises(Exception, match="not found"):
        catalogs.publication("items", at["id"], now=MOMENT - timedelta(seconds=1))
    assert catalogs.publication("items", at["id"], now=MOMENT)["title"] == "at"


def test_a_date_is_public_from_local_midnight(any_context):
    catalogs = make_catalog(any_context, {"type": "string", "format": "date"})
    save(any_context, {"title": "today", "publicatiedatum": "2030-06-01"})
    save(any_context, {"title": "tomorrow", "publicatiedatum": "2030-06-02"})
    local_midnight = datetime(2030, 5, 31, 22, 0, 0, tzinfo=UTC)  # 00:00 on 1 June in Amsterdam
    assert titles(catalogs, local_midnight - timedelta(seconds=1)) == []
    assert titles(catalogs, local_midnight) == ["today"]
    assert titles(catalogs, local_midnight + timedelta(days=1)) == ["today", "tomorrow"]


@pytest.mark.parametrize(
    ("prop", "value"),
    [(None, None), ({"type": "string"}, "2020-01-01T00:00:00+00:00"), ({"type": "integer"}, 2020)],
    ids=["missing", "text", "integer"],
)
def test_a_schema_without_a_date_publicatiedatum_publishes_nothing(any_context, prop, value):
    catalogs = make_catalog(any_context, prop)
    save(any_context, {"title": "x"} if value is None else {"title": "x", "publicatiedatum": value})
    assert titles(catalogs, MOMENT) == []


def test_without_hard_validation_only_values_shaped_like_the_format_publish(any_context):
    catalogs = make_catalog(any_context, {"type": "string", "format": "date-time"}, hardValidation=False)
    save(
        any_context,
        {"title": "dated", "publicatiedatum": "2020-01-01T00:00:00+00:00"},
        {"title": "year only", "publicatiedatum": "2020"},
        {"title": "words", "publicatiedatum": "(last year)"},
        {"title": "next year", "publicatiedatum": "2031-01-01T00:00:00+00:00"},
    )
    assert titles(catalogs, MOMENT) == ["dated"]  # the shape check comes on top of the date, not instead
    assert titles(catalogs, datetime(2031, 1, 1, tzinfo=UTC)) == ["dated", "next year"]


def test_without_hard_validation_a_date_must_look_like_a_date(any_context):
    catalogs = make_catalog(any_context, {"type": "string", "format": "date"}, hardValidation=False)
    save(
        any_context,
        {"title": "dated", "publicatiedatum": "2020-01-01"},
        {"title": "short", "publicatiedatum": "2020-1"},
        {"title": "spaces", "publicatiedatum": "(a while back)"},
        {"title": "next year", "publicatiedatum": "2031-01-01"},
    )
    assert titles(catalogs, MOMENT) == ["dated"]
