"""CatalogService: the catalogs that decide what is public, and the one publication rule.

A catalog (an object of the built-in ``publication`` register, schema
``catalog``) names registers and schemas; its public API lists the objects of
those schemas that have been published::

    catalogs = CatalogService()
    catalogs.create({"title": "Open data", "registers": ["dcat"], "schemas": ["dataset"]})
    page = catalogs.publications("open-data", [("_search", "bella")])

An object is public when its ``publicatiedatum`` is present and not after
now; nothing else (no login, no role) changes that. The rule is one SQL
clause (:meth:`CatalogService.visible`) that list, detail, search, facets and
the DCAT feed all add to their query, because the original's leaks all came
from paths that evaluated their own variant of the rule (see
docs/catalog.md). Dates are stored canonical (UTC ISO text for
``date-time``, ``YYYY-MM-DD`` local date for ``date``), so the rule is a
string comparison that uses the schema's expression index.

The catalog ``publications`` always exists: until someone stores it (``openconnector
init woo`` does) it is an empty default, so ``/api/publications`` answers 200
with no results instead of 404 on a fresh install.
"""

from __future__ import annotations

import copy
import functools
import re
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false

from .. import clock
from ..context import Context, get_context
from ..errors import BadRequest, Conflict, NotFound
from ..files.public import published_files, with_urls
from ..register.dates import zone
from ..register.facets import facet_rows
from ..register.objects import ObjectService
from ..register.registers import RegisterService
from ..register.search import ListQuery, SqlBuilder, parse_params
from ..register.slugs import slugify
from ..store.ids import row_id
from .themes import THEMES, lookup_theme, resolve_theme

__all__ = [
    "CATALOG_REGISTER",
    "CATALOG_SCHEMA",
    "DEFAULT_SLUG",
    "COUNT_CAP",
    "PUBLICATION_FIELD",
    "RESERVED_SLUGS",
    "SEARCH_COUNT_CAP",
    "CatalogNotFound",
    "AttachmentNotFound",
    "CatalogService",
    "FeedPage",
    "PublicationNotFound",
]

#: The property whose date makes an object public (the tutorial's rule).
PUBLICATION_FIELD = "publicatiedatum"
CATALOG_REGISTER = "publication"
CATALOG_SCHEMA = "catalog"
DEFAULT_SLUG = "publications"
#: Route names under ``/api/`` that are not catalogs (they precede ``/api/{catalogSlug}``).
RESERVED_SLUGS = frozenset(
    {
        "catalogi",
        "catalogs",
        "dcat",
        "directory",
        "federation",
        "glossary",
        "health",
        "listings",
        "menus",
        "metrics",
        "pages",
        "robots.txt",
        "search",
        "sitemaps",
        "themes",
    }
)
#: Registers a catalog may never publish from: the connector's configuration holds secrets.
FORBIDDEN_REGISTERS = frozenset({"openconnector"})
FEED_PAGE_SIZE = 1000
#: The public list counts its published objects up to this many; past it ``total`` is
#: this number and ``totalCapped`` is true. Counting 90,000 published datasets took
#: longer than the rest of the page (5-28 ms on SQLite, 57 ms on PostgreSQL, issue 18);
#: "10,000 or more" is what a reader of a list needs (search engines stop counting too).
COUNT_CAP = 10_000
#: The same for a ``_search``: each counted match costs an object lookup, not an index entry.
SEARCH_COUNT_CAP = 1_000
#: How long the public routes reuse a stored catalog and its resolved registers and schemas.
#: Edits through this process are seen at once; edits by another process within this time.
CACHE_SECONDS = 5.0

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
_DEFAULT_CATALOG: dict[str, Any] = {
    "title": "Publications",
    "slug": DEFAULT_SLUG,
    "description": "The default public catalog.",
    "registers": [],
    "schemas": [],
    "listed": True,
    "hasDcat": False,
}
#: Meta sort keys and where a wire object keeps their value (for merging several schemas).
_META_SORT = {
    "_created": ("@self", "created"),
    "_updated": ("@self", "updated"),
    "_uuid": (None, "id"),
    "_id": ("@self", "objectId"),
    "_owner": ("@self", "owner"),
    "_name": ("@self", "name"),
    "_title": ("@self", "name"),
}


