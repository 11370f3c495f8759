"""Mappings: list, add, edit rows of target field and Twig expression, test on a sample.

The detail page is one form with several submit buttons (``action``): Save,
Add row, Remove row, Test mapping, Fetch sample. Adding or removing a row and
testing re-render the form from what was typed, without saving, so a user can
try a change before keeping it; only Save writes.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..connector.entities import EntityService
from ..errors import OpenConnectorError
from ..register.registers import RegisterService
from .entity_pages import Column, EntityPages, Field
from .forms import check_name, parse_json, service_errors
from .pages import (
    context_of,
    entities,
    form_lists,
    form_of,
    page_router,
)
from .templating import render

router = page_router()

SAMPLE = {"id": 7, "name": "Bella", "status": "available", "category": {"name": "Dogs"}}


def _service(request: Request) -> EntityService:
    return entities(request, "mapping")


MAPPINGS = EntityPages(
    kind="mapping",
    path="/mappings",
    noun="mapping",
    plural="mappings",
    title="Mappings",
    columns=[
        Column("Name", lambda m: m.get("name")),
        Column("Description", lambda m: m.get("description") or "", "wrap"),
        Column("Rows", lambda m: len(m.get("mapping") or {}), "num"),
        Column("Version", lambda m: m.get("version")),
    ],
    new_fields=[Field("name", "Name", required=True), Field("description", "Description", "textarea")],
    new_defaults={"mapping": {}, "unset": [], "cast": {}, "passThrough": False},
)
MAPPINGS.mount(router)


def _rule_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _rule_value(text: str) -> Any:
    """Literal objects and lists are stored as JSON; everything else (Twig, paths) as text."""
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and not stripped.startswith(("{{", "{%", "{#")):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(parsed, dict | list):
            return parsed
    return text


def _state_from_entity(mapping: dict[str, Any]) -> dict[str, Any]:
    cast = mapping.get("cast") or {}
    return {
        "name": mapping.get("name") or "",
        "description": mapping.get("description") or "",
        "rules": [[k, _rule_text(v)] for k, v in (mapping.get("mapping") or {}).items()],
        "casts": [[k, v if isinstance(v, str) else ",".join(map(str, v))] for k, v in cast.items()],
        "unset": "\n".join(str(u) for u in mapping.get("unset") or []),
        "passThrough": bool(mapping.get("passThrough")),
        "sample": json.dumps(SAMPLE, indent=2),
        "schema": "",
        "sample_source": "",
        "sample_endpoint": "",
        "sample_position": "",
    }


def _state_from_form(form: dict[str, str], lists: dict[str, list[str]]) -> dict[str, Any]:
    def pairs(prefix: str) -> list[list[str]]:
        targets, values = lists.get(f"{prefix}.target", []), lists.get(f"{prefix}.value", [])
        return [[t.strip(), values[i] if i < len(values) else ""] for i, t in enumerate(targets)]

    return {
        "name": form.get("name", ""),
        "description": form.get("description", ""),
        "rules": pairs("rule"),
        "casts": pairs("cast"),
        "unset": form.get("unset", ""),
        "passThrough": bool(form.get("passThrough")),
        "sample": (lists.get("sample") or [""])[-1],
        "schema": form.get("schema", ""),
        "sample_source": form.get("sample_source", ""),
        "sample_endpoint": form.get("sample_endpoint", ""),
        "sample_position": form.get("sample_position", ""),
    }


def _to_mapping(state: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The mapping object the state describes, and errors keyed by input."""
    errors: dict[str, str] = {}
    if message := check_name(state["name"]):
        errors["name"] = message
    rules: dict[str, Any] = {}
    for i, (target, value) in enumerate(state["rules"]):
        if not target and not value.strip():
            continue  # an empty row is ignored
        if not target:
            errors[f"rule.{i}"] = "Give the target field a name."
        elif target in rules:
            errors[f"rule.{i}"] = f"The target field {target!r} is already mapped above."
        else:
            rules[target] = _rule_value(value)
    casts: dict[str, str] = {}
    for i, (target, value) in enumerate(state["casts"]):
        if not target and not value.strip():
            continue
        if not target or not value.strip():
            errors[f"cast.{i}"] = "A cast needs a field and a cast (e.g. integer, bool, unsetIfValue==x)."
        else:
            casts[target] = value.strip()
    unset = [line.strip() for line in state["unset"].replace(",", "\n").splitlines() if line.strip()]
    mapping = {
        "name": state["name"],
        "description": state["description"],
        "mapping": rules,
        "unset": unset,
        "cast": casts,
        "passThrough": state["passThrough"],
    }
    return mapping, errors


def _row_errors(exc: OpenConnectorError, state: dict[str, Any]) -> dict[str, str]:
    """A service error beside the row it is about (a Twig error names its key), else by field."""
    key = exc.details.get("key") if isinstance(exc.details, dict) else None
    for i, (target, _) in enumerate(state["rules"]):
        if key is not None and target == key:
            return {f"rule.{i}": exc.message}
    return service_errors(exc, "name")


