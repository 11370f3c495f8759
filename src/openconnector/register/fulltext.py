"""Full-text search over objects: which text of an object is searchable, and its index.

``_search`` used to test every object's JSON for a substring (a scan: 499 ms p95 at
100,000 datasets). Now every object has one row in ``object_search``, written in the
same transaction as the object (:func:`write_statements`, called by ``ObjectBatch``, which
both ``ObjectService`` and a synchronisation's writer use), and removed with it:

* SQLite: an FTS5 table, rowid = ``objects.id``, columns ``title``, ``body`` and
  ``extra``; tokenizer ``unicode61 remove_diacritics 2`` ("café" is "cafe"); a trigger
  deletes the row with its object. Ranked by ``bm25`` (the title weighs 10x).
* PostgreSQL: a ``tsvector`` per object (GIN index) in the configuration
  ``openconnector_nl``: ``unaccent``, then a Dutch snowball stemmer without a stop-word
  list (so "de" or "het" can be searched, as on SQLite). A trigger on ``objects`` removes
  the row with its object. Ranked by ``ts_rank`` (the title has weight A).

A search term is split into words; every word must match, each as a prefix of a word
in the text (``bel`` finds "Bella" and "Belle"). Accents are folded in Python too, before
the text reaches either database, so a PostgreSQL without the ``unaccent`` extension
(it needs a contrib package) still finds "café" with "cafe".

Which text (:func:`document`): the object's name field (``objectNameField``, else
``title``) as the title; the values of the schema's other string properties, and of its
arrays of strings, as the body. Dates, times, URIs, e-mail addresses and secrets are left
out. A schema without properties has every string value of the object searched.

``extra`` is text another feature adds to an object, such as the text extracted from its
attached files: :func:`set_extra_text` stores it, object writes keep it, and it is
searched (with the lowest weight) like the rest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, column, literal, literal_column, select, table
from sqlalchemy.sql import Subquery

from ..store import tables as t
from ..store.secrets import URL, secret_paths
from ..store.statements import Statement, run_statements, sqlite_values

#: The PostgreSQL text search configuration (created by migration 0009_search).
CONFIG = "openconnector_nl"
TABLE = "object_search"
#: A search ranks its newest this many matches: ranking costs time per match (bm25 or
#: ts_rank), and a word found in half of 100,000 datasets would cost 35-50 ms to rank
#: in full. A search with fewer matches (almost every real one) is ranked exactly; for
#: a broader one the rest of its matches follow the ranked ones, newest first.
RANK_WINDOW = 2000
#: Words of a search beyond this many are ignored (each costs an index lookup).
MAX_WORDS = 16
_SKIPPED_FORMATS = {"date", "date-time", "time", "uri", "url", "iri", "email", "idn-email", "uuid"}
_WORD = re.compile(r"[^\W_]+")
_SEALED = "enc:v1:"
_REGCONFIG = f"'{CONFIG}'::regconfig"


def fold(text: str) -> str:
    """``text`` without accents ("Café Zoë" -> "Cafe Zoe"), as both databases' search sees it."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(term: str) -> list[str]:
    """The words of a search term, accents folded and lowercased: ``"Café-bar 2"`` -> cafe, bar, 2."""
    return [w.lower() for w in _WORD.findall(fold(term))][:MAX_WORDS]


def searchable(schema: dict[str, Any]) -> tuple[str, list[str], list[str]] | None:
    """The name field, the other string properties and the arrays of strings a schema's
    objects are searched by; None for a schema without properties (all strings searched)."""
    props = schema.get("properties") or {}
    if not props:
        return None
    config = schema.get("configuration") or {}
    name_field = config.get("objectNameField") or "title"
    secret = {p.removeprefix(URL).split(".")[0] for p in secret_paths(schema)}
    strings: list[str] = []
    arrays: list[str] = []
    for name, prop in props.items():
        if not isinstance(prop, dict) or name in secret or name == name_field:
            continue
        kind = prop.get("type", "string")
        if kind == "string" and prop.get("format") not in _SKIPPED_FORMATS:
            strings.append(name)
        elif kind == "array" and isinstance(prop.get("items"), dict):
            items = prop["items"]
            if items.get("type") == "string" and items.get("format") not in _SKIPPED_FORMATS:
                arrays.append(name)
    return name_field, strings, arrays