class CatalogNotFound(NotFound):
    error = "Catalog not found"


class PublicationNotFound(NotFound):
    """The object does not exist, is not in the catalog, or is not published (all look the same)."""

    error = "Publication not found"


class AttachmentNotFound(NotFound):
    """No such published file on a published object of the catalog (all cases look the same)."""

    error = "Attachment not found"


@dataclass
class Pair:
    """One (register, schema) of a catalog, resolved."""

    register: dict[str, Any]
    schema: dict[str, Any]


@dataclass
class FeedPage:
    """What the DCAT feed needs for one page of one catalog."""

    catalog: dict[str, Any]
    datasets: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    #: The published files of each dataset (by uuid), in ``files/public.py``'s shape, without URLs.
    attachments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.pages = max(1, -(-self.total // self.per_page))


_resolved_cache: weakref.WeakKeyDictionary[Context, dict[str, tuple[float, dict[str, Any], list[Pair]]]] = (
    weakref.WeakKeyDictionary()
)
_resolved_lock = threading.Lock()


class CatalogService:
    """Catalogs (list/get/create/update/delete) and their public, published objects."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.objects = ObjectService(self.context)
        self.registers = RegisterService(self.context)
        self.dialect = self.context.db.engine.dialect.name
        self.timezone = self.context.settings.timezone

    # -- catalogs ------------------------------------------------------------------

    def list(self, search: str | None = None) -> list[dict[str, Any]]:
        """Every catalog, oldest first; the default ``publications`` is included even when not stored."""
        found = self.objects.find_all(
            CATALOG_REGISTER, CATALOG_SCHEMA, limit=1000, order={"_created": "asc"}, search=search
        )["results"]
        if not any(c.get("slug") == DEFAULT_SLUG for c in found):
            default = self._default()
            if not search or search.lower() in default["title"].lower():
                found.insert(0, default)
        return found

    def get(self, ref: Any) -> dict[str, Any]:
        """A catalog by slug, uuid or id; 404 (``Catalog not found``) otherwise."""
        stored = self._stored(ref)
        if stored is not None:
            return stored
        if str(ref).strip().lower() == DEFAULT_SLUG:
            return self._default()
        raise CatalogNotFound(f"Catalog {str(ref)!r} not found", catalogSlug=str(ref))

    def create(self, data: dict[str, Any], *, owner: str | None = None) -> dict[str, Any]:
        """Store a new catalog; the slug comes from the title when not given and must be free."""
        clean = self._clean(data)
        if self._stored(clean["slug"]) is not None:
            raise Conflict(f"A catalog with slug {clean['slug']!r} already exists", slug=clean["slug"])
        self._forget()
        return self.objects.save_object(clean, CATALOG_REGISTER, CATALOG_SCHEMA, owner=owner)

    def update(
        self, ref: Any, data: dict[str, Any], *, merge: bool = False, owner: str | None = None
    ) -> dict[str, Any]:
        """Replace (``merge=False``, PUT) or patch a catalog. The unstored default is created."""
        current = self.get(ref)
        base = _own_fields(current) if merge else {}
        if "slug" not in data and not merge:
            data = {**data, "slug": current["slug"]}
        clean = self._clean({**base, **data})
        other = self._stored(clean["slug"])
        if other is not None and other.get("id") != current.get("id"):
            raise Conflict(f"A catalog with slug {clean['slug']!r} already exists", slug=clean["slug"])
        self._forget()
        if current.get("id") is None:  # the default, not stored yet
            return self.objects.save_object(clean, CATALOG_REGISTER, CATALOG_SCHEMA, owner=owner)
        return self.objects.save_object(clean, CATALOG_REGISTER, CATALOG_SCHEMA, uuid=current["id"])

    def delete(self, ref: Any) -> None:
        """Delete a stored catalog (deleting ``publications`` brings back the empty default)."""
        stored = self._stored(ref)
        if stored is None:
            raise CatalogNotFound(f"Catalog {str(ref)!r} not found", catalogSlug=str(ref))
        self._forget()
        self.objects.delete_object(stored["id"], CATALOG_REGISTER, CATALOG_SCHEMA)

    def _forget(self) -> None:
        with _resolved_lock:
            _resolved_cache.pop(self.context, None)

    def resolved(self, ref: Any) -> tuple[dict[str, Any], list[Pair]]:
        """The catalog and its pairs for the public routes, reused for :data:`CACHE_SECONDS`.

        A public page would otherwise spend six of its ten queries finding
        the catalog, its registers and its schemas. The unstored default is
        never cached, so ``init woo`` in another process shows at once.
        Callers must not change what they get.
        """
        key = str(ref).strip().lower()
        now = time.monotonic()
        entry = _resolved_cache.get(self.context, {}).get(key)
        if entry is not None and entry[0] > now:
            return entry[1], entry[2]
        catalog = self.get(ref)
        pairs = self.pairs(catalog)
        if catalog.get("id") is not None:
            with _resolved_lock:
                _resolved_cache.setdefault(self.context, {})[key] = (now + CACHE_SECONDS, catalog, pairs)
        return catalog, pairs

    def _stored(self, ref: Any) -> dict[str, Any] | None:
        key = str(ref or "").strip()
        if not key:
            return None
        if row_id(key) is not None or _looks_like_uuid(key):
            try:
                return self.objects.find(key, CATALOG_REGISTER, CATALOG_SCHEMA)
            except NotFound:
                return None
        found = self.objects.find_all(
            CATALOG_REGISTER, CATALOG_SCHEMA, filters={"slug": key.lower()}, limit=1
        )["results"]
        return found[0] if found else None

    def _default(self) -> dict[str, Any]:
        return {**copy.deepcopy(_DEFAULT_CATALOG), "id": None, "@self": {"id": None, "stored": False}}

    def _clean(self, data: dict[str, Any]) -> dict[str, Any]:
        """Validate a catalog and store references as ids, so renaming a register keeps it."""
        if not isinstance(data, dict):
            raise BadRequest("A catalog must be a JSON object")
        out = {k: v for k, v in data.items() if k not in ("id", "@self", "uuid") and v is not None}
        title = out.get("title")
        if not isinstance(title, str) or not title.strip():
            raise BadRequest("A catalog needs a title", property="title")
        slug = out.get("slug") or slugify(title) or "catalog"  # a title of only non-Latin letters
        if not isinstance(slug, str) or not _SLUG.match(slug):
            raise BadRequest(f"Slug {slug!r} must be lowercase letters, digits and dashes", property="slug")
        if slug in RESERVED_SLUGS:
            raise BadRequest(
                f"Slug {slug!r} is a reserved route name; reserved: {sorted(RESERVED_SLUGS)}",
                property="slug",
                reserved=sorted(RESERVED_SLUGS),
            )
        out["slug"] = slug
        registers = [self._register_id(r) for r in _as_list(out.get("registers"), "registers")]
        schemas = [self._schema_id(s, registers) for s in _as_list(out.get("schemas"), "schemas")]
        out["registers"], out["schemas"] = list(dict.fromkeys(registers)), list(dict.fromkeys(schemas))
        if isinstance(out.get("contactPoint"), str):
            text = out["contactPoint"]
            out["contactPoint"] = {"email": text} if "@" in text else {"url": text}
        for key in ("defaultTheme",):
            if key in out:
                code = lookup_theme(out[key])
                if code is None:
                    raise BadRequest(
                        f"{key} {out[key]!r} is not an EU data theme; use one of {sorted(THEMES)}",
                        property=key,
                        valid=sorted(THEMES),
                    )
                out[key] = code
        mapping = out.get("themeMapping")
        if mapping is not None:
            if not isinstance(mapping, dict):
                raise BadRequest(
                    "themeMapping must be an object of category to EU theme code", property="themeMapping"
                )
            fixed = {}
            for category, target in mapping.items():
                code = lookup_theme(target)
                if code is None:
                    raise BadRequest(
                        f"themeMapping[{category!r}] = {target!r} is not an EU data theme; "
                        f"use one of {sorted(THEMES)}",
                        property=f"themeMapping.{category}",
                        valid=sorted(THEMES),
                    )
                fixed[str(category)] = code
            out["themeMapping"] = fixed
        return out

    def _register_id(self, ref: Any) -> int:
        reg = self.registers.get_register(ref)
        if reg["slug"] in FORBIDDEN_REGISTERS:
            raise BadRequest(
                f"Register {reg['slug']!r} holds configuration and secrets; it cannot be published",
                property="registers",
            )
        return int(reg["id"])

    def _schema_id(self, ref: Any, register_ids: Sequence[int]) -> int:
        for register_id in register_ids:
            reg = self.registers.get_register(register_id)
            try:
                sch = self.registers.get_schema(ref, register=reg)
            except NotFound:
                continue
            if sch["id"] in (reg.get("schemas") or []):
                return int(sch["id"])
        raise NotFound(  # like a register that is not there: a reference that resolves to nothing
            f"Schema {ref!r} is not in any of the catalog's registers", property="schemas", schema=str(ref)
        )

    # -- the publication rule ------------------------------------------------------

    def visible(
        self, schema: dict[str, Any], now: datetime | None = None, *, column: Any = None
    ) -> ColumnElement[bool]:
        """The SQL clause "published": ``publicatiedatum`` present and not after ``now``.

        ``column`` is where the date is read (default: the object's property); the facet
        table's ``published`` column holds a copy of it (``register/facets.py``).

        ``date-time`` values are canonical UTC text, compared with now in the
        same form; ``date`` values are local dates, public from 00:00 local time.
        A missing value is NULL and fails ``<=``. Validation guarantees the
        canonical form, so the clause is one range on the expression index;
        only a schema with ``hardValidation: false`` (where "2020" could be
        stored as is) gets an extra shape check. A schema without a date or
        date-time ``publicatiedatum`` publishes nothing.
        """
        prop = (schema.get("properties") or {}).get(PUBLICATION_FIELD)
        fmt = prop.get("format") if isinstance(prop, dict) else None
        if fmt not in ("date-time", "date"):
            return false()
        moment = now or clock.utcnow()
        if column is None:
            column = SqlBuilder(schema, self.dialect, self.timezone).expr(PUBLICATION_FIELD)
        if fmt == "date":
            bound, shape = moment.astimezone(zone(self.timezone)).date().isoformat(), "____-__-__"
        else:
            bound, shape = clock.iso(moment.replace(microsecond=0)), "____-__-__T__:__:__%+00:00"
        clause = column <= bound
        if schema.get("hardValidation", True) is False:
            clause = and_(clause, column.like(shape))
        return clause

    # -- public reads --------------------------------------------------------------

    def pairs(self, catalog: dict[str, Any]) -> list[Pair]:
        """The catalog's (register, schema) pairs: each listed schema in each listed register holding it."""
        out: list[Pair] = []
        schema_ids = [n for s in catalog.get("schemas") or [] if (n := row_id(s)) is not None]
        for register_ref in catalog.get("registers") or []:
            try:
                reg = self.registers.get_register(register_ref)
            except NotFound:
                continue  # a deleted register publishes nothing
            if reg["slug"] in FORBIDDEN_REGISTERS:
                continue
            members = set(reg.get("schemas") or [])
            for schema_id in schema_ids:
                if schema_id in members:
                    try:
                        out.append(Pair(reg, self.registers.get_schema(schema_id)))
                    except NotFound:
                        continue
        return out

    def publications(
        self, catalog: Any, params: Iterable[tuple[str, str]] = (), *, now: datetime | None = None
    ) -> dict[str, Any]:
        """One page of a catalog's published objects in OpenRegister's envelope plus ``@catalog``.

        ``params`` are the list parameters of OpenRegister (``_search``, property
        filters, ``_order``, ``_limit``/``_page``/``_offset``, ``_facets``); facets
        count exactly the filtered, published set. A catalog of one schema counts its
        ``total`` up to :data:`COUNT_CAP` (:data:`SEARCH_COUNT_CAP` for a search) and says
        ``totalCapped`` when there are more; one of several schemas counts exactly, because
        its pages are cut from the schemas' counts.
        """
        cat, pairs = self.resolved(catalog)
        query = parse_params(list(params))
        now = now or clock.utcnow()  # one moment for every clause of the page (count, rows, facets)
        if not pairs:
            result = _empty(query)
        elif len(pairs) == 1:
            pair = pairs[0]
            result = self.objects.find_all(
                pair.register["id"],
                pair.schema["id"],
                query=query,
                extra_where=[self.visible(pair.schema, now)],
                count_cap=SEARCH_COUNT_CAP if query.search else COUNT_CAP,
                facet_where=[self.visible(pair.schema, now, column=facet_rows.c.published)],
            )
        elif query.order:
            result = self._merged(pairs, query, now)
        else:
            result = self._concatenated(pairs, query, now)
        result.setdefault("totalCapped", False)
        shaped = _Shaper(cat, pairs)
        result["results"] = [shaped(o) for o in result["results"]]
        result["@catalog"] = {"slug": cat["slug"], "title": cat.get("title")}
        return result

    def publication(self, catalog: Any, object_id: str, *, now: datetime | None = None) -> dict[str, Any]:
        """One published object of the catalog; 404 when missing, elsewhere or not published.

        The three answers look the same, and take the same time: an unknown id, or
        one outside the catalog, still runs the published-object query (against the
        catalog's first schema, for an id that cannot match), so response times do
        not tell which ids exist but are hidden.
        """
        cat, pairs = self.resolved(catalog)
        missing = PublicationNotFound(
            f"Object {object_id!r} not found in catalog {cat['slug']!r}",
            id=str(object_id),
            catalogSlug=cat["slug"],
        )
        try:
            found: dict[str, Any] | None = self.objects.find(object_id)
        except NotFound:
            found = None
        pair = None
        if found is not None:
            meta = found["@self"]
            pair = next(
                (
                    p
                    for p in pairs
                    if str(p.register["id"]) == meta["register"] and str(p.schema["id"]) == meta["schema"]
                ),
                None,
            )
        probe = pair or (pairs[0] if pairs else None)
        if probe is None:
            raise missing
        # the same clause as the list: a detail page can never show what the list hides
        page = self.objects.find_all(
            probe.register["id"],
            probe.schema["id"],
            query=ListQuery(limit=1, ids=[found["id"] if found is not None and pair is not None else _NO_ID]),
            extra_where=[self.visible(probe.schema, now)],
        )
        if pair is None or not page["results"]:
            raise missing
        return _Shaper(cat, pairs)(page["results"][0])

    def feed_page(
        self, catalog: Any, page: int = 1, per_page: int = FEED_PAGE_SIZE, *, now: datetime | None = None
    ) -> FeedPage:
        """The published objects of one feed page, in a stable order (schema by schema, oldest first)."""
        cat, pairs = (catalog, self.pairs(catalog)) if isinstance(catalog, dict) else self.resolved(catalog)
        if not cat.get("hasDcat"):
            raise CatalogNotFound(
                f"Catalog {cat['slug']!r} has no DCAT feed (hasDcat is false)", catalogSlug=cat["slug"]
            )
        if page < 1:
            raise BadRequest(f"page must be at least 1, got {page}", parameter="page")
        query = ListQuery(limit=per_page, page=page, offset=(page - 1) * per_page)
        result = self._concatenated(pairs, query, now) if pairs else _empty(query)
        files = published_files(
            self.context, [d["id"] for d in result["results"]], now=clock.iso(now) if now else None
        )
        return FeedPage(cat, result["results"], result["total"], page, per_page, attachments=files)

    # -- attachments ---------------------------------------------------------------

    def attachments(
        self, catalog: Any, object_id: str, *, base_url: str | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """The published files of one published object: ``{"results": [...], "total": n}``.

        The object must pass :meth:`publication` (the one publication rule, same 404
        otherwise); of its files only those published (``files.service.published_clause``).
        """
        found = self.publication(catalog, object_id, now=now)
        slug = self.resolved(catalog)[0]["slug"]
        base = (self.context.settings.base_url or "") if base_url is None else base_url
        files = published_files(self.context, [found["id"]], now=clock.iso(now) if now else None)
        shown = [with_urls(f, base, slug) for f in files[found["id"]]]
        return {"results": shown, "total": len(shown)}

    def attachment(
        self,
        catalog: Any,
        object_id: str,
        file_id: str,
        *,
        base_url: str | None = None,
        now: datetime | None = None,
    ) -> tuple[dict[str, Any], Iterator[bytes]]:
        """One published file of a published object and its bytes as chunks; 404 otherwise.

        An unpublished object, an unpublished file, a file of another object and an
        id that exists nowhere all answer the same ``Attachment not found``.
        """
        try:
            listed = self.attachments(catalog, object_id, base_url=base_url, now=now)["results"]
        except PublicationNotFound:
            listed = []
        wanted = str(file_id).strip().lower()
        match = next((f for f in listed if f["id"] == wanted), None)
        if match is None:
            raise AttachmentNotFound(
                f"Attachment {str(file_id)!r} not found on {str(object_id)!r}",
                id=str(file_id),
                object=str(object_id),
            )
        from ..files.service import FileService

        _, chunks = FileService(self.context).download(match["object"], match["id"])
        return match, chunks

    def dcat_catalogs(self) -> list[dict[str, Any]]:
        """The catalogs with a DCAT feed, for the instance feed."""
        return [c for c in self.list() if c.get("hasDcat")]

    # -- several schemas -----------------------------------------------------------

    def _run(self, pair: Pair, query: ListQuery, now: datetime | None) -> dict[str, Any]:
        return self.objects.find_all(
            pair.register["id"],
            pair.schema["id"],
            query=query,
            extra_where=[self.visible(pair.schema, now)],
            facet_where=[self.visible(pair.schema, now, column=facet_rows.c.published)],
        )

    def _applicable(self, pairs: list[Pair], query: ListQuery) -> list[tuple[Pair, ListQuery]]:
        """Per pair, the query it can answer: a filter on a property a schema lacks means
        that schema contributes nothing; a facet or sort key it lacks is left out for it."""
        out = []
        for pair in pairs:
            props = pair.schema.get("properties") or {}
            if any(
                f.path.split(".")[0] not in props and f.path not in ("uuid", "owner", "created", "updated")
                for f in query.filters
            ):
                continue
            facets = {k: v for k, v in query.facets.items() if k in props}
            order = [
                (k, d) for k, d in query.order if k in _META_SORT or k.startswith("@self.") or k in props
            ]
            out.append((pair, replace(query, facets=facets, order=order)))
        if not out and pairs:
            # nobody knows the filter: let the first schema raise its usual 400
            self._run(pairs[0], query, None)
        return out

    def _concatenated(self, pairs: list[Pair], query: ListQuery, now: datetime | None) -> dict[str, Any]:
        """A page over several schemas, one after the other: counts first, then only the needed slices."""
        runs = self._applicable(pairs, query)
        counted = [(pair, q, self._run(pair, replace(q, limit=0), now)) for pair, q in runs]
        total = sum(r["total"] for _, _, r in counted)
        results: list[dict[str, Any]] = []
        start = 0
        for pair, q, counts in counted:
            lo, hi = max(query.offset - start, 0), min(query.offset + query.limit - start, counts["total"])
            if hi > lo:
                sliced = replace(q, limit=hi - lo, offset=lo, facets={})
                results.extend(self._run(pair, sliced, now)["results"])
            start += counts["total"]
        envelope = _envelope(results, total, query)
        if query.facets:
            envelope["facets"] = _merge_facets([r.get("facets") or {} for _, _, r in counted], query)
        return envelope

    def _merged(self, pairs: list[Pair], query: ListQuery, now: datetime | None) -> dict[str, Any]:
        """A sorted page over several schemas: each returns its first offset+limit, merged in Python."""
        runs = self._applicable(pairs, query)
        window = query.offset + query.limit
        if window > 10_000:
            raise BadRequest(
                "Sorted paging across several schemas stops at 10000 results; "
                "filter further or leave out _order",
                parameter="_page",
            )
        answers = [self._run(pair, replace(q, limit=window, offset=0, page=1), now) for pair, q in runs]
        rows = [o for a in answers for o in a["results"]]
        rows.sort(key=functools.cmp_to_key(_comparator(query.order)))
        envelope = _envelope(rows[query.offset : window], sum(a["total"] for a in answers), query)
        if query.facets:
            envelope["facets"] = _merge_facets([a.get("facets") or {} for a in answers], query)
        return envelope


class _Shaper:
    """What the public sees of an object: no owner, and ``theme`` filled in for DCAT schemas.

    The theme is resolved when read (catalog ``themeMapping``, then the category
    as an EU code or label, then ``defaultTheme``) rather than stored, because a
    synchronisation rewrites whole objects and would wipe a stored theme.
    """

    def __init__(self, catalog: dict[str, Any], pairs: list[Pair]) -> None:
        self.mapping = catalog.get("themeMapping") or None
        self.default = catalog.get("defaultTheme") or "GOVE"
        self.themed = {str(p.schema["id"]) for p in pairs if "theme" in (p.schema.get("properties") or {})}
        self.cache: dict[Any, str] = {}

    def __call__(self, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.get("@self")
        if isinstance(meta, dict):
            meta.pop("owner", None)
            if meta.get("schema") in self.themed and not lookup_theme(obj.get("theme")):
                category = obj.get("category")
                key = category if isinstance(category, str) else None
                code = self.cache.get(key)
                if code is None:
                    code = self.cache[key] = resolve_theme(key, self.mapping, self.default).rsplit("/", 1)[-1]
                obj["theme"] = code
        return obj


#: An id no object has (uuids are never all zeros), for the query an unknown id still runs.
_NO_ID = "00000000-0000-0000-0000-000000000000"


def _empty(query: ListQuery) -> dict[str, Any]:
    envelope = _envelope([], 0, query)
    if query.facets:
        envelope["facets"] = {name: {"type": "terms", "buckets": []} for name in query.facets}
    return envelope


def _envelope(results: list[dict[str, Any]], total: int, query: ListQuery) -> dict[str, Any]:
    return {
        "results": results,
        "total": total,
        "page": query.page,
        "pages": max(1, -(-total // query.limit)) if query.limit else 1,
        "limit": query.limit,
        "offset": query.offset,
    }


def _merge_facets(parts: list[dict[str, Any]], query: ListQuery) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in query.facets:
        counts: dict[Any, int] = {}
        for part in parts:
            for bucket in (part.get(name) or {}).get("buckets", []):
                counts[bucket["key"]] = counts.get(bucket["key"], 0) + bucket["results"]
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:200]
        out[name] = {
            "type": "terms",
            "buckets": [{"key": k, "results": n, "label": str(k)} for k, n in ordered],
        }
    return out


def _sort_value(obj: dict[str, Any], name: str) -> Any:
    if name in _META_SORT:
        where, key = _META_SORT[name]
        holder = obj.get(where) if where else obj
        return holder.get(key) if isinstance(holder, dict) else None
    if name.startswith("@self."):
        meta = obj.get("@self") or {}
        return meta.get(name[6:])
    return obj.get(name)


def _comparator(order: list[tuple[str, str]]) -> Any:
    """Compare wire objects as SQL would: by each key (missing values last), then by row id."""

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for name, direction in order:
            x, y = _sort_value(a, name), _sort_value(b, name)
            if x == y:
                continue
            if x is None or y is None:
                return 1 if x is None else -1
            try:
                less = x < y
            except TypeError:
                less = str(x) < str(y)
            result = -1 if less else 1
            return -result if direction == "desc" else result
        ids = ((a.get("@self") or {}).get("objectId") or 0, (b.get("@self") or {}).get("objectId") or 0)
        return (ids[0] > ids[1]) - (ids[0] < ids[1])

    return compare


def _own_fields(catalog: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in catalog.items() if k not in ("id", "@self")}


def _as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [value]
    if not isinstance(value, list):
        raise BadRequest(f"{name} must be a list of ids, uuids or slugs", property=name)
    return value


def _looks_like_uuid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4


def is_reserved(slug: str) -> bool:
    """True for route names that are never catalogs (``dcat``, ``search``, ...)."""
    return slug.lower() in RESERVED_SLUGS
