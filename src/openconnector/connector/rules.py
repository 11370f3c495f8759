"""Rules: the steps an endpoint runs around its target.

Rules run in ``order`` for their ``timing`` (``before`` the target, ``after`` it on the
answer), each only when its ``conditions`` (JSON Logic over ``{parameters, headers,
body, path, method, consumer}``) hold. A rule that answers (``authentication`` that
fails, ``error``, ``synchronization`` without ``retainResponse``) ends the request.

    authentication  {"authentication": {"type": "apikey"|"basic"|"jwt", "consumers": [...],
                     "keys": [...], "header": "Authorization"}}
    error           {"error": {"code": 403, "name": "Forbidden", "message": "...",
                     "includeJsonLogicResult": false}}
    mapping         {"mapping": <mapping id/slug>, "mapResults": false}
    synchronization {"synchronization": <id> | {"synchronization", "retainResponse"},
                     "isTest": false, "force": false,
                     "synchronizationConfig": {"mergeResultToKey": "sync" | "#"}}
    save_object     {"save_object": {"register", "schema", "mapping"?, "patch"?}}
    locking         {"locking": {"action": "lock"|"unlock", "duration": 3600}}
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from ..errors import BadRequest, NotFound
from .consumer_auth import ConsumerRefused, verify_jwt
from .endpoint_checks import AUTH_TYPES

if TYPE_CHECKING:
    from .endpoints import EndpointService, Request, Route, _State


def _truthy(value: Any) -> bool:
    return bool(value) and value not in ("0", "false")


def condition_vars(logic: Any) -> list[str]:
    """The ``{"var": ...}`` names a JSON Logic expression reads, in order, once each."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for op, args in node.items():
                if op == "var":
                    name = args[0] if isinstance(args, list) and args else args
                    if isinstance(name, str) and name not in found:
                        found.append(name)
                else:
                    walk(args)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(logic)
    return found


def evaluate(logic: Any, data: dict[str, Any]) -> Any:
    from json_logic import jsonLogic

    try:
        return jsonLogic(logic, data)
    except Exception as exc:  # a condition that cannot be evaluated is a configuration error
        raise BadRequest(f"The conditions cannot be evaluated: {exc}", conditions=logic) from None


def conditions_failure(logic: Any, data: dict[str, Any]) -> list[Any] | None:
    """``None`` when ``logic`` holds (no conditions, true, or an empty list); else the fields
    it names: a non-empty list the conditions returned, or the variables they read."""
    if logic in (None, {}, [], ""):
        return None
    result = evaluate(logic, data)
    if result is True or result == []:
        return None
    if isinstance(result, list):
        return result
    if _truthy(result) and not isinstance(result, list):
        return None
    return condition_vars(logic)


def _answer(status: int, body: Any, headers: dict[str, str] | None = None) -> Exception:
    from .endpoints import Answer

    return Answer(status, body, headers)


