"""Synchronisations: list with the last run, add, wire source/mapping/target, run, schedule.

One form for both directions: a pull (``sourceType`` api/json → ``targetType``
register/schema) reads the source and writes objects of the register/schema; a push
(``sourceType`` register/schema → ``targetType`` api, ``connector/push.py``) sends the
objects of the register/schema to the chosen target source. The register and schema
selects name the objects in both; the push fieldset holds ``targetConfig`` and
``triggerOnlyOnEvents``; the notification fields ``sourceConfig.kanaal``/``kenmerken``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..connector.entities import EntityService
from ..errors import NotFound, OpenConnectorError
from ..register.registers import RegisterService
from .entity_pages import Column, EntityPages, Field
from .forms import check_choice, check_int, check_name, only_errors, parse_json, service_errors
from .pages import (
    context_of,
    entities,
    form_of,
    is_htmx,
    page_router,
)
from .runs import RunRegistry, UiRun
from .schedules import INTERVALS, find_job, schedule
from .templating import render

_HEX = frozenset("0123456789abcdef")

router = page_router()

PUSH = "register/schema"
SOURCE_TYPES = ("api", "json", PUSH)
TARGET_TYPES = ("register/schema", "api")
EVENTS = ("create", "update", "delete")
UPDATE_METHODS = ("PUT", "PATCH", "POST")
DELETE_METHODS = ("DELETE", "POST", "PATCH", "PUT")
#: The push form's fields → their key in ``targetConfig``.
PUSH_CONFIG = {
    "pushEndpoint": "endpoint",
    "pushIdPosition": "idPosition",
    "updateEndpoint": "updateEndpoint",
    "updateMethod": "updateMethod",
    "deleteEndpoint": "deleteEndpoint",
    "deleteMethod": "deleteMethod",
}


def _service(request: Request) -> EntityService:
    return entities(request, "synchronization")


def _runs(request: Request) -> RunRegistry:
    return request.app.state.web_runs


def _last_runs(request: Request, syncs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest stored run log per synchronisation uuid."""
    try:
        from ..connector.logs import LogService
    except ImportError:
        return {}
    logs = LogService(context_of(request))
    out = {}
    for sync in syncs:
        found = logs.sync_logs([("synchronization_id", sync["uuid"]), ("_limit", "1")])["results"]
        if found:
            out[sync["uuid"]] = found[0]
    return out


def _with_last_runs(request: Request, syncs: list[dict[str, Any]]) -> None:
    last = _last_runs(request, syncs)
    for sync in syncs:
        sync["_last"] = last.get(sync["uuid"]) or {}


SYNCHRONIZATIONS = EntityPages(
    kind="synchronization",
    path="/synchronizations",
    noun="synchronisation",
    plural="synchronisations",
    title="Synchronisations",
    columns=[
        Column("Name", lambda s: s.get("name")),
        Column("Target", lambda s: s.get("targetId") or "–"),
        Column(
            "Last run",
            lambda s: s["_last"].get("status"),
            kind="badge",
            note=lambda s: "(test)" if s["_last"].get("test") else None,
        ),
        Column("When", lambda s: s["_last"].get("created"), kind="when"),
    ],
    new_fields=[
        Field("name", "Name", required=True),
        Field("description", "Description", "textarea", rows=2),
        Field("sourceType", "Source type", "select", [(t, t) for t in SOURCE_TYPES]),
        Field("targetType", "Target type", "select", [(t, t) for t in TARGET_TYPES]),
    ],
    new_defaults={"sourceType": "api", "targetType": "register/schema", "sourceConfig": {}},
    section="synchronizations",
    decorate=_with_last_runs,
)
SYNCHRONIZATIONS.mount(router)


def _resolve(kind: str, context: Any, ref: Any) -> dict[str, Any] | None:
    if ref in (None, ""):
        return None
    try:
        return EntityService(kind, context).get(ref)
    except NotFound:
        return None


def _target_values(context: Any, target_id: Any) -> tuple[str, str]:
    """``targetId`` (``register/schema`` by id, uuid or slug) as the form's option values (ids).

    A reference that resolves to nothing is shown as it is, so a Save keeps it.
    """
    register_ref, _, schema_ref = str(target_id or "").partition("/")
    registers = RegisterService(context)
    try:
        register = registers.get_register(register_ref) if register_ref else None
    except NotFound:
        return register_ref, schema_ref
    if register is None:
        return "", schema_ref
    try:
        schema = registers.get_schema(schema_ref, register=register) if schema_ref else None
    except NotFound:
        return str(register["id"]), schema_ref
    return str(register["id"]), str(schema["id"]) if schema else ""