def document(schema: dict[str, Any], data: dict[str, Any], fields: Any = False) -> tuple[str, str]:
    """The searchable ``(title, body)`` of one object, accents folded.

    ``fields`` is :func:`searchable` of the schema when the caller has it (a batch
    computes it once); left out, it is computed here.
    """
    if fields is False:
        fields = searchable(schema)
    if fields is None:
        found: list[str] = []
        _strings(data, found)
        return "", fold(" ".join(found)).replace("\x00", "")
    name_field, strings, arrays = fields
    title = data.get(name_field)
    parts = [data[n] for n in strings if isinstance(data.get(n), str) and not data[n].startswith(_SEALED)]
    for name in arrays:
        value = data.get(name)
        if isinstance(value, list):
            parts.extend(v for v in value if isinstance(v, str))
    body = " ".join(parts)
    return (
        fold(title).replace("\x00", "") if isinstance(title, str) else "",
        fold(body).replace("\x00", ""),
    )


def _strings(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        if not value.startswith(_SEALED):
            out.append(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out)


# -- writing ------------------------------------------------------------------------


def write_statements(
    dialect: str, rows: Sequence[tuple[str, str, str]], *, new: bool = False
) -> list[Statement]:
    """Statements that (re)index objects, given as ``(uuid, title, body)``, after their rows are written.

    ``new``: the objects were just inserted (no index row can exist yet). A stored
    ``extra`` text is kept.
    """
    if not rows:
        return []
    if dialect == "sqlite":
        if new:
            head = f"INSERT INTO {TABLE} (rowid, title, body) SELECT o.id, v.column2, v.column3"
        else:
            head = (
                f"INSERT OR REPLACE INTO {TABLE} (rowid, title, body, extra) "
                f"SELECT o.id, v.column2, v.column3, (SELECT s.extra FROM {TABLE} AS s WHERE s.rowid = o.id)"
            )
        return [
            Statement(f"{head} FROM ({values}) AS v JOIN objects AS o ON o.uuid = v.column1", params)
            for values, params in sqlite_values(list(rows), {})
        ]
    uuids, titles, bodies = zip(*rows, strict=True)
    return [
        Statement(
            f"INSERT INTO {TABLE} (object_id, document) "
            f"SELECT o.id, setweight(to_tsvector({_REGCONFIG}, d.title), 'A') "
            f"|| setweight(to_tsvector({_REGCONFIG}, d.body), 'B') "
            "FROM unnest(%s::text[], %s::text[], %s::text[]) AS d(uuid, title, body) "
            "JOIN objects AS o ON o.uuid = d.uuid "
            "ON CONFLICT (object_id) DO UPDATE SET document = EXCLUDED.document "
            f"|| setweight(to_tsvector({_REGCONFIG}, coalesce({TABLE}.extra, '')), 'C')",
            (list(uuids), list(titles), list(bodies)),
        )
    ]


def reindex(conn: Connection, uuids: Iterable[str] | None = None, *, schema_id: int | None = None) -> int:
    """Rebuild the index rows of the given objects (all objects, or all of ``schema_id``,
    when None) from what is stored.

    For text that changed outside an object write (:func:`set_extra_text`), a schema
    whose searchable properties changed, and the migration that creates the index.
    Returns how many objects were indexed.
    """
    schemas = {row.id: dict(_loads(row.data), id=row.id) for row in conn.execute(select(t.schemas))}
    fields = {sid: searchable(sch) for sid, sch in schemas.items()}
    query = select(t.objects.c.uuid, t.objects.c.schema_id, t.objects.c.object).order_by(t.objects.c.id)
    if schema_id is not None:
        query = query.where(t.objects.c.schema_id == schema_id)
    wanted = list(uuids) if uuids is not None else None
    chunks = (
        [query.where(t.objects.c.uuid.in_(wanted[i : i + 500])) for i in range(0, len(wanted), 500)]
        if wanted is not None
        else [query]
    )
    count = 0
    for chunk in chunks:
        batch: list[tuple[str, str, str]] = []
        for row in conn.execute(chunk):
            sch = schemas.get(row.schema_id, {})
            batch.append((row.uuid, *document(sch, _loads(row.object), fields.get(row.schema_id))))
            if len(batch) >= 1000:
                run_statements(conn, write_statements(conn.dialect.name, batch))
                count += len(batch)
                batch = []
        run_statements(conn, write_statements(conn.dialect.name, batch))
        count += len(batch)
    return count


def set_extra_text(conn: Connection, uuid: str, text: str | None) -> None:
    """Make ``text`` searchable as part of object ``uuid`` (None removes it), in ``conn``'s
    transaction; later writes of the object keep it. The hook for the text of attached files."""
    value = fold(text).replace("\x00", "") if text else None
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(
            f"UPDATE {TABLE} SET extra = ? WHERE rowid = (SELECT id FROM objects WHERE uuid = ?)",
            (value, uuid),
        )
        return
    conn.exec_driver_sql(
        f"UPDATE {TABLE} SET extra = %s WHERE object_id = (SELECT id FROM objects WHERE uuid = %s)",
        (value, uuid),
    )
    reindex(conn, [uuid])


def _loads(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else (value or {})


# -- reading ------------------------------------------------------------------------


def _match(dialect: str, found: list[str]) -> tuple[str, ColumnElement[bool]]:
    if dialect == "sqlite":
        query = " ".join(f'"{w}"*' for w in found)
        return "rowid", literal_column(TABLE).op("MATCH")(literal(query))
    return "object_id", literal_column(f"(document @@ {_tsquery(found)})")


def _tsquery(found: list[str]) -> str:
    """Every word as a prefix. Written ``(w | w:*)``, which matches exactly what ``w:*``
    does, because PostgreSQL estimates a prefix alone at 2 % of the rows whatever its
    real share: for a word in half of the objects it then sorted all matches for the
    newest 2,000 (100 ms) instead of walking the newest rows until it had them (1 ms)."""
    query = " & ".join(f"({w} | {w}:*)" for w in found)
    return f"to_tsquery({_REGCONFIG}, {_quote(query)})"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def matching_ids(dialect: str, found: list[str]) -> Any:
    """``SELECT`` of the ids of the objects whose text has every word of ``found``."""
    key, clause = _match(dialect, found)
    return select(literal_column(key)).select_from(table(TABLE)).where(clause)


def joined(dialect: str, found: list[str]) -> tuple[Any, ColumnElement[bool]]:
    """``objects`` joined to its index rows, and the clause that keeps the matches: a
    count that stops early walks the matches instead of first listing them all."""
    key, clause = _match(dialect, found)
    index = table(TABLE, column(key))
    return t.objects.join(index, index.c[key] == t.objects.c.id), clause


def ranked(dialect: str, found: list[str]) -> Subquery:
    """The newest :data:`RANK_WINDOW` matches with a ``score`` (lower is better): ``id``, ``score``."""
    key, clause = _match(dialect, found)
    if dialect == "sqlite":
        score = literal_column(f"bm25({TABLE}, 10.0, 1.0, 0.5)")
    else:
        score = literal_column(f"-ts_rank(document, {_tsquery(found)})")
    return (
        select(literal_column(key).label("id"), score.label("score"))
        .select_from(table(TABLE))
        .where(clause)
        .order_by(literal_column(key).desc())
        .limit(RANK_WINDOW)
        .subquery("ranked")
    )
