"""What each create/update route accepts, as JSON Schema: checked at the edge and documented.

One schema per body serves twice: :func:`checked` refuses a body of the wrong
shape with a 400 that names each property (``schemas: must be array, got
string``) before any service reads it — a string where a list belongs is never
read letter by letter — and :func:`body` puts the same schema in the OpenAPI
document as the route's request body, so the documentation, the fuzzer
(``tests/security/test_openapi_fuzz.py``) and the check can never disagree.

The schemas say what the type of each known property must be and which are
required; anything else a client sends is kept (the original apps store
unknown properties too). Entity bodies come from the built-in register's own
schemas (``register/builtin.py``), so an entity's shape is written down once.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import orjson
from jsonschema import Draft202012Validator

from ..catalog.themes import THEMES
from ..errors import BadRequest
from ..register.builtin import BUILTIN_SCHEMAS, CATALOG_SCHEMA

_ID = {"type": ["integer", "string"]}
_TEXT = {"type": "string", "minLength": 1}
_STR = {"type": "string"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": True}
    if required:
        schema["required"] = required
    return schema


def _optional(schema: dict[str, Any]) -> dict[str, Any]:
    """The same body for PATCH: nothing required."""
    out = copy.deepcopy(schema)
    out.pop("required", None)
    return out


REGISTER = _object(
    {
        "title": _TEXT,
        "slug": _STR,
        "description": _STR,
        "version": _STR,
        "schemas": {"type": "array", "items": _ID, "description": "Schema ids, uuids or slugs"},
    },
    ["title"],
)

SCHEMA = _object(
    {
        "title": _TEXT,
        "slug": _STR,
        "description": _STR,
        "version": _STR,
        "register": _ID,
        "properties": {
            "type": "object",
            "additionalProperties": {"type": "object"},
            "description": "Property name to JSON Schema",
        },
        "required": {"type": "array", "items": _STR, "uniqueItems": True},
    },
    ["title"],
)

REGISTER_PATCH = _optional(REGISTER)
SCHEMA_PATCH = _optional(SCHEMA)

_THEME_CODES = sorted(THEMES)
CATALOG = _object(
    {
        **{k: v for k, v in CATALOG_SCHEMA["properties"].items() if k not in ("registers", "schemas")},
        "title": {"type": "string", "pattern": r"\S"},
        "slug": {"type": "string"},
        "registers": {"type": "array", "items": _ID},
        "schemas": {"type": "array", "items": _ID},
        "defaultTheme": {"type": "string"},
        "themeMapping": {"type": "object", "additionalProperties": {"type": "string"}},
        "contactPoint": {"type": ["object", "string"]},
        "published": {"type": "string", "format": "date-time"},
    },
    ["title"],
)
CATALOG_PATCH = _optional(CATALOG)


def _with_theme_codes(schema: dict[str, Any]) -> dict[str, Any]:
    """What the document promises: themes as EU codes, slugs in their pattern. The
    service also takes theme labels, aliases and URIs in any case (``lookup_theme``),
    which JSON Schema cannot spell, so the check is "a string" and the service names
    a bad value in its own words (400)."""
    out = copy.deepcopy(schema)
    theme = {
        "type": "string",
        "enum": _THEME_CODES,
        "description": "EU data theme code (labels and URIs work too)",
    }
    out["properties"]["slug"] = {"type": "string", "pattern": r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$"}
    out["properties"]["defaultTheme"] = theme
    out["properties"]["themeMapping"] = {"type": "object", "additionalProperties": theme}
    return out


#: The documented catalog bodies (a subset of what the check accepts).
CATALOG_DOC = _with_theme_codes(CATALOG)
CATALOG_PATCH_DOC = _with_theme_codes(CATALOG_PATCH)


def _entity(kind: str) -> dict[str, Any]:
    schema = BUILTIN_SCHEMAS[kind]
    return _object(copy.deepcopy(schema["properties"]), list(schema.get("required") or []))


#: Entity bodies by kind (``source``, ``mapping``...), from the built-in register's schemas.
ENTITIES = {kind: _entity(kind) for kind in BUILTIN_SCHEMAS}
ENTITY_PATCHES = {kind: _optional(schema) for kind, schema in ENTITIES.items()}


def _entity_doc(kind: str, schema: dict[str, Any]) -> dict[str, Any]:
    """What the document promises for an entity: the check's schema, narrowed where the
    service accepts only some strings (job classes, HTTP methods) or numbers (intervals).
    Everything the document calls valid passes the check and the service."""
    out = copy.deepcopy(schema)
    props = out["properties"]
    if kind == "job":
        from ..jobs.runner import ACTIONS

        props["jobClass"] = {"enum": sorted(ACTIONS), "description": "The action to run"}
        props["interval"] = {
            "type": "integer",
            "minimum": 1,
            "description": "Seconds (a cron text works too)",
        }
    if kind == "endpoint":
        from ..connector.endpoint_checks import METHODS, TARGET_TYPES

        props["method"] = {"enum": list(METHODS)}
        props["targetType"] = {"enum": list(TARGET_TYPES)}
    return out


ENTITY_DOCS = {kind: _entity_doc(kind, schema) for kind, schema in ENTITIES.items()}
ENTITY_PATCH_DOCS = {kind: _entity_doc(kind, schema) for kind, schema in ENTITY_PATCHES.items()}

OBJECT = {"type": "object", "additionalProperties": True, "description": "An object of the schema"}

MAPPING_TEST = _object(
    {
        "mapping": {"type": "object", "description": "A mapping object, or its rules alone"},
        "inputObject": {"type": ["object", "array"]},
        "schema": _ID,
        "validation": {"type": "boolean"},
    },
    ["mapping", "inputObject"],
)

SOURCE_TEST = _object(
    {
        "endpoint": _STR,
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "get", "post"]},
        "headers": {"type": "object", "additionalProperties": _STR},
        "query": {"type": "object"},
        "body": {},
        "type": _STR,
    }
)

ENDPOINT_TEST = _object(
    {
        "method": {"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]},
        "path": _STR,
        "headers": {"type": "object", "additionalProperties": _STR},
        "query": {"type": "object"},
        "body": {},
    }
)

#: ``openapi_extra`` of a file upload (multipart field ``file``).
FILE_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            }
        },
    }
}

RUN = _object({"test": {"type": ["boolean", "string"]}, "force": {"type": ["boolean", "string"]}})

SCHEDULE = _object(
    {
        "interval": {
            "type": ["number", "string"],
            "exclusiveMinimum": 0,
            "pattern": r"^\s*0*[1-9][0-9]*(\.[0-9]+)?\s*$",
            "description": "Seconds",
        },
        "cron": {"type": "string", "pattern": r"^\s*[0-9*/,-]+(\s+[0-9A-Za-z*/,?#LW-]+){4}\s*$"},
        "isEnabled": {"type": "boolean"},
        "force": {"type": "boolean"},
    }
)
SCHEDULE["not"] = {"required": ["interval", "cron"], "description": "interval or cron, not both"}


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` for a route: its JSON request body."""
    return {
        "requestBody": {
            "required": required,
            "content": {"application/json": {"schema": schema}},
        }
    }