class RuleRunner:
    def __init__(self, service: EndpointService, route: Route, request: Request, state: _State) -> None:
        self.service = service
        self.route = route
        self.request = request
        self.state = state

    def run(self, timing: str) -> None:
        for rule in self.route.rules:
            if (rule.get("timing") or "before") != timing:
                continue
            data = self.state.logic_data()
            if timing == "after":
                data["requestHeaders"] = data["headers"]
            conditions = rule.get("conditions")
            if conditions not in (None, {}, [], ""):
                result = evaluate(conditions, data)
                if not _truthy(result):
                    continue
                self.logic_result = result
            else:
                self.logic_result = None
            handler = getattr(self, "_" + str(rule.get("type")), None)
            if handler is None:  # saved before types were checked: refuse loudly, never skip
                raise BadRequest(f"Rule {rule.get('name')!r} has unknown type {rule.get('type')!r}")
            handler(rule, rule.get("configuration") or {})

    # -- authentication -------------------------------------------------------------

    def _authentication(self, rule: dict[str, Any], config: dict[str, Any]) -> None:
        auth = config.get("authentication") or {}
        kind = str(auth.get("type") or "apikey").lower()
        if kind not in AUTH_TYPES:
            raise _answer(501, {"error": "Not Implemented", "message": f"Authentication type {kind!r}"})
        consumers = self._consumers(auth.get("consumers"))
        if kind == "apikey":
            name = self._apikey(auth, consumers)
        elif kind == "basic":
            name = self._basic(consumers)
        else:
            name = self._jwt(consumers)
        self.state.consumer = name

    def _consumers(self, named: Any) -> list[dict[str, Any]]:
        everyone = self.service.consumers()
        if not named:
            return everyone
        wanted = {str(n) for n in (named if isinstance(named, list) else [named])}
        return [
            c for c in everyone if {str(c.get("id")), c.get("uuid"), c.get("name"), c.get("slug")} & wanted
        ]

    def _refuse(self, reason: str, scheme: str = "Bearer") -> Exception:
        return _answer(
            401,
            {"error": "Unauthorized", "message": reason, "details": reason},
            {"WWW-Authenticate": f'{scheme} realm="openconnector endpoint"'},
        )

    def _allowed(self, consumer: dict[str, Any]) -> str:
        """The consumer's name, after its ``ips`` and ``domains`` allow this request (else 403)."""
        ips = [str(i) for i in consumer.get("ips") or [] if str(i).strip()]
        if ips:
            client = self.request.client or ""
            try:
                address = ipaddress.ip_address(client)
                allowed = any(address in ipaddress.ip_network(i, strict=False) for i in ips)
            except ValueError:
                allowed = client in ips
            if not allowed:
                raise _answer(
                    403,
                    {
                        "error": "Forbidden",
                        "message": f"Consumer {consumer['name']!r} may not call from {client}",
                    },
                )
        domains = [str(d).lower() for d in consumer.get("domains") or [] if str(d).strip()]
        origin = self.request.headers.get("origin") or self.request.headers.get("referer")
        if domains and origin:
            host = (urlparse(origin).hostname or "").lower()
            if not any(host == d or host.endswith("." + d) for d in domains):
                raise _answer(
                    403,
                    {
                        "error": "Forbidden",
                        "message": f"Consumer {consumer['name']!r} may not call from {host}",
                    },
                )
        return str(consumer.get("name"))

    def _apikey(self, auth: dict[str, Any], consumers: list[dict[str, Any]]) -> str:
        header = str(auth.get("header") or "Authorization")
        given = self.request.headers.get(header.lower())
        if not given:
            raise self._refuse(f"Missing API key: send it in the {header} header", "ApiKey")
        for prefix in ("bearer ", "apikey "):
            if given.lower().startswith(prefix):
                given = given[len(prefix) :].strip()
        for key in auth.get("keys") or []:
            if isinstance(key, str) and key and hmac.compare_digest(key.encode(), given.encode()):
                return "rule key"
        for consumer in consumers:
            if str(consumer.get("authorizationType") or "").lower() not in ("apikey", "bearer"):
                continue
            config = consumer.get("authorizationConfiguration") or {}
            for field in ("key", "apiKey", "token"):
                key = config.get(field)
                if isinstance(key, str) and key and hmac.compare_digest(key.encode(), given.encode()):
                    return self._allowed(consumer)
        raise self._refuse("Invalid API key", "ApiKey")

    def _basic(self, consumers: list[dict[str, Any]]) -> str:
        header = self.request.headers.get("authorization", "")
        if header[:6].lower() != "basic ":
            raise self._refuse("Missing Basic credentials in the Authorization header", "Basic")
        try:
            user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise self._refuse("The Authorization header is not valid Basic credentials", "Basic") from None
        for consumer in consumers:
            if str(consumer.get("authorizationType") or "").lower() != "basic":
                continue
            config = consumer.get("authorizationConfiguration") or {}
            if (config.get("username") or consumer.get("name")) != user:
                continue
            stored = config.get("password")
            if isinstance(stored, str) and stored and hmac.compare_digest(stored.encode(), password.encode()):
                return self._allowed(consumer)
        raise self._refuse("Wrong username or password", "Basic")

    def _jwt(self, consumers: list[dict[str, Any]]) -> str:
        header = self.request.headers.get("authorization", "")
        if header[:7].lower() != "bearer ":
            raise self._refuse("Missing JWT: send Authorization: Bearer <token>")
        try:
            consumer = verify_jwt(header[7:].strip(), consumers)
        except ConsumerRefused as exc:
            raise self._refuse(exc.reason) from None
        return self._allowed(consumer)

    # -- the others ---------------------------------------------------------------------

    def _error(self, rule: dict[str, Any], config: dict[str, Any]) -> None:
        from .calllog import status_phrase

        spec = config.get("error") or {}
        code = int(spec.get("code") or 500)
        body: dict[str, Any] = {
            "error": spec.get("name") or status_phrase(code),
            "message": spec.get("message") or f"Refused by rule {rule.get('name')!r}",
        }
        if spec.get("includeJsonLogicResult"):
            body["errors"] = self.logic_result
        raise _answer(code, body)

    def _mapping(self, rule: dict[str, Any], config: dict[str, Any]) -> None:
        ref = config.get("mapping")
        body = self.state.body
        each = config.get("mapResults") or rule.get("action") == "get" or (rule.get("timing") == "after")
        if each and isinstance(body, dict) and isinstance(body.get("results"), list):
            self.state.body = {**body, "results": [self.service._map(ref, r) for r in body["results"]]}
        else:
            self.state.body = self.service._map(ref, body if body is not None else {})

    def _synchronization(self, rule: dict[str, Any], config: dict[str, Any]) -> None:
        from .sync import SynchronizationService

        spec = config.get("synchronization")
        retain = False
        if isinstance(spec, dict):
            retain = bool(spec.get("retainResponse"))
            spec = spec.get("synchronization")
        options = config.get("synchronizationConfig") or {}
        body = self.state.body
        records = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
        if not records:
            raise BadRequest("A synchronization rule needs a JSON object (or a list of them) as the body")
        service = SynchronizationService(self.service.context)
        try:
            result = service.synchronize(
                spec,
                test=_truthy(config.get("isTest")),
                force=_truthy(config.get("force")),
                user=self.state.consumer,
                records=records,
            )
        except NotFound:
            raise BadRequest(f"Rule {rule.get('name')!r}: synchronization {spec!r} does not exist") from None
        finally:
            if service._calls is not None:
                service.calls.close()
        key = options.get("mergeResultToKey")
        if key and isinstance(body, dict):
            self.state.body = {**body, **result} if key == "#" else {**body, str(key): result}
            return
        if retain:
            return
        objects = (result.get("result") or {}).get("objects") or {}
        failed = result.get("status") == "error" or (
            objects.get("invalid") and objects.get("invalid") == objects.get("found")
        )
        raise _answer(400 if failed else 200, result)

    def _save_object(self, rule: dict[str, Any], config: dict[str, Any]) -> None:
        spec = config.get("save_object") or {}
        body = self.state.body
        if spec.get("mapping"):
            body = self.service._map(spec["mapping"], body if body is not None else {})
        if not isinstance(body, dict):
            raise BadRequest("The body must be a JSON object")
        object_id = (
            self._object_id() if spec.get("patch") or self.request.method in ("PUT", "PATCH") else None
        )
        objects = self.service.objects
        if object_id:
            self.service.check_unlocked(object_id, self.state.consumer)
            objects.find(object_id, spec["register"], spec["schema"])
        saved = objects.save_object(
            body,
            spec["register"],
            spec["schema"],
            uuid=object_id,
            owner=self.state.consumer,
            patch=bool(object_id) and bool(spec.get("patch", True)),
        )
        self.state.saved = saved
        self.state.created = not object_id
        self.state.body = saved

    def _locking(self, rule: dict[str, Any], config: dict[str, Any]) -> None:
        from datetime import timedelta

        from ..clock import iso, utcnow
        from ..store.locks import LockService

        spec = config.get("locking") or {}
        object_id = self._object_id()
        if not object_id:
            raise BadRequest("A locking rule needs an object id in the path")
        holder = self.state.consumer or "anonymous"
        name = f"object:{object_id.lower()}"
        locks = LockService(self.service.context.db)
        if spec.get("action", "lock") == "unlock":
            self.service.check_unlocked(object_id, holder)
            locks.release(name, holder)
            self.state.lock = {"id": object_id, "locked": False}
            return
        duration = float(spec.get("duration") or 3600)
        if not locks.acquire(name, holder, duration) and not locks.refresh(name, holder, duration):
            self.service.check_unlocked(object_id, holder)  # raises 423 naming until when
        self.state.lock = {
            "id": object_id,
            "locked": True,
            "holder": holder,
            "until": iso(utcnow() + timedelta(seconds=duration)),
        }

    def _object_id(self) -> str | None:
        params = self.state.params
        if "id" in params:
            return str(params["id"])
        names = self.route.names
        return str(params[names[-1]]) if names and names[-1] in params else None