def _is_push(sync: dict[str, Any]) -> bool:
    return str(sync.get("sourceType") or "").lower() == PUSH


def _values(request: Request, sync: dict[str, Any]) -> dict[str, Any]:
    """The form's values for a stored synchronisation (references shown as option values).

    ``register``/``schema`` are the objects' register and schema in both directions (a
    pull's ``targetId``, a push's ``sourceId``); ``sourceId`` is the source a pull reads,
    ``targetSource`` the one a push sends to."""
    context = context_of(request)
    config = sync.get("sourceConfig") or {}
    target_config = sync.get("targetConfig") or {}
    push = _is_push(sync)
    register_id, schema_id = _target_values(context, sync.get("sourceId" if push else "targetId"))
    source = None if push else _resolve("source", context, sync.get("sourceId"))
    target = _resolve("source", context, sync.get("targetId")) if push else None
    mapping = _resolve("mapping", context, sync.get("sourceTargetMapping"))
    kenmerken = config.get("kenmerken")
    events = _events(sync.get("triggerOnlyOnEvents"))
    return {
        "name": sync.get("name") or "",
        "description": sync.get("description") or "",
        "sourceType": sync.get("sourceType") or "api",
        "targetType": sync.get("targetType") or "register/schema",
        "sourceId": "" if push else source["uuid"] if source else str(sync.get("sourceId") or ""),
        "targetSource": "" if not push else target["uuid"] if target else str(sync.get("targetId") or ""),
        "sourceTargetMapping": mapping["uuid"] if mapping else str(sync.get("sourceTargetMapping") or ""),
        "register": register_id,
        "schema": schema_id,
        "endpoint": config.get("endpoint") or "",
        "resultsPosition": config.get("resultsPosition") or "",
        "idPosition": config.get("idPosition") or "",
        "usesPagination": str(config.get("usesPagination", True)).lower() not in ("false", "0", ""),
        "maxPages": config.get("maxPages") or "",
        "kanaal": str(config.get("kanaal") or ""),
        "kenmerken": json.dumps(kenmerken, ensure_ascii=False) if kenmerken not in (None, "", {}) else "",
        **{field: str(target_config.get(key) or "") for field, key in PUSH_CONFIG.items()},
        **{f"event_{e}": e in events for e in EVENTS},
    }


def _events(raw: Any) -> set[str]:
    """The events a push reacts to, as ``connector/push.py`` reads ``triggerOnlyOnEvents``."""
    from ..connector.push import trigger_events

    return trigger_events({"triggerOnlyOnEvents": raw})


