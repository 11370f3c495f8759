"""ObjectService: create, read, update, delete and list the objects of a register.

The Python twin of OpenRegister's ``ObjectService::saveObject``: the REST API,
the synchronisation engine and the tutorial's Python tab all call this one
class. ``save_object`` creates (no id), updates (known id) or creates with the
given uuid (unknown id), validating against the schema every time.
``save_objects`` does the same for a batch in one transaction, which is what
keeps a synchronisation fast.
"""

from __future__ import annotations

import copy
import uuid as uuidlib
from collections.abc import Iterable, Sequence
from math import ceil
from typing import Any, NamedTuple

import orjson
from sqlalchemy import ColumnElement, Connection, and_, delete, func, literal_column, select

from ..clock import now_iso
from ..context import Context, get_context
from ..errors import BadRequest, NotFound, ValidationFailed
from ..store import tables as t
from ..store.db import ensure_statistics
from ..store.ids import new_uuids, row_id
from ..store.secrets import mask, reveal, seal, secret_paths
from ..store.statements import Statement, insert_statements, run_statements, update_statements
from . import facets as facet_index
from . import fulltext
from .registers import RegisterService
from .search import ListQuery, SqlBuilder, combine, parse_params

_COLUMNS = (
    t.objects.c.id,
    t.objects.c.uuid,
    t.objects.c.register_id,
    t.objects.c.schema_id,
    t.objects.c.object,
    t.objects.c.version,
    t.objects.c.owner,
    t.objects.c.created,
    t.objects.c.updated,
)


#: The built-in register whose objects are the connector's entities (sources, mappings, ...).
ENTITY_REGISTER = "openconnector"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class _Row(NamedTuple):
    """A stored object as read by the bulk path (raw driver rows, JSON decoded here)."""

    id: int
    uuid: str
    register_id: int
    schema_id: int
    raw_object: Any
    version: str
    owner: str | None
    created: str
    updated: str

    @property
    def object(self) -> dict[str, Any]:
        value = self.raw_object
        return orjson.loads(value) if isinstance(value, str | bytes) else value


def bump_version(version: str | None) -> str:
    """The next patch version (``1.2.3`` -> ``1.2.4``), as both originals bump on update."""
    parts = (version or "1.0.0").split(".")
    try:
        parts[-1] = str(int(parts[-1]) + 1)
    except ValueError:
        return "1.0.1"
    return ".".join(parts)


def _is_uuid(value: str) -> bool:
    try:
        uuidlib.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return True


class ObjectBatch:
    """Validated objects of one schema, ready to be written (see ``ObjectService.prepare_objects``).

    ``inserts`` are ``(uuid, object)`` and ``updates`` ``(uuid, object, version)``; the
    columns every row of the batch shares (register, schema, owner, timestamps) are
    held once in ``shared``, and sent once per statement.
    """

    __slots__ = ("results", "inserts", "updates", "shared", "schema")

    def __init__(
        self,
        results: list[Any],
        inserts: list[tuple[str, dict[str, Any]]],
        updates: list[tuple[str, dict[str, Any], str]],
        shared: dict[str, Any],
        schema: dict[str, Any] | None = None,
    ) -> None:
        self.results = results
        self.inserts = inserts
        self.updates = updates
        self.shared = shared
        #: The objects' schema: it says which of their text is searchable (``fulltext.document``).
        self.schema = schema

    @staticmethod
    def shared_of(
        register: dict[str, Any], schema: dict[str, Any], owner: str | None, now: str
    ) -> dict[str, Any]:
        """The column values every object a batch writes at ``now`` has in common."""
        return {
            "register_id": register["id"],
            "schema_id": schema["id"],
            "owner": owner,
            "created": now,
            "updated": now,
        }

    def write(self, conn: Connection) -> list[Any]:
        """Store the rows in ``conn``'s transaction; the batch's results."""
        run_statements(conn, self.statements(conn.dialect.name))
        return self.results

    def statements(self, dialect: str) -> list[Statement]:
        """The writes as statements for ``dialect`` (see ``store/statements.py``), the
        objects' full-text index rows (``register/fulltext.py``) and, on PostgreSQL,
        facet rows (``register/facets.py``) included."""
        schema = self.schema or {}
        fields = fulltext.searchable(schema)
        return [
            *insert_statements(
                dialect,
                "objects",
                ("uuid", "object"),
                [(made, _dumps(data)) for made, data in self.inserts],
                shared={"version": "1.0.0", **self.shared},
            ),
            *update_statements(
                dialect,
                "objects",
                "uuid",
                ("object", "version"),
                [(made, _dumps(data), version) for made, data, version in self.updates],
                shared={"updated": self.shared["updated"]},
                casts={"object": "::jsonb"},
            ),
            *fulltext.write_statements(
                dialect,
                [(made, *fulltext.document(schema, data, fields)) for made, data in self.inserts],
                new=True,
            ),
            *fulltext.write_statements(
                dialect, [(made, *fulltext.document(schema, data, fields)) for made, data, _ in self.updates]
            ),
            *facet_index.write_statements(dialect, schema, self.inserts, new=True),
            *facet_index.write_statements(
                dialect, schema, [(made, data) for made, data, _ in self.updates], new=False
            ),
        ]


