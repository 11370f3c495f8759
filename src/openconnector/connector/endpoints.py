"""Endpoints: OpenConnector's serving half.

An endpoint answers ``/api/endpoint/{path}`` for one pattern and one method, from a
register/schema (list, get, create, update, delete) or by proxying a source, guarded
and shaped by rules (``connector/rules.py``)::

    EndpointService().handle("GET", "datasets", query=[("_limit", "5")])
    EndpointService().handle("POST", "intake", body={"naam": "x"}, headers={"Authorization": "key"})

A request goes: match (pattern + method; 404 / 409) → the endpoint's ``conditions``
(400 naming the fields) → rules ``before`` (in ``order``, when their conditions hold;
one that answers ends the request) → ``inputMapping`` → the target → rules ``after``
→ ``outputMapping`` on each object. An endpoint without rules, conditions or mappings
takes a short path straight to the register, so it is as fast as the register's own route.

Every request is logged (``connector/endpoint_logs.py``); errors answer one JSON shape
with their status and never a stack trace.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import orjson

from ..clock import now_iso, utcnow
from ..context import Context, get_context
from ..errors import BadRequest, Conflict, NotFound, OpenConnectorError
from ..register.objects import ObjectService
from .endpoint_checks import compile_pattern
from .endpoint_logs import EndpointLogWriter
from .entities import EntityService, generation

log = logging.getLogger("openconnector.endpoints")

#: Request bodies larger than this answer 413 (``OPENCONNECTOR_ENDPOINT_MAX_BODY`` overrides).
MAX_BODY = 1024 * 1024
#: How long the compiled endpoints are trusted when nothing changed in this process
#: (another process or worker may have changed them).
ROUTES_TTL = 2.0
PREFIX = "/index.php/apps/openconnector/api/endpoint/"
CORS_METHODS = "PUT, POST, GET, DELETE, PATCH"
CORS_HEADERS = "Authorization, Content-Type, Accept"


class Locked(OpenConnectorError):
    status = 423
    error = "Locked"


class Answer(Exception):
    """Raised by a rule (or a check) that answers the request itself."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass
class EndpointResponse:
    """What an endpoint answered: ``status``, ``body`` (JSON-able, or ``None`` for 204),
    ``headers``; a proxied non-JSON answer keeps its text in ``raw``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    endpoint: str | None = None
    consumer: str | None = None

    def json(self) -> Any:
        return self.body


@dataclass
class Route:
    endpoint: dict[str, Any]
    regex: Any
    names: list[str]
    segments: int
    method: str
    rules: list[dict[str, Any]]

    @property
    def plain(self) -> bool:
        e = self.endpoint
        return not (
            self.rules
            or e.get("conditions")
            or e.get("inputMapping")
            or e.get("outputMapping")
            or (e.get("configurations") or {}).get("defaultStatusCode")
        )


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    client: str | None
    url: str


_routes: weakref.WeakKeyDictionary[Context, tuple[int, float, list[Route], list[dict[str, Any]]]] = (
    weakref.WeakKeyDictionary()
)
_routes_lock = threading.Lock()


class EndpointService:
    """Serves endpoints: ``handle(method, path, body=..., headers=...)`` → :class:`EndpointResponse`."""

    def __init__(self, context: Context | None = None) -> None:
        self.context = context or get_context()
        self.objects = ObjectService(self.context)
        self._mappings: Any = None
        self.logs = EndpointLogWriter.of(self.context)

    @property
    def mappings(self) -> Any:
        if self._mappings is None:
            from .mappings import MappingService

            self._mappings = MappingService(self.context)
        return self._mappings

    # -- the one entry ------------------------------------------------------------

    def handle(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        query: list[tuple[str, str]] | dict[str, Any] | None = None,
        client: str | None = None,
        url: str | None = None,
    ) -> EndpointResponse:
        """Answer one request. ``body`` may be raw bytes/text (parsed as JSON here) or a
        value; ``query`` pairs or a dict; ``url`` the request's own URL without query
        (for the ``next``/``previous`` links). Never raises for what a client sends."""
        started = time.perf_counter()
        method = method.upper()
        path = path.strip("/")
        if query is None and "?" in path:
            from urllib.parse import parse_qsl

            path, _, qs = path.partition("?")
            query = parse_qsl(qs, keep_blank_values=True)
        pairs = list(query.items()) if isinstance(query, dict) else list(query or [])
        lowered = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        base = url or f"{(self.context.settings.base_url or '').rstrip('/')}{PREFIX}{path}"
        route: Route | None = None
        consumer: str | None = None
        try:
            if method == "OPTIONS":
                response = self.preflight(lowered)
            else:
                route, params = self.match(method, path)
                request = Request(method, path, pairs, lowered, _parse_body(body), client, base)
                state = _State(request, params)
                try:
                    response = self._serve(route, request, state)
                finally:
                    consumer = state.consumer
        except Answer as answer:
            response = EndpointResponse(answer.status, answer.body, dict(answer.headers))
        except OpenConnectorError as exc:
            response = EndpointResponse(exc.status, exc.to_dict())
        except Exception as exc:  # a bug or an unexpected failure: logged, never shown
            log.exception("endpoint %s %s failed", method, path)
            response = EndpointResponse(
                500,
                {
                    "error": "Internal error",
                    "message": f"The endpoint failed ({type(exc).__name__}); the server log has details.",
                },
            )
        response.endpoint = route.endpoint.get("name") if route else None
        response.consumer = consumer
        origin = lowered.get("origin")
        if origin and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = origin
        if method != "OPTIONS":
            message = None
            if response.status >= 400 and isinstance(response.body, dict):
                message = response.body.get("message") or response.body.get("error")
            self.logs.add(
                endpoint=route.endpoint if route else None,
                consumer=consumer,
                method=method,
                path=path,
                status=response.status,
                duration_ms=(time.perf_counter() - started) * 1000,
                message=message,
            )
        return response

    def preflight(self, headers: dict[str, str]) -> EndpointResponse:
        """CORS preflight as the original answers it: the Origin echoed, the five methods."""
        return EndpointResponse(
            200,
            None,
            {
                "Access-Control-Allow-Origin": headers.get("origin") or "*",
                "Access-Control-Allow-Methods": CORS_METHODS,
                "Access-Control-Allow-Headers": CORS_HEADERS,
                "Access-Control-Max-Age": "1728000",
            },
        )

    # -- matching -----------------------------------------------------------------

    def routes(self) -> list[Route]:
        return self._compiled()[0]

    def consumers(self) -> list[dict[str, Any]]:
        return self._compiled()[1]

    def _compiled(self) -> tuple[list[Route], list[dict[str, Any]]]:
        now = time.monotonic()
        with _routes_lock:
            cached = _routes.get(self.context)
        if cached is not None and cached[0] == generation() and now - cached[1] < ROUTES_TTL:
            return cached[2], cached[3]
        stamp = generation()
        endpoints = EntityService("endpoint", self.context)
        rules = EntityService("rule", self.context)
        all_rules = {r["uuid"]: r for r in rules.list()}
        by_id = {str(r["id"]): r for r in all_rules.values()}
        for r in all_rules.values():
            if r.get("slug"):
                by_id.setdefault(r["slug"], r)
        routes: list[Route] = []
        for endpoint in endpoints.list():
            if not endpoint.get("endpoint"):
                continue
            try:
                regex, names, segments = compile_pattern(str(endpoint["endpoint"]))
            except BadRequest:
                continue
            attached = []
            for ref in endpoint.get("rules") or []:
                rule = all_rules.get(str(ref)) or by_id.get(str(ref))
                if rule is None:
                    continue
                if rule.get("type") == "authentication":
                    rule = rules.get_with_secrets(rule["uuid"])
                attached.append(rule)
            attached.sort(key=lambda r: (int(r.get("order") or 0), str(r.get("name") or "")))
            routes.append(
                Route(
                    endpoint, regex, names, segments, str(endpoint.get("method") or "GET").upper(), attached
                )
            )
        consumer_service = EntityService("consumer", self.context)
        consumers = [consumer_service.get_with_secrets(c["uuid"]) for c in consumer_service.list()]
        with _routes_lock:
            _routes[self.context] = (stamp, now, routes, consumers)
        return routes, consumers

    def match(self, method: str, path: str) -> tuple[Route, dict[str, Any]]:
        """The one endpoint for ``method`` and ``path`` and its path parameters.

        When one pattern matches only by leaving out its optional trailing parameter
        (``datasets/{{id}}`` for ``datasets``) and another matches exactly (``datasets``),
        the exact one wins; two exact matches are a 409.
        """
        depth = len(path.split("/")) if path else 0
        found: list[tuple[Route, dict[str, Any]]] = []
        for route in self.routes():
            if route.method != method:
                continue
            hit = route.regex.match(path)
            if hit:
                found.append((route, {k: v for k, v in hit.groupdict().items() if v is not None}))
        if len(found) > 1:
            exact = [f for f in found if f[0].segments == depth]
            found = exact or found
        if not found:
            raise NotFound(
                f"No matching endpoint found for path and method: {path} {method}", path=path, method=method
            )
        if len(found) > 1:
            raise Conflict(
                f"Several endpoints match path and method: {path} {method}",
                endpoints=[f[0].endpoint.get("name") for f in found],
            )
        return found[0]

    # -- serving ------------------------------------------------------------------

    def _serve(self, route: Route, request: Request, state: _State) -> EndpointResponse:
        endpoint = route.endpoint
        if route.plain and endpoint.get("targetType", "register/schema") == "register/schema":
            status, body = self._register(route, request, state)
            return EndpointResponse(status, body)
        from .rules import RuleRunner, conditions_failure

        data = state.logic_data()
        failure = conditions_failure(endpoint.get("conditions"), data)
        if failure is not None:
            raise Answer(400, {"error": "The following parameters are not correctly set", "fields": failure})
        runner = RuleRunner(self, route, request, state)
        runner.run("before")  # a rule that answers raises Answer: the request ends there
        if endpoint.get("inputMapping") and request.method in ("POST", "PUT", "PATCH"):
            state.body = self._map(endpoint["inputMapping"], state.body)
        status, body = self._target(route, request, state)
        state.body = body
        state.status = status
        runner.run("after")
        body = state.body
        if endpoint.get("outputMapping") and body is not None and status < 400:
            body = self._map_each(endpoint["outputMapping"], body)
        default = (endpoint.get("configurations") or {}).get("defaultStatusCode")
        if default and status == 200:
            with contextlib.suppress(TypeError, ValueError):
                status = int(default)
        if state.raw is not None:
            return EndpointResponse(status, None, {"Content-Type": state.raw[1]}, raw=state.raw[0])
        return EndpointResponse(status, body)

    def _target(self, route: Route, request: Request, state: _State) -> tuple[int, Any]:
        target_type = route.endpoint.get("targetType") or "register/schema"
        if target_type == "api":
            return self._proxy(route, request, state)
        if target_type == "none" or not route.endpoint.get("targetId"):
            if state.saved is not None:
                return (201 if state.created else 200), state.saved
            if state.lock is not None:
                return 200, state.lock
            return 200, state.body
        if state.saved is not None:  # a save_object rule wrote the body already
            return (201 if state.created else 200), state.saved
        return self._register(route, request, state)

    def _register(self, route: Route, request: Request, state: _State) -> tuple[int, Any]:
        target = str(route.endpoint.get("targetId") or "")
        if target.count("/") != 1:
            raise BadRequest(
                f"Endpoint {route.endpoint.get('name')!r} has no register/schema target", field="targetId"
            )
        register, schema = self.objects.resolve(*target.split("/"))
        object_id = state.params.get(route.names[-1]) if route.names else None
        method = request.method
        if method == "GET":
            if object_id:
                return 200, self.objects.find(object_id, register, schema)
            taken = set(state.params)
            params = [(k, v) for k, v in request.query if k not in taken]
            page = self.objects.find_all(register, schema, params=params)
            return 200, _paginated(page, request)
        body = state.body
        if method == "POST" and not object_id:
            _require_object(body)
            saved = self.objects.save_object(body, register, schema, owner=state.consumer)
            return 201, saved
        if not object_id:
            raise BadRequest(f"{method} needs an object id in the path", method=method)
        self.check_unlocked(object_id, state.consumer)
        if method == "DELETE":
            self.objects.delete_object(object_id, register, schema)
            return 204, None
        _require_object(body)
        self.objects.find(object_id, register, schema)
        saved = self.objects.save_object(
            body, register, schema, uuid=object_id, patch=method in ("PATCH", "POST")
        )
        return 200, saved

    def _proxy(self, route: Route, request: Request, state: _State) -> tuple[int, Any]:
        from .sources import CallService

        source_ref = route.endpoint.get("targetId")
        if not source_ref:
            raise BadRequest(
                f"Endpoint {route.endpoint.get('name')!r} has no source (targetId)", field="targetId"
            )
        config = route.endpoint.get("configurations") or {}
        target_path = str(config.get("sourceEndpoint") or request.path)
        for name, value in state.params.items():
            target_path = target_path.replace("{{" + name + "}}", str(value)).replace(
                "{{ " + name + " }}", str(value)
            )
        if not target_path.startswith("/"):
            target_path = "/" + target_path
        headers = {
            k: v for k, v in request.headers.items() if k in ("accept", "content-type", "accept-language")
        }
        calls = CallService(self.context)
        try:
            source = calls.resolve(source_ref)
            result = calls.call(
                source,
                target_path,
                request.method,
                headers=headers or None,
                query=dict(request.query) or None,
                json=state.body
                if request.method in ("POST", "PUT", "PATCH") and state.body is not None
                else None,
            )
        except NotFound:
            raise BadRequest(f"The source {source_ref!r} does not exist", field="targetId") from None
        finally:
            calls.close()
        try:
            body = orjson.loads(result.content or result.body) if (result.content or result.body) else None
        except orjson.JSONDecodeError:
            state.raw = (
                result.content or result.body.encode(),
                result.headers.get("content-type", "text/plain"),
            )
            body = None
        return result.status_code, body

    # -- helpers the rules share ----------------------------------------------------

    def _map(self, mapping: Any, value: Any) -> Any:
        return self.mappings.execute_mapping(mapping, value if isinstance(value, dict) else {"value": value})

    def _map_each(self, mapping: Any, body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("results"), list):
            return {**body, "results": [self._map(mapping, item) for item in body["results"]]}
        if isinstance(body, list):
            return [self._map(mapping, item) for item in body]
        return self._map(mapping, body)

    def check_unlocked(self, object_id: str, holder: str | None) -> None:
        """423 when another holder locked the object (a ``locking`` rule)."""
        from sqlalchemy import select

        from ..store import tables as t

        with self.context.db.connect() as conn:
            row = conn.execute(
                select(t.locks.c.holder, t.locks.c.expires).where(
                    t.locks.c.name == f"object:{str(object_id).lower()}", t.locks.c.expires >= now_iso()
                )
            ).first()
        if row is not None and row.holder != (holder or "anonymous"):
            raise Locked(
                f"Object {object_id} is locked until {row.expires}", id=str(object_id), until=row.expires
            )


class _State:
    """What rules read and change while one request is served."""

    def __init__(self, request: Request, params: dict[str, Any]) -> None:
        self.request = request
        self.params = params
        self.body = request.body
        self.consumer: str | None = None
        self.saved: Any = None
        self.created = False
        self.lock: dict[str, Any] | None = None
        self.status = 200
        self.raw: tuple[bytes, str] | None = None

    def logic_data(self) -> dict[str, Any]:
        parameters: dict[str, Any] = {}
        for key, value in self.request.query:
            parameters[key] = value
        parameters.update(self.params)
        return {
            "parameters": parameters,
            "headers": self.request.headers,
            "body": self.body,
            "path": self.request.path,
            "method": self.request.method,
            "consumer": self.consumer,
            "utility": {"currentDate": utcnow().isoformat()},
        }


def _parse_body(body: Any) -> Any:
    if isinstance(body, bytes | bytearray | memoryview):
        raw = bytes(body)
        if len(raw) > max_body():
            raise Answer(
                413,
                {"error": "Payload Too Large", "message": f"The body is larger than {max_body()} bytes"},
            )
        if not raw.strip():
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(
                f"Malformed JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                line=exc.lineno,
                column=exc.colno,
            ) from None
    if isinstance(body, str):
        return _parse_body(body.encode())
    return body


def max_body() -> int:
    import os

    try:
        return int(os.environ.get("OPENCONNECTOR_ENDPOINT_MAX_BODY") or MAX_BODY)
    except ValueError:
        return MAX_BODY


def _require_object(body: Any) -> None:
    if not isinstance(body, dict):
        raise BadRequest(
            "The body must be a JSON object" + ("" if body is None else f", got {type(body).__name__}")
        )


def _paginated(page: dict[str, Any], request: Request) -> dict[str, Any]:
    """The register's page with ``total`` renamed ``count`` and ``next``/``previous`` URLs."""
    current, pages = page["page"], page["pages"]
    rest = [(k, v) for k, v in request.query if k not in ("_page", "page")]

    def link(number: int) -> str:
        return f"{request.url}?{urlencode([*rest, ('_page', str(number))])}"

    return {
        "count": page["total"],
        "next": link(current + 1) if current < pages and page["limit"] else None,
        "previous": link(current - 1) if current > 1 else None,
        "results": page["results"],
        "page": current,
        "pages": pages,
        "limit": page["limit"],
        "offset": page["offset"],
    }


def to_xml(body: Any, root: str = "response") -> bytes:
    """A JSON answer as XML, for ``Accept: application/xml``: objects become elements,
    lists repeat ``item``, names that are not XML names become ``item`` with a ``key``."""
    import re
    from xml.etree.ElementTree import Element, SubElement, tostring

    name_ok = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")

    def fill(element: Element, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                key = str(key)
                if name_ok.match(key) and not key.lower().startswith("xml"):
                    child = SubElement(element, key)
                else:
                    child = SubElement(element, "item", key=key)
                fill(child, item)
        elif isinstance(value, list):
            for item in value:
                fill(SubElement(element, "item"), item)
        elif value is None:
            element.set("nil", "true")
        elif isinstance(value, bool):
            element.text = "true" if value else "false"
        else:
            element.text = str(value)

    top = Element(root)
    fill(top, body)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + tostring(
        top, encoding="utf-8", xml_declaration=False
    )
