"""Endpoints, rules and consumers: the serving half, on the shared entity pages.

An endpoint's page warns in red when no authentication rule guards it (it is then
public on purpose, as anyone on the internet may call it) and has a "Try it" panel
that sends one request through the endpoint, rules included.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..connector.endpoint_checks import METHODS, RULE_TYPES, TARGET_TYPES, TIMINGS
from ..connector.entities import EntityService
from ..errors import OpenConnectorError
from .entity_pages import Column, EntityPages, Field
from .forms import parse_json
from .pages import context_of, entities, form_of, page_router

router = page_router()


def _pairs(kind: str):  # type: ignore[no-untyped-def]
    def choices(request: Request) -> list[tuple[str, str]]:
        found = EntityService(kind, context_of(request)).list()
        return [
            (str(e["id"]), str(e.get("name") or e["id"]))
            for e in sorted(found, key=lambda e: str(e.get("name")))
        ]

    return choices


def _endpoint_extra(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    rules = EntityService("rule", context_of(request))
    attached = []
    for ref in item.get("rules") or []:
        try:
            attached.append(rules.get(ref))
        except OpenConnectorError:
            continue
    notices = []
    if not any(r.get("type") == "authentication" for r in attached):
        notices.append(
            {
                "kind": "bad",
                "text": "Public: this endpoint has no authentication rule, so anyone may call it. "
                "Add an authentication rule to restrict it to consumers.",
            }
        )
    return {"notices": notices, "tried": None, "tried_values": {}}


def _with_access(request: Request, items: list[dict[str, Any]]) -> None:
    """Mark each endpoint public or guarded (an authentication rule among its rules)."""
    rules = EntityService("rule", context_of(request)).list()
    guards = {str(r["id"]) for r in rules if r.get("type") == "authentication"}
    guards |= {str(r["uuid"]) for r in rules if r.get("type") == "authentication"}
    guards |= {str(r.get("slug")) for r in rules if r.get("type") == "authentication" and r.get("slug")}
    for item in items:
        item["_public"] = not any(str(ref) in guards for ref in item.get("rules") or [])


ENDPOINTS = EntityPages(
    kind="endpoint",
    path="/endpoints",
    noun="endpoint",
    plural="endpoints",
    title="Endpoints",
    columns=[
        Column("Name", lambda e: e.get("name")),
        Column("Method", lambda e: e.get("method") or "GET"),
        Column("Path", lambda e: "/api/endpoint/" + str(e.get("endpoint") or "")),
        Column("Target", lambda e: f"{e.get('targetType') or ''} {e.get('targetId') or ''}".strip()),
        Column("Rules", lambda e: len(e.get("rules") or []), "num"),
        Column("Access", lambda e: "public" if e["_public"] else "authenticated", kind="access"),
    ],
    new_fields=[
        Field("name", "Name", required=True),
        Field(
            "endpoint", "Path pattern", required=True, help="e.g. datasets/{{id}}: {{x}} is one path segment"
        ),
        Field("method", "Method", "select", [(m, m) for m in METHODS]),
        Field("targetType", "Target type", "select", [(t, t) for t in TARGET_TYPES]),
        Field("targetId", "Target", help="register/schema (dcat/dataset) or a source id for type api"),
    ],
    new_defaults={"method": "GET", "targetType": "register/schema"},
    empty="No endpoints yet. Add one to serve a register or a source as an API of your own.",
    fields=[
        Field("name", "Name", required=True),
        Field("description", "Description", "textarea", rows=2),
        Field(
            "endpoint", "Path pattern", required=True, help="e.g. datasets/{{id}}: {{x}} is one path segment"
        ),
        Field("method", "Method", "select", [(m, m) for m in METHODS]),
        Field("targetType", "Target type", "select", [(t, t) for t in TARGET_TYPES]),
        Field("targetId", "Target", help="register/schema (dcat/dataset) or a source id for type api"),
        Field("rules", "Rules", "multi", _pairs("rule"), help="They run in their order"),
        Field("inputMapping", "Input mapping", "select", _pairs("mapping"), blank="None"),
        Field("outputMapping", "Output mapping", "select", _pairs("mapping"), blank="None"),
        Field(
            "conditions", "Conditions (JSON Logic)", "json", help='e.g. {"!!": {"var": "parameters._search"}}'
        ),
        Field(
            "configurations",
            "Configuration (JSON object)",
            "json",
            want=dict,
            help='e.g. {"sourceEndpoint": "/pet/{{id}}"}',
        ),
    ],
    extra=_endpoint_extra,
    decorate=_with_access,
    panels=["endpoints/_try.html"],
)

RULES = EntityPages(
    kind="rule",
    path="/rules",
    noun="rule",
    plural="rules",
    title="Rules",
    columns=[
        Column("Name", lambda r: r.get("name")),
        Column("Type", lambda r: r.get("type")),
        Column("Timing", lambda r: r.get("timing") or "before"),
        Column("Order", lambda r: r.get("order") or 0, "num"),
    ],
    new_fields=[
        Field("name", "Name", required=True),
        Field("type", "Type", "select", [(t, t) for t in RULE_TYPES]),
        Field(
            "configuration",
            "Configuration (JSON object)",
            "json",
            want=dict,
            rows=5,
            help="What the type needs; see the user guide",
        ),
    ],
    new_defaults={"timing": "before", "order": 0},
    fields=[
        Field("name", "Name", required=True),
        Field("description", "Description", "textarea", rows=2),
        Field("type", "Type", "select", [(t, t) for t in RULE_TYPES]),
        Field("timing", "Timing", "select", [(t, t) for t in TIMINGS]),
        Field("order", "Order", "int", help="Lower runs first"),
        Field("conditions", "Conditions (JSON Logic)", "json", help="The rule runs only when they hold"),
        Field(
            "configuration",
            "Configuration (JSON object)",
            "json",
            want=dict,
            rows=8,
            help="API keys show as ******** and are kept when left so",
        ),
    ],
)

CONSUMERS = EntityPages(
    kind="consumer",
    path="/consumers",
    noun="consumer",
    plural="consumers",
    title="Consumers",
    columns=[
        Column("Name", lambda c: c.get("name")),
        Column("Authorization", lambda c: c.get("authorizationType") or "none"),
        Column("Domains", lambda c: ", ".join(c.get("domains") or [])),
        Column("IPs", lambda c: ", ".join(c.get("ips") or [])),
    ],
    new_fields=[
        Field("name", "Name", required=True, help="For JWT: the token's iss"),
        Field(
            "authorizationType",
            "Authorization",
            "select",
            [(t, t) for t in ("apiKey", "basic", "jwt", "none")],
        ),
        Field("description", "Description", "textarea", rows=2),
    ],
    new_defaults={"authorizationType": "apiKey", "domains": [], "ips": []},
    fields=[
        Field("name", "Name", required=True, help="For JWT: the token's iss"),
        Field("description", "Description", "textarea", rows=2),
        Field(
            "authorizationType",
            "Authorization",
            "select",
            [(t, t) for t in ("apiKey", "basic", "jwt", "none")],
        ),
        Field("authorizationConfiguration.key", "API key", "secret"),
        Field("authorizationConfiguration.username", "Basic username", help="Empty: the consumer's name"),
        Field("authorizationConfiguration.password", "Basic password", "secret"),
        Field(
            "authorizationConfiguration.publicKey",
            "JWT key",
            "secret",
            help="HS256: the shared secret; RS256: the public key (PEM)",
        ),
        Field(
            "authorizationConfiguration.algorithm",
            "JWT algorithm",
            "select",
            [(a, a) for a in ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256")],
            blank="HS256",
        ),
        Field("domains", "Allowed domains (one per line)", "lines", rows=2, help="Empty: any"),
        Field(
            "ips",
            "Allowed IPs or networks (one per line)",
            "lines",
            rows=2,
            help="Empty: any; e.g. 10.0.0.0/8",
        ),
    ],
)


@router.post("/endpoints/{ref}/try")
async def try_endpoint_page(request: Request, ref: str) -> Response:
    from ..api.endpoints import _service, try_endpoint

    item = await run_in_threadpool(entities(request, "endpoint").get, ref)
    form = await form_of(request)
    values = {k: form.get(k, "") for k in ("try_method", "try_path", "try_headers", "try_body")}
    headers, header_error = parse_json(values["try_headers"], "headers", want=dict)
    errors = {"try_headers": header_error} if header_error else {}
    tried = None
    if not errors:
        path, _, qs = values["try_path"].partition("?")
        from urllib.parse import parse_qsl

        spec = {
            "method": values["try_method"],
            "path": path,
            "query": parse_qsl(qs, keep_blank_values=True) or None,
            "headers": headers or {},
            "body": values["try_body"] or None,
        }
        try:
            tried = await run_in_threadpool(try_endpoint, _service(request), item["uuid"], spec)
        except OpenConnectorError as exc:
            errors = {"try_path": exc.message}
    return await ENDPOINTS.detail(
        request,
        item,
        ENDPOINTS.values_of(item),
        {},
        status_code=400 if errors else 200,
        tried=tried,
        tried_values=values,
        try_errors=errors,
    )


for _pages in (ENDPOINTS, RULES, CONSUMERS):
    _pages.mount(router)