def _choices(request: Request, register: str, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """The options of each select; a stored value that is not among them is offered too.

    A reference made through the API to something this page cannot list (a source
    since deleted, a type the form does not offer) stays selected, so Save keeps it.
    """
    context = context_of(request)
    registers = RegisterService(context)
    regs = [r for r in registers.list_registers() if r.get("slug") != "openconnector"]
    choices = {
        "sources": [
            (s["uuid"], str(s.get("name") or s["id"])) for s in EntityService("source", context).list()
        ],
        "mappings": [
            (m["uuid"], str(m.get("name") or m["id"])) for m in EntityService("mapping", context).list()
        ],
        "registers": [(str(r["id"]), str(r.get("title") or r["slug"])) for r in regs],
        "schemas": _schema_options(registers, register),
        "source_types": [(t, t) for t in SOURCE_TYPES],
        "target_types": [(t, t) for t in TARGET_TYPES],
        "update_methods": [(m, m) for m in UPDATE_METHODS],
        "delete_methods": [(m, m) for m in DELETE_METHODS],
    }
    for field, key in _STORED_OPTIONS:
        value = str((stored or {}).get(field) or "")
        if key == "schemas" and register != (stored or {}).get("register"):
            continue  # another register chosen: its own schemas only
        if value and value not in {v for v, _ in choices[key]}:
            choices[key].append((value, f"{value} (not found)" if key not in _TYPE_KEYS else value))
    return choices


#: Form field → the options it is chosen from.
_STORED_OPTIONS = (
    ("sourceId", "sources"),
    ("targetSource", "sources"),
    ("sourceTargetMapping", "mappings"),
    ("register", "registers"),
    ("schema", "schemas"),
    ("sourceType", "source_types"),
    ("targetType", "target_types"),
    ("updateMethod", "update_methods"),
    ("deleteMethod", "delete_methods"),
)
_TYPE_KEYS = ("source_types", "target_types", "update_methods", "delete_methods")


def _schema_options(registers: RegisterService, register: str) -> list[tuple[str, str]]:
    if not register:
        return []
    try:
        return [(str(s["id"]), str(s.get("title") or s["slug"])) for s in registers.list_schemas(register)]
    except NotFound:
        return []


def _job_view(request: Request, sync: dict[str, Any]) -> dict[str, Any] | None:
    return find_job(context_of(request), sync)


def _push_view(request: Request, sync: dict[str, Any]) -> dict[str, Any] | None:
    """What a push synchronisation sends where (``connector/push.py``), for its page."""
    from ..connector.push import is_push, trigger_events

    if not is_push(sync):
        return None
    config = sync.get("targetConfig") or {}
    target = _resolve("source", context_of(request), sync.get("targetId"))
    endpoint = str(config.get("endpoint") or "")
    return {
        "from": sync.get("sourceId"),
        "target": (target or {}).get("name") or sync.get("targetId"),
        "create": f"POST {endpoint}",
        "update": f"{config.get('updateMethod') or 'PUT'} {config.get('updateEndpoint') or endpoint + '/{id}'}",
        "delete": f"{config.get('deleteMethod') or 'DELETE'} {config.get('deleteEndpoint') or endpoint + '/{id}'}",
        "idPosition": config.get("idPosition") or "id",
        "events": ", ".join(e for e in ("create", "update", "delete") if e in trigger_events(sync)),
    }


async def _detail(
    request: Request,
    sync: dict[str, Any],
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    flash: str | None = None,
    status_code: int = 200,
    run: Any = None,
    schedule_errors: dict[str, str] | None = None,
) -> Response:
    stored = await run_in_threadpool(_values, request, sync)
    values = values or stored
    choices = await run_in_threadpool(_choices, request, values["register"], stored)
    job = await run_in_threadpool(_job_view, request, sync)
    last = (await run_in_threadpool(_last_runs, request, [sync])).get(sync["uuid"])
    push = await run_in_threadpool(_push_view, request, sync)
    return render(
        request,
        "synchronizations/detail.html",
        status_code=status_code,
        section="synchronizations",
        title=str(sync.get("name") or "Synchronisation"),
        sync=sync,
        values=values,
        errors=errors or {},
        flash=flash,
        run=run or _runs(request).active(sync["uuid"]),
        last=last,
        job=job,
        intervals=INTERVALS,
        schedule_errors=schedule_errors or {},
        push=push,
        **choices,
    )


@router.get("/synchronizations/{ref}")
async def show_synchronization(
    request: Request, ref: str, created: int = 0, saved: int = 0, scheduled: int = 0, run: str = ""
) -> Response:
    sync = await run_in_threadpool(_service(request).get, ref)
    flash = (
        "Synchronisation created. Now choose its source, mapping and target."
        if created
        else "Saved."
        if saved
        else "Scheduled."
        if scheduled
        else None
    )
    return await _detail(request, sync, flash=flash, run=_runs(request).get(run) if run else None)


@router.get("/synchronizations/{ref}/schema-options")
async def schema_options(request: Request, ref: str, register: str = "") -> Response:
    """The schema dropdown for another register, swapped in by htmx."""
    await run_in_threadpool(_service(request).get, ref)  # 404 for a synchronisation that is not there
    options = await run_in_threadpool(_schema_options, RegisterService(context_of(request)), register)
    return render(
        request, "synchronizations/_schema_select.html", schemas=options, values={"schema": ""}, errors={}
    )


def _read_form(
    form: dict[str, str], sync: dict[str, Any], choices: dict[str, Any], stored: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """``(values for the form, data to store, errors)``.

    ``stored`` is the form as the stored synchronisation fills it: a reference the
    user left as it was is written back exactly as stored (``targetId: "dcat/dataset"``
    stays a slug pair, a numeric ``sourceId`` stays numeric), and so are the push
    events when the same ones are ticked (an absent ``triggerOnlyOnEvents`` stays absent).
    """
    values: dict[str, Any] = {
        k: form.get(k, "")
        for k in (
            "name",
            "description",
            "sourceType",
            "targetType",
            "sourceId",
            "targetSource",
            "sourceTargetMapping",
            "register",
            "schema",
            "endpoint",
            "resultsPosition",
            "idPosition",
            "maxPages",
            "kanaal",
            "kenmerken",
            *PUSH_CONFIG,
        )
    }
    values["usesPagination"] = bool(form.get("usesPagination"))
    for event in EVENTS:
        values[f"event_{event}"] = bool(form.get(f"event_{event}"))
    push = values["sourceType"] == PUSH
    was_push = _is_push(sync)

    def offered(key: str) -> set[str]:
        return {str(v) for v, _ in choices[key]}

    errors = only_errors(
        {
            "name": check_name(values["name"]),
            "sourceType": check_choice(values["sourceType"], sorted(offered("source_types")), "source type"),
            "targetType": check_choice(values["targetType"], sorted(offered("target_types")), "target type"),
        }
    )
    if "targetType" not in errors and push != (values["targetType"] == "api"):
        errors["targetType"] = (
            "Objects of a register/schema are sent to an API: choose target type api."
            if push
            else "A source is read into a register: choose target type register/schema."
        )
    if values["sourceId"] and values["sourceId"] not in offered("sources"):
        errors["sourceId"] = "Choose one of the sources in the list."
    if values["targetSource"] and values["targetSource"] not in offered("sources"):
        errors["targetSource"] = "Choose one of the sources in the list."
    if values["sourceTargetMapping"] and values["sourceTargetMapping"] not in offered("mappings"):
        errors["sourceTargetMapping"] = "Choose one of the mappings in the list."
    if values["register"] and values["register"] not in offered("registers"):
        errors["register"] = "Choose one of the registers in the list."
    if values["schema"] and values["schema"] not in offered("schemas"):
        errors["schema"] = "Choose a schema of the chosen register."
    elif values["register"] and not values["schema"]:
        errors["schema"] = (
            "Choose the schema whose objects are sent."
            if push
            else "Choose the schema the objects are written to."
        )
    for field, key in (("updateMethod", "update_methods"), ("deleteMethod", "delete_methods")):
        if values[field] and values[field] not in offered(key):
            errors[field] = f"Choose one of {', '.join(sorted(offered(key)))}."
    max_pages, message = check_int(values["maxPages"], "maximum number of pages", minimum=1)
    if message:
        errors["maxPages"] = message
    kenmerken, message = parse_json(values["kenmerken"], "kenmerken", want=dict)
    if message:
        errors["kenmerken"] = message
    config = dict(sync.get("sourceConfig") or {})
    for key in ("endpoint", "resultsPosition", "idPosition", "kanaal"):
        if values[key]:
            config[key] = values[key]
        else:
            config.pop(key, None)
    if kenmerken:
        config["kenmerken"] = kenmerken
    else:
        config.pop("kenmerken", None)
    if "usesPagination" in config or not values["usesPagination"]:
        config["usesPagination"] = values["usesPagination"]
    if max_pages:
        config["maxPages"] = max_pages
    elif str(values["maxPages"]) != str(stored["maxPages"]):
        config.pop("maxPages", None)
    data: dict[str, Any] = {"name": values["name"], "description": values["description"]}
    for key in ("sourceType", "targetType", "sourceTargetMapping"):
        unchanged = values[key] == str(stored[key]) and key in sync
        data[key] = sync[key] if unchanged else values[key]
    data["sourceConfig"] = config
    objects_unchanged = (values["register"], values["schema"]) == (stored["register"], stored["schema"])
    objects = f"{values['register']}/{values['schema']}" if values["register"] and values["schema"] else ""
    if push:
        data["sourceId"] = (
            sync["sourceId"] if was_push and objects_unchanged and "sourceId" in sync else objects
        )
        unchanged = was_push and values["targetSource"] == stored["targetSource"] and "targetId" in sync
        data["targetId"] = sync["targetId"] if unchanged else values["targetSource"]
        target_config = dict(sync.get("targetConfig") or {})
        for field, key in PUSH_CONFIG.items():
            if values[field]:
                target_config[key] = values[field]
            else:
                target_config.pop(key, None)
        data["targetConfig"] = target_config
        ticked = [e for e in EVENTS if values[f"event_{e}"]]
        if not ticked:
            errors["event_create"] = "Tick at least one event (or all three for every change)."
        elif not (was_push and set(ticked) == _events(sync.get("triggerOnlyOnEvents"))):
            data["triggerOnlyOnEvents"] = ticked
    else:
        unchanged = not was_push and values["sourceId"] == str(stored["sourceId"]) and "sourceId" in sync
        data["sourceId"] = sync["sourceId"] if unchanged else values["sourceId"]
        data["targetId"] = (
            sync["targetId"] if not was_push and objects_unchanged and "targetId" in sync else objects
        )
    return values, data, errors


@router.post("/synchronizations/{ref}")
async def save_synchronization(request: Request, ref: str) -> Response:
    service = _service(request)
    sync = await run_in_threadpool(service.get, ref)
    form = await form_of(request)
    stored = await run_in_threadpool(_values, request, sync)
    choices = await run_in_threadpool(_choices, request, form.get("register", ""), stored)
    values, data, errors = _read_form(form, sync, choices, stored)
    if errors:
        return await _detail(request, sync, values=values, errors=errors, status_code=400)
    try:
        await run_in_threadpool(service.update, sync["uuid"], data)
    except OpenConnectorError as exc:
        return await _detail(
            request, sync, values=values, errors=service_errors(exc, "name"), status_code=400
        )
    return RedirectResponse(f"/synchronizations/{sync['id']}?saved=1", status_code=303)


@router.post("/synchronizations/{ref}/run")
async def run_synchronization(request: Request, ref: str) -> Response:
    """Start a run (``test=1`` for a dry run) in the background and show its progress."""
    sync = await run_in_threadpool(_service(request).get, ref)
    form = await form_of(request)
    registry = _runs(request)
    run = registry.active(sync["uuid"]) or registry.start(
        context_of(request), sync["uuid"], test=form.get("test") == "1", user=request.session.get("user")
    )
    if is_htmx(request):
        return render(request, "synchronizations/_run.html", sync=sync, run=run)
    return RedirectResponse(f"/synchronizations/{sync['id']}?run={run.id}", status_code=303)


async def _ui_run(request: Request, ref: str, run_id: str) -> UiRun | None:
    """The UI run ``run_id`` of synchronisation ``ref``: None when it is over and forgotten.

    404 when the synchronisation does not exist or ``run_id`` could never name a
    run (run ids are 32 hex digits); a well-formed id this process no longer
    remembers is a run that ended, which the fragment shows as such.
    """
    sync = await run_in_threadpool(_service(request).get, ref)
    if len(run_id) != 32 or not _HEX.issuperset(run_id):
        raise NotFound(f"There is no run {run_id[:40]!r}", id=run_id[:40])
    run = _runs(request).get(run_id)
    return run if run is not None and run.sync_id in (str(sync["uuid"]), str(sync["id"])) else None


@router.get("/synchronizations/{ref}/runs/{run_id}")
async def run_progress(request: Request, ref: str, run_id: str) -> Response:
    """The progress fragment htmx polls every 500 ms while the run goes on."""
    run = await _ui_run(request, ref, run_id)
    if run is None:
        return render(request, "synchronizations/_run.html", sync={"id": ref}, run=None, gone=True)
    return render(request, "synchronizations/_run.html", sync={"id": ref}, run=run)


@router.post("/synchronizations/{ref}/runs/{run_id}/stop")
async def stop_run(request: Request, ref: str, run_id: str) -> Response:
    run = await _ui_run(request, ref, run_id)
    if run is not None:
        run.stop.set()
    if is_htmx(request):
        return render(request, "synchronizations/_run.html", sync={"id": ref}, run=run, gone=run is None)
    return RedirectResponse(f"/synchronizations/{ref}?run={run_id}", status_code=303)


@router.post("/synchronizations/{ref}/schedule")
async def schedule_synchronization(request: Request, ref: str) -> Response:
    sync = await run_in_threadpool(_service(request).get, ref)
    form = await form_of(request)
    try:
        await run_in_threadpool(schedule, context_of(request), sync, form)
    except ValueError as exc:
        field, _, message = str(exc).partition(":")
        return await _detail(request, sync, schedule_errors={field: message.strip()}, status_code=400)
    except OpenConnectorError as exc:
        return await _detail(request, sync, schedule_errors={"interval": exc.message}, status_code=400)
    return RedirectResponse(f"/synchronizations/{sync['id']}?scheduled=1", status_code=303)