@functools.cache
def _validator(key: bytes) -> Draft202012Validator:
    return Draft202012Validator(orjson.loads(key))


def checked(data: Any, schema: dict[str, Any]) -> Any:
    """``data`` when it has the shape ``schema`` describes; else a 400 naming each property."""
    validator = _validator(orjson.dumps(schema, option=orjson.OPT_SORT_KEYS))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if not errors:
        return data
    found = []
    for error in errors[:20]:
        where = ".".join(str(p) for p in error.absolute_path)
        if error.validator == "required":
            missing = error.message.split("'")[1] if "'" in error.message else ""
            where = ".".join(filter(None, [where, missing]))
            message = "is required"
        elif error.validator == "type":
            wanted = error.validator_value
            wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
            message = f"must be {wanted}, got {_json_type(error.instance)}"
        else:
            message = error.message
        found.append({"property": where or None, "message": message})
    summary = "; ".join(f"{e['property'] or 'body'}: {e['message']}" for e in found[:5])
    first = found[0]["property"]
    raise BadRequest(f"The body is not valid: {summary}", property=first, errors=found)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    "required": ["error", "message"],
    "additionalProperties": True,
}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error statuses a route (or a router) can answer."""
    text = {
        304: "Not modified since the ETag or date given",
        400: "The request is not valid; the message names what and where",
        401: "Login required (HTTP Basic) or wrong credentials",
        403: "Not allowed (a browser session without its CSRF token, or not an admin)",
        404: "Not found",
        406: "None of the accepted formats can be produced",
        409: "Conflicts with the current state (already exists, running, in use)",
        413: "The body (a file) is larger than the configured limit",
        429: "Too many failed logins; see Retry-After",
        502: "The source answered with an error or could not be reached",
    }
    out: dict[int | str, dict[str, Any]] = {}
    for code in codes:
        entry: dict[str, Any] = {"description": text.get(code, "Error")}
        if code != 304:
            entry["content"] = {"application/json": {"schema": ERROR}}
        out[code] = entry
    return out


#: What every route behind login can answer besides success.
ADMIN_ERRORS = answers(400, 401, 403, 404, 409, 429)