class ObjectService:
    """Objects of registers; ``register`` and ``schema`` are ids, uuids or slugs."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.db = self.context.db
        self.registers = RegisterService(self.context)

    # -- resolving -----------------------------------------------------------------

    def resolve(
        self, register: Any, schema: Any, conn: Connection | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The register and schema dicts for references by id, uuid or slug."""
        if register is None or schema is None:
            raise BadRequest("Both a register and a schema are needed", register=register, schema=schema)
        if isinstance(register, dict) and isinstance(schema, dict):
            return register, schema  # already resolved by the caller (saves two queries per request)
        # Registers and schemas are looked up outside ``conn`` on purpose: they are remembered
        # for a moment (RegisterService._get), and object writes never create them.
        reg = self.registers.get_register(register)
        sch = self.registers.get_schema(schema, register=reg)
        return reg, sch

    # -- writing -------------------------------------------------------------------

    def save_object(
        self,
        object: dict[str, Any],
        register: Any = None,
        schema: Any = None,
        uuid: str | None = None,
        *,
        owner: str | None = None,
        patch: bool = False,
        conn: Connection | None = None,
    ) -> dict[str, Any]:
        """Create or update one object and return it in wire shape (with ``id`` and ``@self``).

        The id comes from ``uuid``, else ``@self.id``, else ``id`` in the object. With
        ``patch`` the given properties are merged into the stored ones; otherwise the
        object replaces them (properties left out are removed).
        """
        if not isinstance(object, dict):
            raise BadRequest("An object must be a JSON object")
        object_id = uuid or (object.get("@self") or {}).get("id") or object.get("id")
        if register is None or schema is None:
            if not object_id:
                raise BadRequest("Both a register and a schema are needed to create an object")
            current = self.find(object_id)
            register = register or current["@self"]["register"]
            schema = schema or current["@self"]["schema"]
        with self.db.begin(conn) as c:
            reg, sch = self.resolve(register, schema, c)
            given = object.get("uuid")
            if reg.get("slug") == ENTITY_REGISTER and given and str(object_id or given) == str(given):
                object_id = given  # a connector entity's uuid is its identity, not a field
                object = {k: v for k, v in object.items() if k != "uuid"}
            batch = self.prepare_objects([object], reg, sch, c, owner=owner, patch=patch, uuids=[object_id])
            saved = batch.write(c)[0]  # an invalid object raised ValidationFailed
            if "objectId" not in saved["@self"]:  # a new row: its numeric id, as a later find shows it
                saved["@self"]["objectId"] = c.execute(
                    select(t.objects.c.id).where(t.objects.c.uuid == saved["id"])
                ).scalar_one()
            self.record_events(c, reg, sch, batch)
            return _identified(saved, reg)

    def save_objects(
        self,
        objects: Sequence[dict[str, Any]],
        register: Any,
        schema: Any,
        *,
        owner: str | None = None,
        conn: Connection | None = None,
        raise_invalid: bool = True,
        shape: bool = True,
    ) -> list[Any]:
        """Create or update many objects of one schema in one transaction.

        With ``raise_invalid=False`` an invalid object does not stop the batch: its
        place in the returned list holds the :class:`ValidationFailed`, the rest are saved.
        With ``shape=False`` the list holds just the saved uuids (what a synchronisation needs).
        """
        with self.db.begin(conn) as c:
            reg, sch = self.resolve(register, schema, c)
            uuids = [
                (o.get("@self") or {}).get("id") or o.get("id") if isinstance(o, dict) else None
                for o in objects
            ]
            batch = self.prepare_objects(
                objects, reg, sch, c, owner=owner, uuids=uuids, raise_invalid=raise_invalid, shape=shape
            )
            saved = batch.write(c)
            self.record_events(c, reg, sch, batch)
            if len(objects) >= 1000 and c.dialect.name == "sqlite":
                ensure_statistics(c)  # a bulk load into a register the planner knows nothing of
            return saved

    def validate(self, object: dict[str, Any], register: Any, schema: Any) -> list[dict[str, Any]]:
        """The validation errors ``object`` would get, without saving it."""
        _, sch = self.resolve(register, schema)
        validator = self.registers.validator(sch)
        data = {k: v for k, v in object.items() if k not in ("id", "@self")}
        validator.normalise(data)
        return validator.errors(data)

    def prepare_objects(
        self,
        objects: Sequence[Any],
        reg: dict[str, Any],
        sch: dict[str, Any],
        conn: Connection,
        *,
        owner: str | None = None,
        patch: bool = False,
        uuids: Sequence[Any],
        raise_invalid: bool = True,
        shape: bool = True,
    ) -> ObjectBatch:
        """Validate ``objects`` and build their rows without writing them.

        ``conn`` is only read (the stored versions of objects being updated). The
        returned batch's ``results`` are what :meth:`save_objects` returns; its
        :meth:`ObjectBatch.write` stores the rows, in whatever transaction, and
        thread, the caller chooses: a synchronisation writes one page while it
        maps the next.
        """
        validator = self.registers.validator(sch)
        has_secrets = bool(secret_paths(sch)) or bool(
            (sch.get("configuration") or {}).get("secretPathsProperty")
        )
        wanted = [str(u) for u in uuids if u]
        for value in wanted:
            if not _is_uuid(value):
                raise BadRequest(f"Object id {value!r} is not a uuid", id=value)
        existing: dict[str, Any] = {}
        if wanted:
            mark = "?" if conn.dialect.name == "sqlite" else "%s"
            for chunk_start in range(0, len(wanted), 500):
                chunk = [w.lower() for w in wanted[chunk_start : chunk_start + 500]]
                sql = (
                    "SELECT id, uuid, register_id, schema_id, object, version, owner, created, updated "
                    f"FROM objects WHERE uuid IN ({', '.join([mark] * len(chunk))})"
                )
                for row in conn.exec_driver_sql(sql, tuple(chunk)):
                    existing[row[1]] = _Row(*row)
        now = now_iso()
        fresh = iter(new_uuids(sum(1 for u in uuids if not u)))
        inserts: list[tuple[str, dict[str, Any]]] = []
        updates: list[tuple[str, dict[str, Any], str]] = []
        results: list[dict[str, Any] | ValidationFailed] = []
        shared = ObjectBatch.shared_of(reg, sch, owner, now)
        for obj, given in zip(objects, uuids, strict=True):
            if not isinstance(obj, dict):
                failure = ValidationFailed([{"property": None, "message": "An object must be a JSON object"}])
                if raise_invalid:
                    raise failure
                results.append(failure)
                continue
            data = dict(obj)
            data.pop("id", None)
            data.pop("@self", None)
            key = str(given).lower() if given else None
            row = existing.get(key) if key else None
            if row is not None and (row.register_id != reg["id"] or row.schema_id != sch["id"]):
                raise BadRequest(f"Object {key} belongs to another register or schema", id=key)
            if row is not None and patch:
                data = {**row.object, **data}
            validator.normalise(data)
            errors = validator.errors(data)
            if errors:
                failure = ValidationFailed(errors)
                if raise_invalid:
                    raise failure
                results.append(failure)
                continue
            if has_secrets:
                data = copy.deepcopy(data)
                previous = row.object if row is not None else None
                seal(data, secret_paths(sch, data), self.context.secrets, previous)
            if row is None:
                made = key or next(fresh)
                inserts.append((made, data))
                results.append(
                    self._wire_from({"uuid": made, "object": data, "version": "1.0.0", **shared}, sch)
                    if shape
                    else made
                )
            else:
                version = bump_version(row.version)
                updates.append((row.uuid, data, version))
                if not shape:
                    results.append(row.uuid)
                    continue
                results.append(
                    self._wire_from(
                        {
                            "uuid": row.uuid,
                            "register_id": reg["id"],
                            "schema_id": sch["id"],
                            "object": data,
                            "version": version,
                            "owner": row.owner,
                            "created": row.created,
                            "updated": now,
                        },
                        sch,
                    )
                )
        return ObjectBatch(results, inserts, updates, shared, sch)

    def delete_object(
        self, id: str, register: Any = None, schema: Any = None, conn: Connection | None = None
    ) -> None:
        """Delete one object (hard delete); 404 when it does not exist."""
        with self.db.begin(conn) as c:
            row = self._find_row(id, register, schema, c)
            _files().discard_on_commit(self.context, c, t.files.c.object_id == row.id)
            c.execute(delete(t.objects).where(t.objects.c.id == row.id))
            self._record_deletes(c, [row])

    def delete_objects(self, uuids: Iterable[str], conn: Connection | None = None) -> int:
        """Delete objects by uuid; returns how many existed."""
        ids = [u for u in uuids if u]
        if not ids:
            return 0
        count = 0
        with self.db.begin(conn) as c:
            if _outbox().any_subscribers(self, c):
                for start in range(0, len(ids), 500):
                    self._record_deletes(
                        c,
                        c.execute(
                            select(t.objects.c.uuid, t.objects.c.register_id, t.objects.c.schema_id).where(
                                t.objects.c.uuid.in_(ids[start : start + 500])
                            )
                        ).all(),
                    )
            for start in range(0, len(ids), 500):
                _files().discard_on_commit(
                    self.context, c, t.files.c.object_uuid.in_(ids[start : start + 500])
                )
                count += c.execute(
                    delete(t.objects).where(t.objects.c.uuid.in_(ids[start : start + 500]))
                ).rowcount
        return count

    def record_events(self, conn: Connection, register: dict, schema: dict, batch: ObjectBatch) -> None:
        """Outbox events for a batch's writes, in ``conn``'s transaction (``connector/outbox.py``)."""
        _outbox().record(
            self,
            conn,
            register,
            schema,
            [(u, "create") for u, _ in batch.inserts] + [(u, "update") for u, _, _ in batch.updates],
        )

    def _record_deletes(self, conn: Connection, rows: Iterable[Any]) -> None:
        by_schema: dict[tuple[int, int], list[str]] = {}
        for row in rows:
            by_schema.setdefault((row.register_id, row.schema_id), []).append(row.uuid)
        for (register_id, schema_id), uuids in by_schema.items():
            reg = self.registers.get_register(register_id)
            sch = self.registers.get_schema(schema_id)
            _outbox().record(self, conn, reg, sch, [(u, "delete") for u in uuids])

    # -- reading -------------------------------------------------------------------

    def find(
        self, id: str, register: Any = None, schema: Any = None, conn: Connection | None = None
    ) -> dict[str, Any]:
        """One object in wire shape; 404 when it is not in the given register/schema."""
        with self.db.connect(conn) as c:
            row = self._find_row(id, register, schema, c)
            reg = self.registers.get_register(row.register_id, c)
        return _identified(self._wire(row, self.registers.get_schema(row.schema_id)), reg)

    def find_all(
        self,
        register: Any,
        schema: Any,
        *,
        params: list[tuple[str, str]] | None = None,
        query: ListQuery | None = None,
        filters: dict[str, Any] | None = None,
        limit: int | None = None,
        page: int | None = None,
        offset: int | None = None,
        search: str | None = None,
        order: dict[str, str] | None = None,
        facets: Iterable[str] | None = None,
        extra_where: list[ColumnElement[bool]] | None = None,
        count_cap: int | None = None,
        facet_where: list[ColumnElement[bool]] | None = None,
    ) -> dict[str, Any]:
        """A page of objects with ``{results, total, page, pages, limit, offset}``.

        With ``_search`` and no ``_order`` the page is in order of relevance
        (``register/fulltext.py``). ``count_cap`` counts at most that many matches: past
        it, ``total`` is the cap and ``totalCapped`` is true (the public catalog's choice:
        counting 90,000 published datasets took longer than the whole page).
        ``facet_where`` restates ``extra_where`` over ``facets.facet_rows`` (its
        ``published`` column): on PostgreSQL a list without filters or search then
        counts its total and facets from ``object_facets`` (``register/facets.py``).

        Takes the REST list's raw ``params`` or, from Python, keyword arguments with
        the same meaning: ``filters={"category": "Dogs", "status": ["a", "b"],
        "publicatiedatum": {"lte": "2026-11-29"}}``, ``order={"title": "desc"}``.
        """
        if query is None:
            query = parse_params(
                list(params or []) + _kwargs_to_params(filters, limit, page, offset, search, order, facets)
            )
        with self.db.connect(None) as c:
            reg, sch = self.resolve(register, schema, c)
            builder = SqlBuilder(sch, c.dialect.name, self.context.settings.timezone)
            base = [t.objects.c.register_id == reg["id"], t.objects.c.schema_id == _literal_int(sch["id"])]
            clauses = base + builder.where(query) + list(extra_where or [])
            where = combine(clauses)
            plain = combine(base + builder.where(query, search=False) + list(extra_where or []))
            rows_of: Any = None
            plain_list = not query.filters and not query.search and not query.ids
            if plain_list and c.dialect.name == "postgresql" and (facet_where is not None or not extra_where):
                rows_of = (reg["id"], sch, list(facet_where or []))
            joined = builder.joined(query) if count_cap is not None else None
            if rows_of is not None:
                found = facet_index.count(c, reg["id"], sch["id"], rows_of[2], count_cap)
                capped = count_cap is not None and found > count_cap
                total = count_cap if capped else found
            elif joined is not None:
                total, capped = _count(c, and_(plain, joined[1]), count_cap, joined[0])
            else:
                total, capped = _count(c, where, count_cap)
            rows: list[Any] = []
            ranked = builder.ranked(query) if query.limit else None
            if ranked is not None:
                rows = _ranked_page(c, query, ranked, plain, where)
            elif query.limit:
                stmt = (
                    select(*_COLUMNS)
                    .where(where)
                    .order_by(*builder.order_by(query))
                    .limit(query.limit)
                    .offset(query.offset)
                )
                rows = c.execute(stmt).all()
            facets_out = self._facets(c, builder, where, query, rows_of) if query.facets else None
        limit_ = query.limit
        envelope: dict[str, Any] = {
            "results": [_identified(self._wire(r, sch), reg) for r in rows],
            "total": total,
            "page": query.page,
            "pages": max(1, ceil(total / limit_)) if limit_ else 1,
            "limit": limit_,
            "offset": query.offset,
        }
        if count_cap is not None:
            envelope["totalCapped"] = capped
        if facets_out is not None:
            envelope["facets"] = facets_out
        return envelope

    def count(self, register: Any, schema: Any) -> int:
        return self.find_all(register, schema, limit=0)["total"]

    def _facets(
        self, conn: Connection, builder: SqlBuilder, where: Any, query: ListQuery, rows_of: Any = None
    ) -> dict[str, Any]:
        """Per facet the 200 most frequent values. ``rows_of`` (register id, schema, clauses
        over the facet table): count ``facetable`` properties from ``object_facets``."""
        out: dict[str, Any] = {}
        for name, spec in query.facets.items():
            kind = spec.get("type", "terms")
            if kind != "terms":
                raise BadRequest(
                    f"Facet type {kind!r} is not supported; use terms", parameter=f"_facets[{name}]"
                )
            prop = builder.props.get(name)
            if builder.props and prop is None:
                raise BadRequest(f"Unknown facet property {name!r}", parameter=f"_facets[{name}]")
            if rows_of is not None and name in facet_index.facetable(rows_of[1]):
                buckets = facet_index.counts(conn, rows_of[0], rows_of[1]["id"], name, rows_of[2])
            elif isinstance(prop, dict) and prop.get("type") == "array":
                buckets = self._array_buckets(conn, builder, name, where)
            else:
                expr = builder.expr(name)
                rows = conn.execute(
                    select(expr.label("k"), func.count().label("n"))
                    .select_from(t.objects)
                    .where(where)
                    .where(expr.isnot(None))
                    .group_by(expr)
                    .order_by(func.count().desc(), expr)
                    .limit(200)
                ).all()
                buckets = [(r.k, r.n) for r in rows]
            out[name] = {
                "type": "terms",
                "buckets": [{"key": k, "results": n, "label": str(k)} for k, n in buckets],
            }
        return out

    def _array_buckets(
        self, conn: Connection, builder: SqlBuilder, name: str, where: Any
    ) -> list[tuple[Any, int]]:
        from sqlalchemy import text

        inner = select(t.objects.c.id, t.objects.c.object).where(where).subquery("f")
        compiled = inner.compile(conn, compile_kwargs={"literal_binds": True})
        if builder.sqlite:
            sql = (
                f"SELECT je.value AS k, count(*) AS n FROM ({compiled}) AS f, "
                f"json_each(f.object, '$.\"{name}\"') AS je GROUP BY je.value ORDER BY n DESC, k LIMIT 200"
            )
        else:
            sql = (
                f"SELECT je AS k, count(*) AS n FROM ({compiled}) AS f, "
                f"jsonb_array_elements_text(CASE WHEN jsonb_typeof(f.object -> '{name}') = 'array' "
                f"THEN f.object -> '{name}' ELSE '[]'::jsonb END) AS je "
                f"GROUP BY je ORDER BY n DESC, k LIMIT 200"
            )
        return [(r.k, r.n) for r in conn.execute(text(sql))]

    # -- shapes --------------------------------------------------------------------

    def _find_row(self, id: str, register: Any, schema: Any, conn: Connection) -> Any:
        key = str(id).strip().lower()
        number = row_id(key)
        if number is not None:
            clause = t.objects.c.id == number
        elif _is_uuid(key):
            clause = t.objects.c.uuid == key
        else:
            raise NotFound(f"Object {id!r} not found (ids are uuids)", id=str(id))
        row = conn.execute(select(*_COLUMNS).where(clause)).first()
        if row is None:
            raise NotFound(f"Object {id} not found", id=str(id))
        if register is not None or schema is not None:
            reg, sch = self.resolve(register, schema, conn)
            if row.register_id != reg["id"] or row.schema_id != sch["id"]:
                raise NotFound(f"Object {id} not found in {reg['slug']}/{sch['slug']}", id=str(id))
        return row

    def _wire(self, row: Any, sch: dict[str, Any]) -> dict[str, Any]:
        return self._wire_from(row._mapping, sch)

    @staticmethod
    def _wire_from(record: Any, sch: dict[str, Any]) -> dict[str, Any]:
        data = record["object"]
        paths = secret_paths(sch, data)
        if paths:
            data = mask(data, paths)
        config = sch.get("configuration") or {}
        name_field = config.get("objectNameField") or "title"
        name = data.get(name_field) if isinstance(data.get(name_field), str) else data.get("name")
        out = {"id": record["uuid"], **data}
        out["@self"] = {
            "id": record["uuid"],
            "uuid": record["uuid"],
            "name": name if isinstance(name, str) and name else record["uuid"],
            "register": str(record["register_id"]),
            "schema": str(record["schema_id"]),
            "version": record["version"],
            "owner": record["owner"],
            "created": record["created"],
            "updated": record["updated"],
        }
        if "id" in record:
            out["@self"]["objectId"] = record["id"]
        return out

    def reveal(self, obj: dict[str, Any], schema: Any) -> dict[str, Any]:
        """The stored object with its secrets decrypted, for the code that uses them
        (CallService). Never send the result to a client or a log."""
        sch = schema if isinstance(schema, dict) else self.registers.get_schema(schema)
        with self.db.connect(None) as c:
            row = self._find_row(obj["id"], None, None, c)
        paths = secret_paths(sch, row.object)
        return (
            {"id": row.uuid, **reveal(row.object, paths, self.context.secrets)}
            if paths
            else {"id": row.uuid, **row.object}
        )


