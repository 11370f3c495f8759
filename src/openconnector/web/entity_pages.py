"""The one page pattern every kind of connector entity uses: list with search, add,
edit, delete (sources, mappings, synchronisations, endpoints, rules, consumers).

An :class:`EntityPages` describes a kind once (its columns, the fields of its add
form, and for kinds without a page of their own, the fields of its edit form) and
``mount(router)`` adds the routes::

    GET  /<plural>             list + search           templates/entity/list.html
    GET  /<plural>/new         the add form            templates/entity/new.html
    POST /<plural>             create → its page       (errors beside the fields)
    GET  /<plural>/{ref}       the edit form           templates/entity/detail.html  (when ``fields``)
    POST /<plural>/{ref}       save                    (only the fields shown are written: others are kept)
    POST /<plural>/{ref}/delete

Sources, mappings and synchronisations keep their own detail pages (rows, auth,
runs); everything else about them comes from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..errors import OpenConnectorError
from ..store.secrets import MASK
from .forms import check_choice, check_int, check_name, parse_json, service_errors
from .pages import create_entity, delete_entity, entities, form_lists, form_of, list_entities
from .templating import render


@dataclass
class Field:
    """One input. ``kind``: text, textarea, select, json (object or list), int, lines (a
    list, one per line), multi (several of ``choices``), secret (write-only: empty keeps it).
    A dotted ``name`` (``authorizationConfiguration.key``) sets a nested value."""

    name: str
    label: str
    kind: str = "text"
    choices: Any = ()  # pairs, or a callable(request) -> pairs
    help: str = ""
    required: bool = False
    blank: str = ""
    rows: int = 3
    want: type | None = None  # for json: dict or list


@dataclass
class Column:
    """A list cell: ``kind`` text, ``badge`` (a run status), ``access`` (public in red) or
    ``when`` (a date-time);
    ``note`` adds muted text after it."""

    label: str
    value: Callable[[dict[str, Any]], Any]
    css: str = ""
    kind: str = "text"
    note: Callable[[dict[str, Any]], str | None] | None = None


@dataclass
class EntityPages:
    kind: str
    path: str  # "/endpoints"
    noun: str  # "endpoint"
    plural: str  # "endpoints"
    title: str  # "Endpoints"
    columns: list[Column]
    new_fields: list[Field]
    new_defaults: dict[str, Any] = field(default_factory=dict)
    fields: list[Field] = field(default_factory=list)  # the edit form; empty: the kind has its own page
    empty: str = ""
    section: str = ""
    #: extra template context for the detail page (``panels`` to include, notices)
    extra: Callable[[Request, dict[str, Any]], dict[str, Any]] | None = None
    panels: list[str] = field(default_factory=list)
    #: adds what list cells show beyond the entity (a synchronisation's last run), in place
    decorate: Callable[[Request, list[dict[str, Any]]], None] | None = None
    #: the add form asks only the first fields and the entity's page the rest (a source's
    #: location): the service accepts the entity without them (``EntityService.create(draft=)``)
    draft: bool = False

    def __post_init__(self) -> None:
        self.section = self.section or self.plural

    # -- routes -----------------------------------------------------------------------

    def mount(self, router: APIRouter) -> None:
        path = self.path

        async def list_page(request: Request, q: str = "") -> Response:
            items = await list_entities(request, self.kind, q)
            if self.decorate is not None:
                await run_in_threadpool(self.decorate, request, items)
            return render(
                request,
                "entity/list.html",
                section=self.section,
                title=self.title,
                page=self,
                items=items,
                q=q,
            )

        async def new_page(request: Request) -> Response:
            values = {f.name: _text(self.new_defaults.get(f.name), f) for f in self.new_fields}
            return self._form(
                request, "entity/new.html", values, {}, 200, fields=self.new_fields, title=f"Add {self.noun}"
            )

        async def create(request: Request) -> Response:
            form = await form_of(request)
            lists = await form_lists(request)
            values = {f.name: form.get(f.name, "") for f in self.new_fields}
            data, errors = await run_in_threadpool(self.read, request, self.new_fields, form, lists, {})
            if not errors:
                done, errors = await create_entity(
                    request, self.kind, path, {**self.new_defaults, **data}, draft=self.draft
                )
                if done is not None:
                    return done
            return self._form(
                request,
                "entity/new.html",
                values,
                errors,
                400,
                fields=self.new_fields,
                title=f"Add {self.noun}",
            )

        async def delete(request: Request, ref: str) -> Response:
            return await delete_entity(request, self.kind, ref, path)

        router.add_api_route(path, list_page, methods=["GET"])
        router.add_api_route(f"{path}/new", new_page, methods=["GET"])
        router.add_api_route(path, create, methods=["POST"])
        router.add_api_route(f"{path}/{{ref}}/delete", delete, methods=["POST"])
        if self.fields:
            router.add_api_route(f"{path}/{{ref}}", self._show, methods=["GET"])
            router.add_api_route(f"{path}/{{ref}}", self._save, methods=["POST"])

    async def _show(self, request: Request, ref: str, created: int = 0, saved: int = 0) -> Response:
        item = await run_in_threadpool(entities(request, self.kind).get, ref)
        values = self.values_of(item)
        flash = f"{self.noun.capitalize()} created." if created else "Saved." if saved else None
        return await self.detail(request, item, values, {}, flash=flash)

    def values_of(self, item: dict[str, Any]) -> dict[str, Any]:
        """The edit form's values for a stored entity."""
        return {f.name: _text(_get(item, f.name), f) for f in self.fields}

    async def _save(self, request: Request, ref: str) -> Response:
        service = entities(request, self.kind)
        item = await run_in_threadpool(service.get, ref)
        form = await form_of(request)
        lists = await form_lists(request)
        values = {f.name: form.get(f.name, "") for f in self.fields}
        for f in self.fields:
            if f.kind == "multi":
                values[f.name] = lists.get(f.name, [])
        data, errors = await run_in_threadpool(self.read, request, self.fields, form, lists, item)
        if not errors:
            try:
                await run_in_threadpool(service.update, item["uuid"], data)
            except OpenConnectorError as exc:
                errors = service_errors(exc, "name")
                if "field" in exc.details:
                    errors = {str(exc.details["field"]).split(".")[0]: exc.message}
            else:
                return RedirectResponse(f"{self.path}/{item['id']}?saved=1", status_code=303)
        return await self.detail(request, item, values, errors, status_code=400)

    async def detail(
        self,
        request: Request,
        item: dict[str, Any],
        values: dict[str, Any],
        errors: dict[str, str],
        *,
        flash: str | None = None,
        status_code: int = 200,
        **more: Any,
    ) -> Response:
        extra = await run_in_threadpool(self.extra, request, item) if self.extra else {}
        secrets_set = {
            f.name: _get(item, f.name) not in (None, "") for f in self.fields if f.kind == "secret"
        }
        return self._form(
            request,
            "entity/detail.html",
            values,
            errors,
            status_code,
            fields=self.fields,
            title=str(item.get("name") or self.noun.capitalize()),
            item=item,
            flash=flash,
            secrets_set=secrets_set,
            **{**extra, **more},
        )

    def _form(
        self,
        request: Request,
        template: str,
        values: dict[str, Any],
        errors: dict[str, str],
        status_code: int,
        *,
        fields: list[Field],
        title: str,
        **more: Any,
    ) -> Response:
        options = {f.name: f.choices(request) if callable(f.choices) else list(f.choices) for f in fields}
        return render(
            request,
            template,
            status_code=status_code,
            section=self.section,
            title=title,
            page=self,
            fields=fields,
            options=options,
            values=values,
            errors=errors,
            **more,
        )

    # -- reading a form -----------------------------------------------------------------

    def read(
        self,
        request: Request,
        fields: list[Field],
        form: dict[str, str],
        lists: dict[str, list[str]],
        current: dict[str, Any],
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The entity fields the form sets and the errors beside the inputs.

        Nested values start from the current entity, so a form that shows only some keys
        of an object (a consumer's ``authorizationConfiguration``) keeps the others; a
        secret left empty is sent masked, which keeps the stored one.
        """
        data: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for f in fields:
            raw = form.get(f.name, "")
            value: Any = raw
            message: str | None = None
            if f.kind == "select":
                choices = f.choices(request) if callable(f.choices) else list(f.choices)
                allowed = [str(v) for v, _ in choices] + ([""] if f.blank else [])
                message = check_choice(raw, allowed, f.label.lower())
                value = raw or None
            elif f.kind == "json":
                value, message = parse_json(raw, f.label.lower(), want=f.want)
            elif f.kind == "int":
                value, message = check_int(raw, f.label.lower(), minimum=-1_000_000)
            elif f.kind == "lines":
                value = [line.strip() for line in raw.replace(",", "\n").splitlines() if line.strip()]
            elif f.kind == "multi":
                value = [v for v in lists.get(f.name, []) if v]
            elif f.kind == "secret" and not raw:
                old = _get(current, f.name)
                value = MASK if old not in (None, "") else None
            if f.required and f.name == "name":
                message = message or check_name(raw)
            elif f.required and value in (None, "", []):
                message = message or f"Fill in {f.label.lower()}."
            if message:
                errors[f.name] = message
                continue
            _set(data, f.name, value, current)
        return data, errors


def _get(item: dict[str, Any], name: str) -> Any:
    node: Any = item
    for part in name.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _set(data: dict[str, Any], name: str, value: Any, current: dict[str, Any]) -> None:
    head, _, rest = name.partition(".")
    if not rest:
        data[head] = value
        return
    if head not in data:
        base = current.get(head)
        data[head] = dict(base) if isinstance(base, dict) else {}
    if value is None:
        data[head].pop(rest, None)
    else:
        data[head][rest] = value


def _text(value: Any, f: Field) -> Any:
    """A stored value as the input shows it."""
    if f.kind == "secret":
        return ""  # write-only: the page says whether one is set
    if f.kind == "multi":
        return [str(v) for v in value or []]
    if f.kind == "lines":
        return "\n".join(str(v) for v in value or [])
    if f.kind == "json":
        return "" if value in (None, "", {}, []) else json.dumps(value, indent=2, ensure_ascii=False)
    return "" if value is None else str(value)