def _keep_stored(mapping: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
    """Rules and casts the user left as shown keep their stored value and type.

    The form shows every value as text: a number rule ``5`` or a cast list
    ``["integer", "string"]`` comes back as ``"5"`` / ``"integer,string"``; unchanged,
    they are stored as they were, so a save changes only what the user changed.
    """
    stored_rules = current.get("mapping") or {}
    for key, value in mapping["mapping"].items():
        if key in stored_rules and isinstance(value, str) and value == _rule_text(stored_rules[key]):
            mapping["mapping"][key] = stored_rules[key]
    stored_casts = current.get("cast") or {}
    for key, value in mapping["cast"].items():
        old = stored_casts.get(key)
        if isinstance(old, list) and value == ",".join(map(str, old)):
            mapping["cast"][key] = old
    return mapping


def _choices(request: Request) -> dict[str, Any]:
    context = context_of(request)
    registers = RegisterService(context)
    schemas = []
    for register in registers.list_registers():
        if register.get("slug") == "openconnector":
            continue
        for schema in registers.list_schemas(register["id"]):
            schemas.append((str(schema["id"]), f"{register.get('title')} / {schema.get('title')}"))
    sources = [(str(s["id"]), str(s.get("name") or s["id"])) for s in EntityService("source", context).list()]
    return {"schemas": schemas, "sources": sources}


def _detail(
    request: Request,
    mapping: dict[str, Any],
    state: dict[str, Any],
    *,
    errors: dict[str, str],
    test: dict[str, Any] | None = None,
    flash: str | None = None,
    status_code: int = 200,
    choices: dict[str, Any],
) -> Response:
    return render(
        request,
        "mappings/detail.html",
        status_code=status_code,
        section="mappings",
        title=str(mapping.get("name") or "Mapping"),
        mapping=mapping,
        state=state,
        errors=errors,
        test=test,
        flash=flash,
        **choices,
    )


@router.get("/mappings/{ref}")
async def show_mapping(request: Request, ref: str, created: int = 0, saved: int = 0) -> Response:
    mapping = await run_in_threadpool(_service(request).get, ref)
    choices = await run_in_threadpool(_choices, request)
    state = _state_from_entity(mapping)
    if created and not state["rules"]:
        state["rules"] = [["", ""]]
    flash = "Mapping created. Add its rows." if created else "Saved." if saved else None
    return _detail(request, mapping, state, errors={}, flash=flash, choices=choices)


def _run_test(
    request: Request, mapping: dict[str, Any], state: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run the (unsaved) mapping on the sample; errors go beside the rows they concern."""
    sample, error = parse_json(state["sample"], "sample input")
    if error or sample is None:
        return {"error": error or "Enter a sample record as JSON."}, {
            "sample": error or "Enter a sample record."
        }
    from ..connector.mappings import MappingTester

    try:
        result = MappingTester(context_of(request)).test(mapping, sample, schema=state["schema"] or None)
    except OpenConnectorError as exc:
        return {"error": exc.message}, {}
    row_errors: dict[str, str] = {}
    unplaced = []
    targets = [t for t, _ in state["rules"]]
    for item in result.get("validationErrors") or []:
        prop = str(item.get("property") or "").lstrip("/").replace("/", ".")
        head = prop.split(".")[0]
        index = targets.index(prop) if prop in targets else targets.index(head) if head in targets else None
        if index is None:
            unplaced.append(item)
        else:
            row_errors.setdefault(f"rule.{index}", str(item.get("message")))
    result["unplaced"] = unplaced
    return result, row_errors


def _fetch_sample(request: Request, state: dict[str, Any]) -> tuple[str | None, str | None]:
    """The first record the chosen source returns at the endpoint, as JSON text."""
    if not state["sample_source"]:
        return None, "Choose a source to fetch a record from."
    from ..connector.records import find_records
    from ..connector.sources import CallService

    calls = CallService(context_of(request))
    try:
        result = calls.call(state["sample_source"], state["sample_endpoint"])
        body = json.loads(result.body) if result.body else None
        records, _where = find_records(body, state["sample_position"] or None)
    except OpenConnectorError as exc:
        return None, exc.message
    except ValueError:
        return None, "The source did not answer with JSON."
    finally:
        calls.close()
    if not records:
        return None, "The source answered, but with no records at that position."
    return json.dumps(records[0], indent=2, ensure_ascii=False), None


@router.post("/mappings/{ref}")
async def save_mapping(request: Request, ref: str) -> Response:
    service = _service(request)
    current = await run_in_threadpool(service.get, ref)
    form = await form_of(request)
    state = _state_from_form(form, await form_lists(request))
    action = form.get("action", "save")
    choices = await run_in_threadpool(_choices, request)
    if action == "add-rule":
        state["rules"].append(["", ""])
    elif action == "add-cast":
        state["casts"].append(["", ""])
    elif action.startswith(("remove-rule:", "remove-cast:")):
        kind, _, index = action.partition(":")
        rows = state["rules"] if kind == "remove-rule" else state["casts"]
        if index.isdigit() and int(index) < len(rows):
            rows.pop(int(index))
    mapping, errors = _to_mapping(state)
    if action == "fetch-sample":
        sample, message = await run_in_threadpool(_fetch_sample, request, state)
        if sample is not None:
            state["sample"] = sample
        return _detail(
            request,
            current,
            state,
            errors={"sample_source": message} if message else {},
            choices=choices,
            status_code=400 if message else 200,
        )
    if action == "test":
        from ..connector.mappings import in_test_pool

        test, test_errors = await in_test_pool(lambda: _run_test(request, mapping, state))
        return _detail(request, current, state, errors={**errors, **test_errors}, test=test, choices=choices)
    if action != "save":
        return _detail(request, current, state, errors={}, choices=choices)
    if errors:
        return _detail(request, current, state, errors=errors, choices=choices, status_code=400)
    try:
        await run_in_threadpool(service.update, current["uuid"], _keep_stored(mapping, current))
    except OpenConnectorError as exc:
        return _detail(
            request, current, state, errors=_row_errors(exc, state), choices=choices, status_code=400
        )
    return RedirectResponse(f"/mappings/{current['id']}?saved=1", status_code=303)
