"""List queries over objects: parameters, filters, sorting, search, paging, facets.

OpenRegister's list parameters (control parameters start with ``_``; any other
name is a property filter) are parsed once into a :class:`ListQuery`, which
then becomes SQL over the JSON document column. Property expressions are
rendered as literal SQL text (never bound parameters) so that they match the
expression indexes ``RegisterService.ensure_indexes`` creates.

    ?_limit=2&_page=2                      paging (limit default 20)
    ?category=Dogs&status[]=a&status[]=b   equality / IN
    ?publicatiedatum[lte]=2026-11-29       gte, lte, gt, lt, ne, in (comma list), IS NULL / IS NOT NULL
    ?_search=bel                           full-text: every word, as a word prefix; ranked (fulltext.py)
    ?_order[title]=desc                    sorting (also _created, _updated, _uuid)
    ?_facets[category][type]=terms         counts per value over the filtered set

Search in documents: the text extracted from an object's published files is part of
its index entry (``files/search_text.py``), so ``_search`` finds an object by it too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import ColumnElement, and_, literal, literal_column, or_

from ..errors import BadRequest
from ..store import tables as t
from . import fulltext
from .dates import normalise_date, normalise_datetime

MAX_LIMIT = 1000
_SEGMENT = re.compile(r"^[A-Za-z_@$][A-Za-z0-9_\-$]{0,100}$")
_BRACKET = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_OPS = {"gte", "lte", "gt", "lt", "ne", "in", "eq", "like"}
_META = {
    "_created": t.objects.c.created,
    "_updated": t.objects.c.updated,
    "_uuid": t.objects.c.uuid,
    "_owner": t.objects.c.owner,
    "_id": t.objects.c.id,
}
_META_FILTERS = {
    "uuid": t.objects.c.uuid,
    "owner": t.objects.c.owner,
    "created": t.objects.c.created,
    "updated": t.objects.c.updated,
}
_CONTROL_HINTS = {"limit", "page", "offset", "order", "search", "facets", "fields"}
_IGNORED_CONTROLS = {
    "_extend",
    "_fields",
    "_filter",
    "_unset",
    "_fuzzy",
    "_source",
    "_count",
    "_includeDeleted",
    "_facetable",
    "_empty",
    "_published",
    "_queries",
    "format",
}


@dataclass
class Filter:
    path: str
    op: str
    value: Any


@dataclass
class ListQuery:
    limit: int = 20
    page: int = 1
    offset: int = 0
    search: str | None = None
    order: list[tuple[str, str]] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)
    facets: dict[str, dict[str, Any]] = field(default_factory=dict)
    ids: list[str] | None = None


def _int(name: str, value: str, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be an integer, got {value!r}", parameter=name) from None
    if number < minimum:
        raise BadRequest(f"{name} must be at least {minimum}, got {number}", parameter=name)
    return number


def parse_params(items: list[tuple[str, str]], *, default_limit: int = 20) -> ListQuery:
    """A :class:`ListQuery` from raw ``(name, value)`` query pairs; 400 on nonsense."""
    query = ListQuery(limit=default_limit)
    page: int | None = None
    offset: int | None = None
    for raw_name, value in items:
        match = _BRACKET.match(raw_name)
        if not match:
            raise BadRequest(f"Query parameter {raw_name!r} is malformed", parameter=raw_name)
        name, brackets = match.group(1), re.findall(r"\[([^\[\]]*)\]", match.group(2))
        if name == "_limit":
            query.limit = min(_int("_limit", value, 0), MAX_LIMIT)
        elif name == "_page":
            page = _int("_page", value, 1)
        elif name == "_offset":
            offset = _int("_offset", value, 0)
        elif name == "_search" or name == "_q":
            query.search = value.strip() or None
        elif name == "_order" or name == "_sort":
            if brackets:
                query.order.append((brackets[0], _direction(value)))
            elif value.strip().startswith("{"):
                try:
                    spec = orjson.loads(value)
                except orjson.JSONDecodeError:
                    raise BadRequest(
                        "_order must be _order[field]=asc|desc or a JSON object", parameter="_order"
                    ) from None
                query.order.extend((str(k), _direction(str(v))) for k, v in spec.items())
            elif value.strip():
                for part in value.split(","):
                    part = part.strip()
                    query.order.append((part.lstrip("-"), "desc" if part.startswith("-") else "asc"))
        elif name == "_facets":
            if brackets:
                spec = query.facets.setdefault(brackets[0], {"type": "terms"})
                if len(brackets) >= 2 and brackets[1]:
                    spec[brackets[1]] = value
            else:
                for part in value.split(","):
                    if part.strip():
                        query.facets.setdefault(part.strip(), {"type": "terms"})
        elif name == "_ids":
            query.ids = [v.strip() for v in value.split(",") if v.strip()]
        elif name.startswith("_") or name in _IGNORED_CONTROLS:
            continue
        else:
            if brackets and brackets[0] not in ("",) and brackets[0] not in _OPS:
                raise BadRequest(
                    f"Unknown operator {brackets[0]!r} in {raw_name!r}; use one of {sorted(_OPS)}",
                    parameter=raw_name,
                )
            op = "in" if brackets and brackets[0] == "" else (brackets[0] if brackets else "eq")
            if op == "in" and brackets and brackets[0] == "in":
                query.filters.append(Filter(name, "in", [v for v in value.split(",") if v != ""]))
            elif op == "in":
                existing = next((f for f in query.filters if f.path == name and f.op == "in"), None)
                if existing is None:
                    query.filters.append(Filter(name, "in", [value]))
                else:
                    existing.value.append(value)
            else:
                query.filters.append(Filter(name, op, value))
    if page is not None:
        query.page = page
        query.offset = (page - 1) * query.limit
    elif offset is not None:
        query.offset = offset
        query.page = offset // query.limit + 1 if query.limit else 1
    return query


def _direction(value: str) -> str:
    lowered = value.strip().lower()
    if lowered not in ("asc", "desc"):
        raise BadRequest(f"Sort direction must be asc or desc, got {value!r}", parameter="_order")
    return lowered


class SqlBuilder:
    """Turns a :class:`ListQuery` into SQL for one schema's objects."""

    def __init__(self, schema: dict[str, Any], dialect: str, timezone: str) -> None:
        self.schema = schema
        self.props: dict[str, Any] = schema.get("properties") or {}
        self.sqlite = dialect == "sqlite"
        self.dialect = dialect
        self.timezone = timezone

    # expressions ------------------------------------------------------------------

    def expr_sql(self, path: str) -> str:
        """SQL text for a JSON property path, identical to the index expression."""
        segments = path.split(".")
        for segment in segments:
            if not _SEGMENT.match(segment):
                raise BadRequest(f"{path!r} is not a valid property name", parameter=path)
        if self.sqlite:
            json_path = "$" + "".join(f'."{s}"' for s in segments)
            return f"json_extract(objects.object, '{json_path}')"
        if len(segments) == 1:
            return f"(objects.object ->> '{segments[0]}')"
        return f"(objects.object #>> '{{{','.join(segments)}}}')"

    def expr(self, path: str) -> ColumnElement[Any]:
        return literal_column(self.expr_sql(path))

    def _prop(self, path: str) -> dict[str, Any] | None:
        head = path.split(".")[0]
        prop = self.props.get(head)
        if prop is None and self.props and not self.schema.get("allowUnknownFilters"):
            valid = sorted(self.props)
            raise BadRequest(
                f"Unknown property {head!r} in filter or sort; valid properties: {valid}",
                parameter=path,
                validProperties=valid,
            )
        return prop if isinstance(prop, dict) and "." not in path else None

    def _typed(self, prop: dict[str, Any] | None, value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [self._typed(prop, v, path) for v in value]
        kind = (prop or {}).get("type")
        fmt = (prop or {}).get("format")
        try:
            if kind == "integer":
                return int(value)
            if kind == "number":
                return float(value)
            if kind == "boolean":
                lowered = str(value).lower()
                if lowered not in ("true", "false", "1", "0"):
                    raise ValueError(value)
                truth = lowered in ("true", "1")
                return (1 if truth else 0) if self.sqlite else ("true" if truth else "false")
        except ValueError:
            raise BadRequest(f"Filter {path!r} expects a {kind}, got {value!r}", parameter=path) from None
        if fmt == "date-time":
            return normalise_datetime(value, self.timezone)
        if fmt == "date":
            return normalise_date(value, self.timezone)
        return value

    def numeric(self, path: str) -> bool:
        prop = self.props.get(path)
        return isinstance(prop, dict) and prop.get("type") in ("integer", "number")

    def sort_expr(self, path: str) -> ColumnElement[Any]:
        if not self.sqlite and self.numeric(path):
            return literal_column(f"({self.expr_sql(path)})::numeric")
        return self.expr(path)

    # clauses ----------------------------------------------------------------------

    def where(self, query: ListQuery, *, search: bool = True) -> list[ColumnElement[bool]]:
        """The query's clauses; ``search=False`` leaves out ``_search`` (for a page that
        joins the ranked matches instead, see :meth:`ranked`)."""
        clauses: list[ColumnElement[bool]] = []
        for flt in query.filters:
            clauses.append(self._filter(flt))
        if query.search and search:
            clauses.append(self._search(query.search))
        if query.ids:
            clauses.append(t.objects.c.uuid.in_(query.ids))
        return clauses

    def _filter(self, flt: Filter) -> ColumnElement[bool]:
        if flt.path not in self.props and flt.path in _META_FILTERS:
            column: Any = _META_FILTERS[flt.path]
            value = flt.value
        else:
            prop = self._prop(flt.path)
            column = self.expr(flt.path)
            if isinstance(flt.value, str) and flt.value.upper() in ("IS NULL", "IS NOT NULL"):
                return column.is_(None) if flt.value.upper() == "IS NULL" else column.isnot(None)
            value = self._typed(prop, flt.value, flt.path)
            if not self.sqlite and prop and prop.get("type") in ("integer", "number"):
                column = literal_column(f"({self.expr_sql(flt.path)})::numeric")
            elif not self.sqlite:
                value = [str(v) for v in value] if isinstance(value, list) else str(value)
        op = flt.op
        if op == "eq":
            return column == value
        if op == "ne":
            return or_(column != value, column.is_(None))
        if op == "in":
            return column.in_(value if isinstance(value, list) else [value])
        if op == "gte":
            return column >= value
        if op == "lte":
            return column <= value
        if op == "gt":
            return column > value
        if op == "lt":
            return column < value
        if op == "like":
            return column.ilike(f"%{_escape_like(str(value))}%", escape="\\")
        raise BadRequest(f"Unknown operator {op!r}", parameter=flt.path)  # pragma: no cover

    def _search(self, term: str) -> ColumnElement[bool]:
        found = fulltext.words(term)
        if not found:
            return literal(False)
        return t.objects.c.id.in_(fulltext.matching_ids(self.dialect, found))

    def joined(self, query: ListQuery) -> tuple[Any, ColumnElement[bool]] | None:
        """For ``_search``: ``objects`` joined to the full-text index, and the match clause."""
        found = fulltext.words(query.search) if query.search else []
        return fulltext.joined(self.dialect, found) if found else None

    def ranked(self, query: ListQuery) -> Any:
        """The ranked matches of ``_search`` (``id``, ``score``) when the page is ordered by
        relevance: a search without an explicit ``_order``. None otherwise."""
        if not query.search or query.order:
            return None
        found = fulltext.words(query.search)
        return fulltext.ranked(self.dialect, found) if found else None

    def order_by(self, query: ListQuery) -> list[Any]:
        out: list[Any] = []
        for name, direction in query.order:
            if name in _META:
                column: Any = _META[name]
            elif name.startswith("@self.") and f"_{name[6:]}" in _META:
                column = _META[f"_{name[6:]}"]
            elif name in ("_name", "_title"):
                column = self.expr(
                    "title" if "title" in self.props or not self.props else next(iter(self.props))
                )
            else:
                self._prop(name)
                column = self.sort_expr(name)
            out.append(column.desc() if direction == "desc" else column.asc())
        out.append(t.objects.c.id.asc())
        return out


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def combine(clauses: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(*clauses) if clauses else literal(True)
