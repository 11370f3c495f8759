"""What an endpoint or a rule must look like before it is saved.

A rule of a type nothing can execute, or an endpoint whose pattern can never match,
would fail only when a client calls it; refusing them at save time (400 naming the
field) tells the person configuring them instead.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import BadRequest

#: The rule types the endpoint router executes (see ``connector/rules.py``).
RULE_TYPES = ("authentication", "error", "mapping", "synchronization", "save_object", "locking")
TIMINGS = ("before", "after")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
TARGET_TYPES = ("register/schema", "api", "none")
AUTH_TYPES = ("apikey", "basic", "jwt", "jwt-zgw")

_PARAM = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~\-]+$")


def check_rule(rule: dict[str, Any]) -> None:
    kind = rule.get("type")
    if kind not in RULE_TYPES:
        raise BadRequest(
            f"Unknown rule type {kind!r}; one of {', '.join(RULE_TYPES)}",
            field="type",
            allowed=list(RULE_TYPES),
        )
    timing = rule.get("timing") or "before"
    if timing not in TIMINGS:
        raise BadRequest(f"timing must be 'before' or 'after', got {timing!r}", field="timing")
    config = rule.get("configuration") or {}
    if not isinstance(config, dict):
        raise BadRequest("configuration must be an object", field="configuration")
    if kind == "authentication":
        auth = config.get("authentication") or {}
        auth_type = str(auth.get("type") or "apikey").lower()
        if auth_type not in AUTH_TYPES:
            raise BadRequest(
                f"configuration.authentication.type {auth_type!r} is not supported; "
                f"one of {', '.join(AUTH_TYPES)}",
                field="configuration.authentication.type",
            )
    if kind == "error":
        code = (config.get("error") or {}).get("code", 500)
        if not isinstance(code, int) or not 400 <= code <= 599:
            raise BadRequest(
                f"configuration.error.code must be an HTTP error status (400-599), got {code!r}",
                field="configuration.error.code",
            )
    if kind == "mapping" and not config.get("mapping"):
        raise BadRequest("A mapping rule needs configuration.mapping", field="configuration.mapping")
    if kind == "synchronization" and not config.get("synchronization"):
        raise BadRequest(
            "A synchronization rule needs configuration.synchronization",
            field="configuration.synchronization",
        )
    if kind == "save_object":
        target = config.get("save_object") or {}
        if not isinstance(target, dict) or not target.get("register") or not target.get("schema"):
            raise BadRequest(
                "A save_object rule needs configuration.save_object.register and .schema",
                field="configuration.save_object",
            )
    if kind == "locking":
        action = (config.get("locking") or {}).get("action", "lock")
        if action not in ("lock", "unlock"):
            raise BadRequest(
                "configuration.locking.action must be lock or unlock", field="configuration.locking"
            )


def check_endpoint(endpoint: dict[str, Any]) -> None:
    pattern = endpoint.get("endpoint")
    if pattern not in (None, ""):
        compile_pattern(str(pattern))
    method = endpoint.get("method")
    if method not in (None, "") and str(method).upper() not in METHODS:
        raise BadRequest(f"method must be one of {', '.join(METHODS)}, got {method!r}", field="method")
    target_type = endpoint.get("targetType")
    if target_type not in (None, "") and target_type not in TARGET_TYPES:
        raise BadRequest(
            f"targetType must be one of {', '.join(TARGET_TYPES)}, got {target_type!r}", field="targetType"
        )
    if target_type == "register/schema" and str(endpoint.get("targetId") or "x/y").count("/") != 1:
        raise BadRequest(
            f"targetId must be '<register>/<schema>', got {endpoint['targetId']!r}", field="targetId"
        )


def compile_pattern(pattern: str) -> tuple[re.Pattern[str], list[str], int]:
    """``datasets/{{id}}`` → (regex, parameter names, segment count).

    ``{{x}}`` is one path segment; a trailing one is optional, as in the original.
    """
    segments = [s for s in pattern.strip().strip("/").split("/")]
    if not segments or segments == [""]:
        raise BadRequest("The endpoint pattern is empty", field="endpoint")
    parts: list[str] = []
    names: list[str] = []
    for index, segment in enumerate(segments):
        param = _PARAM.match(segment)
        last = index == len(segments) - 1
        if param:
            names.append(param.group(1))
            group = f"(?P<{param.group(1)}>[^/]+)"
            if last and index > 0:
                parts.append(f"(?:/{group})?")
            else:
                parts.append(("/" if index else "") + group)
        elif _SEGMENT.match(segment):
            parts.append(("/" if index else "") + re.escape(segment))
        else:
            raise BadRequest(
                f"Endpoint pattern segment {segment!r} is neither a path segment nor a {{{{parameter}}}}",
                field="endpoint",
            )
    if len(set(names)) != len(names):
        raise BadRequest("An endpoint pattern names a parameter twice", field="endpoint")
    return re.compile("^" + "".join(parts) + "$"), names, len(segments)
