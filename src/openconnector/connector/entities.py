"""The connector's configuration objects as the OpenConnector API shows them.

Sources, mappings, synchronisations, jobs, endpoints, rules and consumers are objects of the
built-in ``openconnector`` register (one schema each). This service gives them the
original's flat shape (``id`` the numeric id, ``uuid``, the fields, ``version``,
``slug``, ``created``/``updated`` with ``dateCreated``/``dateModified`` aliases) and
its conventions: keys starting with ``_`` are ignored, ``version`` starts at
``0.0.1`` and its patch bumps on update, ``slug`` derives from ``name``.
Wherever one is referenced, the numeric id and the uuid both work.
"""

from __future__ import annotations

from typing import Any

from ..context import Context, get_context
from ..errors import BadRequest, Conflict, NotFound
from ..register.objects import ObjectService, bump_version
from ..register.slugs import slugify

REGISTER = "openconnector"
KINDS = ("source", "mapping", "synchronization", "job", "endpoint", "rule", "consumer")
#: Kinds whose slug identifies one (a second is refused with 409). Jobs, endpoints, rules
#: and consumers are made by the hundred from templates and referred to by id, so they may share.
UNIQUE_SLUGS = ("source", "mapping", "synchronization")
_DROP = {"id", "uuid", "created", "updated", "dateCreated", "dateModified", "@self"}

#: Bumped on every write through this service, so the endpoint router (which keeps
#: endpoints, rules and consumers compiled in memory) knows its copy is stale.
_generation = [0]


def generation() -> int:
    return _generation[0]


def _changed() -> None:
    _generation[0] += 1


def to_entity(obj: dict[str, Any]) -> dict[str, Any]:
    """Object wire shape → OpenConnector entity shape."""
    meta = obj.get("@self") or {}
    out: dict[str, Any] = {"id": meta.get("objectId", obj["id"]), "uuid": obj["id"]}
    out.update({k: v for k, v in obj.items() if k not in ("id", "@self")})
    out["created"] = out["dateCreated"] = meta.get("created")
    out["updated"] = out["dateModified"] = meta.get("updated")
    return out


class EntityService:
    """CRUD for one kind of connector object (``EntityService("source")``)."""

    def __init__(self, kind: str, context: Context | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
        self.kind = kind
        self.context = context or get_context()
        self.objects = ObjectService(self.context)

    def list(self, params: list[tuple[str, str]] | None = None) -> list[dict[str, Any]]:
        pairs = [(k, v) for k, v in (params or []) if k not in ("_limit", "_page", "_offset")]
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            chunk = self.objects.find_all(
                REGISTER, self.kind, params=[*pairs, ("_limit", "1000"), ("_page", str(page))]
            )
            found.extend(to_entity(o) for o in chunk["results"])
            if page >= chunk["pages"]:
                return found
            page += 1

    def get(self, ref: Any) -> dict[str, Any]:
        if isinstance(ref, dict):
            ref = ref.get("uuid") or ref.get("id")
        if ref is None or str(ref).strip() == "":
            raise NotFound(f"No {self.kind} given")
        ref = str(ref).strip()
        try:
            return to_entity(self.objects.find(ref, REGISTER, self.kind))
        except NotFound:
            pass
        for field in ("slug", "name"):
            found = self.objects.find_all(REGISTER, self.kind, filters={field: ref}, limit=20)["results"]
            if len(found) > 1:
                candidates = [to_entity(f) for f in found]
                listed = "; ".join(f"id {c['id']} ({c['uuid']}) {c.get('name')!r}" for c in candidates)
                raise Conflict(
                    f"{len(candidates)} {self.kind}s have the {field} {ref!r}: {listed}. Use an id or uuid.",
                    candidates=[
                        {"id": c["id"], "uuid": c["uuid"], "name": c.get("name")} for c in candidates
                    ],
                )
            if found:
                return to_entity(found[0])
        raise NotFound(f"{self.kind.capitalize()} {ref!r} not found", id=ref)

    def get_with_secrets(self, ref: Any) -> dict[str, Any]:
        """The entity with its secrets decrypted: only for the code that makes calls."""
        entity = self.get(ref)
        revealed = self.objects.reveal(
            {"id": entity["uuid"]},
            self.objects.registers.get_schema(
                self.kind, register=self.objects.registers.get_register(REGISTER)
            ),
        )
        return {**entity, **{k: v for k, v in revealed.items() if k != "id"}}

    def create(
        self, data: dict[str, Any], *, owner: str | None = None, draft: bool = False
    ) -> dict[str, Any]:
        """Create one; ``draft`` allows what the UI fills in on the next page (a source's location)."""
        clean = self._prepare(self._clean(data), creating=True, draft=draft)
        clean.setdefault("version", "0.0.1")
        if clean.get("name") and not clean.get("slug"):
            clean["slug"] = slugify(str(clean["name"]))
        if clean.get("slug") and self.kind in UNIQUE_SLUGS:
            self._unique_slug(str(clean["slug"]))
        self._check(clean)
        try:
            return to_entity(self.objects.save_object(clean, REGISTER, self.kind, owner=owner))
        finally:
            _changed()

    def update(self, ref: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Partial update (the original's PUT merges): given fields replace stored ones."""
        current = self.get(ref)
        clean = self._prepare(self._clean(data), creating=False)
        if clean.get("slug") and clean["slug"] != current.get("slug") and self.kind in UNIQUE_SLUGS:
            self._unique_slug(str(clean["slug"]), but=current["uuid"])
        if "version" not in clean:
            clean["version"] = bump_version(str(current.get("version") or "0.0.0"))
        self._check({**current, **clean})
        try:
            saved = self.objects.save_object(clean, REGISTER, self.kind, uuid=current["uuid"], patch=True)
        finally:
            _changed()
        return to_entity(saved)

    def delete(self, ref: Any) -> None:
        current = self.get(ref)
        try:
            self.objects.delete_object(current["uuid"], REGISTER, self.kind)
        finally:
            _changed()

    def _check(self, data: dict[str, Any]) -> None:
        """Refuse what could never run (an unknown rule type, an endpoint pattern that is not a path)."""
        if self.kind in ("rule", "endpoint"):
            from .endpoint_checks import check_endpoint, check_rule

            (check_rule if self.kind == "rule" else check_endpoint)(data)

    def count(self) -> int:
        return self.objects.find_all(REGISTER, self.kind, limit=0)["total"]

    def _prepare(self, data: dict[str, Any], *, creating: bool, draft: bool = False) -> dict[str, Any]:
        """Refuse, at save time, what a source or mapping cannot run with (``connector/checks.py``)."""
        from .checks import check_mapping, check_source

        if self.kind == "source":
            return check_source(data, creating=creating, draft=draft)
        if self.kind == "mapping":
            check_mapping(data)
        return data

    def _unique_slug(self, slug: str, but: str | None = None) -> None:
        """Slugs identify (the CLI and references take them): a second one is a 409."""
        found = self.objects.find_all(REGISTER, self.kind, filters={"slug": slug}, limit=2)["results"]
        taken = [f for f in found if f["id"] != but]
        if taken:
            other = to_entity(taken[0])
            raise Conflict(
                f"A {self.kind} with slug {slug!r} already exists (id {other['id']}, {other.get('name')!r}); "
                "choose another name or slug",
                property="slug",
                slug=slug,
                id=other["id"],
            )

    def _clean(self, data: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise BadRequest("The body must be a JSON object")
        return {k: v for k, v in data.items() if k not in _DROP and not k.startswith("_")}
