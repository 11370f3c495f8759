"""Facet values of objects on PostgreSQL: counted from an index, not from each row's JSON.

A facet counts the values of one property among the objects a list selects; the
public catalog's is "every published dataset" (90,000 at 100,000 datasets). SQLite
answers that from the schema's expression index, which also holds the publication
date (``registers.cover_indexes``). PostgreSQL cannot: an index-only scan never
returns an index expression (the planner wants the ``object`` column itself), so it
read 90,000 rows' JSON (70 ms idle, 170 ms on a busy machine). Here it keeps, per
object, one row per value of each ``facetable`` property, with the object's
publication date beside it, in ``object_facets``; ``(register_id, schema_id, name,
value, published)`` is then an ordinary index that answers the count on its own::

    SELECT value, count(*) FROM object_facets
    WHERE register_id = 3 AND schema_id = 9 AND name = 'category' AND published <= '...'
    GROUP BY value

The rows are written with the object's batch (``ObjectBatch.statements``) and go with
the object (a trigger on ``objects``). Only a list without filters or ``_search``, whose
other clauses the caller restates over ``published`` (the catalog's publication rule,
``CatalogService.visible(column=...)``), is counted here; any other reads the JSON.
A value longer than :data:`MAX_VALUE` characters is not kept (an index entry has a size
limit, and such a value is no facet bucket anyone reads): it is not counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, column, func, select, table

from ..store import tables as t
from ..store.statements import Statement, run_statements

MAX_VALUE = 1000
TABLE = "object_facets"
#: Every object also has a row with this name (and value): a list without filters is
#: counted from the index too (90,000 published datasets: a scan of their JSON before).
EVERY = ""
#: The facet table as SQL expressions (for the caller's clauses over ``published``).
facet_rows = table(
    TABLE,
    column("object_id"),
    column("register_id"),
    column("schema_id"),
    column("name"),
    column("value"),
    column("published"),
)


def facetable(schema: dict[str, Any]) -> list[str]:
    """The properties whose values are kept: ``facetable: true``, scalar or an array of scalars."""
    out = []
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get("facetable") is not True:
            continue
        kind = prop.get("type")
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if kind in ("string", "integer", "number", "boolean") or (
            kind == "array" and items.get("type") in ("string", "integer", "number", "boolean")
        ):
            out.append(name)
    return out


def _text(value: Any) -> str | None:
    """A value as PostgreSQL's ``->>`` shows it (what the JSON facet's buckets hold)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_VALUE else None
    if isinstance(value, bool | int | float):
        return orjson.dumps(value).decode()
    return None


def rows(schema: dict[str, Any], names: list[str], uuid: str, data: dict[str, Any]) -> list[tuple]:
    """``(uuid, name, value, published)`` for one object: first its :data:`EVERY` row."""
    from ..catalog.service import PUBLICATION_FIELD  # the catalog builds on this package

    published = data.get(PUBLICATION_FIELD)
    published = published if isinstance(published, str) else None
    out = [(uuid, EVERY, EVERY, published)]
    for name in names:
        value = data.get(name)
        for item in value if isinstance(value, list) else [value]:
            shown = _text(item)
            if shown is not None:
                out.append((uuid, name, shown.replace("\x00", ""), published))
    return out


def write_statements(
    dialect: str,
    schema: dict[str, Any],
    objects: Sequence[tuple[str, dict[str, Any]]],
    *,
    new: bool,
) -> list[Statement]:
    """Statements that keep the facet rows of ``objects`` (``(uuid, data)``), after their rows are written."""
    names = facetable(schema)
    if dialect != "postgresql" or not objects:
        return []
    out: list[Statement] = []
    if not new:
        out.append(
            Statement(
                f"DELETE FROM {TABLE} WHERE object_id IN (SELECT id FROM objects WHERE uuid = ANY(%s))",
                ([u for u, _ in objects],),
            )
        )
    found = [row for uuid, data in objects for row in rows(schema, names, uuid, data)]
    if found:
        uuids, keys, values, published = (list(c) for c in zip(*found, strict=True))
        out.append(
            Statement(
                f"INSERT INTO {TABLE} (object_id, register_id, schema_id, name, value, published) "
                "SELECT o.id, o.register_id, o.schema_id, d.name, d.value, d.published "
                "FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS d(uuid, name, value, published) "
                "JOIN objects AS o ON o.uuid = d.uuid",
                (uuids, keys, values, published),
            )
        )
    return out


def counts(
    conn: Connection, register_id: int, schema_id: int, name: str, clauses: list[Any]
) -> list[tuple[Any, int]]:
    """The 200 most frequent values of ``name`` among the schema's objects that meet ``clauses``."""
    c = facet_rows.c
    number = func.count().label("n")
    query = (
        select(c.value.label("k"), number)
        .where(c.register_id == register_id, c.schema_id == schema_id, c.name == name, *clauses)
        .group_by(c.value)
        .order_by(number.desc(), c.value)
        .limit(200)
    )
    return [(r.k, r.n) for r in conn.execute(query)]


def count(conn: Connection, register_id: int, schema_id: int, clauses: list[Any], cap: int | None) -> int:
    """How many of the schema's objects meet ``clauses`` (from the :data:`EVERY` rows), up to ``cap + 1``."""
    c = facet_rows.c
    rows = select(c.object_id).where(
        c.register_id == register_id, c.schema_id == schema_id, c.name == EVERY, *clauses
    )
    if cap is not None:
        rows = rows.limit(cap + 1)
    return conn.execute(select(func.count()).select_from(rows.subquery())).scalar_one()


def reindex(conn: Connection, only: int | None = None) -> int:
    """Write the facet rows of every object, or of schema ``only``'s (after its facetable
    properties changed; the migration that creates the table)."""
    if conn.dialect.name != "postgresql":
        return 0
    schemas = {r.id: dict(_loads(r.data), id=r.id) for r in conn.execute(select(t.schemas))}
    count = 0
    for schema_id, schema in schemas.items():
        if only is not None and schema_id != only:
            continue
        conn.exec_driver_sql(f"DELETE FROM {TABLE} WHERE schema_id = %s", (schema_id,))
        query = select(t.objects.c.uuid, t.objects.c.object).where(t.objects.c.schema_id == schema_id)
        batch: list[tuple[str, dict[str, Any]]] = []
        for row in conn.execute(query):
            batch.append((row.uuid, _loads(row.object)))
            if len(batch) >= 1000:
                run_statements(conn, write_statements("postgresql", schema, batch, new=True))
                count += len(batch)
                batch = []
        run_statements(conn, write_statements("postgresql", schema, batch, new=True))
        count += len(batch)
    return count


def _loads(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else (value or {})