def _count(conn: Connection, where: Any, cap: int | None, source: Any = t.objects) -> tuple[int, bool]:
    """How many objects of ``source`` match ``where``, counting no further than ``cap`` (when given)."""
    if cap is None:
        return conn.execute(select(func.count()).select_from(source).where(where)).scalar_one(), False
    found = conn.execute(
        select(func.count()).select_from(
            select(literal_column("1")).select_from(source).where(where).limit(cap + 1).subquery()
        )
    ).scalar_one()
    return min(found, cap), found > cap


def _ranked_page(conn: Connection, query: ListQuery, ranked: Any, plain: Any, where: Any) -> list[Any]:
    """A page of a search in order of relevance, best first (ties: oldest first, as in a list).

    ``ranked`` holds the newest :data:`fulltext.RANK_WINDOW` matches with their score,
    ``plain`` the query's other clauses, ``where`` all of them. A search with more
    matches than the window continues, after the ranked ones, with the older matches,
    newest first, so every match is on some page exactly once.
    """
    page = conn.execute(
        select(*_COLUMNS)
        .select_from(t.objects.join(ranked, ranked.c.id == t.objects.c.id))
        .where(plain)
        .order_by(ranked.c.score, t.objects.c.id)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    if len(page) == query.limit:
        return list(page)
    size, oldest = conn.execute(select(func.count(), func.min(ranked.c.id)).select_from(ranked)).one()
    if size < fulltext.RANK_WINDOW:
        return list(page)  # every match was ranked
    in_window = conn.execute(
        select(func.count()).select_from(t.objects.join(ranked, ranked.c.id == t.objects.c.id)).where(plain)
    ).scalar_one()
    rest = conn.execute(
        select(*_COLUMNS)
        .where(where, t.objects.c.id < oldest)
        .order_by(t.objects.c.id.desc())
        .limit(query.limit - len(page))
        .offset(max(0, query.offset - in_window))
    ).all()
    return [*page, *rest]


def _outbox() -> Any:
    """``connector/outbox.py``, imported late: the connector package builds on this module."""
    from ..connector import outbox

    return outbox


def _files() -> Any:
    """``files/service.py``, imported late: it builds on this module. Deleting an object
    deletes its files (rows by ``ON DELETE CASCADE``, bytes when the transaction commits)."""
    from ..files import service

    return service


def _identified(obj: dict[str, Any], reg: dict[str, Any]) -> dict[str, Any]:
    """Objects of the connector's register also carry ``uuid`` at the top, as the
    OpenConnector entities do (the tutorial's ``$source->getUuid()`` is ``source["uuid"]``);
    ``@self.objectId`` is the numeric id ``GET /api/sources/{id}`` shows."""
    if reg.get("slug") == ENTITY_REGISTER and "uuid" not in obj:
        return {"id": obj["id"], "uuid": obj["id"], **{k: v for k, v in obj.items() if k != "id"}}
    return obj


def _literal_int(value: int) -> Any:
    from sqlalchemy import literal_column

    return literal_column(str(int(value)))


def _kwargs_to_params(
    filters: dict[str, Any] | None,
    limit: int | None,
    page: int | None,
    offset: int | None,
    search: str | None,
    order: dict[str, str] | None,
    facets: Iterable[str] | None,
) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for name, value in (filters or {}).items():
        if isinstance(value, dict):
            params.extend((f"{name}[{op}]", str(v)) for op, v in value.items())
        elif isinstance(value, list | tuple):
            params.extend((f"{name}[]", str(v)) for v in value)
        elif value is None:
            params.append((name, "IS NULL"))
        elif isinstance(value, bool):
            params.append((name, "true" if value else "false"))
        else:
            params.append((name, str(value)))
    if limit is not None:
        params.append(("_limit", str(limit)))
    if page is not None:
        params.append(("_page", str(page)))
    if offset is not None:
        params.append(("_offset", str(offset)))
    if search:
        params.append(("_search", search))
    for name, direction in (order or {}).items():
        params.append((f"_order[{name}]", direction))
    for name in facets or []:
        params.append((f"_facets[{name}][type]", "terms"))
    return params
