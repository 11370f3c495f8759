"""Validating objects against their schema, fast.

A schema is compiled once into a :class:`Validator`: a normalising pre-pass
(dates, forgiving empties, as OpenRegister does) and a fastjsonschema function
for the common case. Only when that says "invalid" does the slower ``jsonschema``
(draft 2020-12) run, to list every error with a readable message. Schemas using
2020-12-only keywords go to ``jsonschema`` directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import fastjsonschema
import jsonschema

from ..errors import BadRequest, ValidationFailed
from .dates import CANONICAL, normalise_date, normalise_datetime, parse_datetime

#: Extension keys OpenRegister allows on properties; they are not JSON Schema.
EXTENSION_KEYS = {
    "facetable",
    "authorization",
    "computed",
    "translatable",
    "inversedBy",
    "visible",
    "hideOnCollection",
    "hideOnForm",
    "cascadeDelete",
    "objectConfiguration",
    "x-dcat",
    "order",
}
_NEW_KEYWORDS = {
    "prefixItems",
    "$defs",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "$dynamicRef",
    "$anchor",
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _is_email(value: object) -> bool:
    return not isinstance(value, str) or bool(_EMAIL.match(value))


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or parts.scheme in {"mailto", "urn", "tel", "data"})


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)) and parse_datetime(value, "UTC") is not None


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if CANONICAL.match(value):
        return True
    return len(value) > 10 and "T" in value and parse_datetime(value, "UTC") is not None


FORMATS: dict[str, Callable[[object], bool]] = {
    "email": _is_email,
    "uri": _is_uri,
    "date": _is_date,
    "date-time": _is_datetime,
}

_checker = jsonschema.FormatChecker(formats=())
for _name, _fn in FORMATS.items():
    _checker.checks(_name)(_fn)


def json_schema_of(schema: dict[str, Any]) -> dict[str, Any]:
    """The pure JSON Schema of a stored schema: extension keys removed and
    ``"required": true`` on properties merged into the object's ``required`` list."""
    properties = schema.get("properties") or {}
    required = list(schema.get("required") or [])
    clean: dict[str, Any] = {}
    for name, prop in properties.items():
        if not isinstance(prop, dict):
            raise BadRequest(
                f"Property {name!r} of schema {schema.get('slug')!r} must be an object", property=name
            )
        if prop.get("required") is True and name not in required:
            required.append(name)
        clean[name] = _strip(prop)
    out: dict[str, Any] = {"type": "object", "properties": clean}
    if required:
        out["required"] = required
    for key in ("additionalProperties", "allOf", "anyOf", "oneOf", "$defs", "definitions"):
        if key in schema:
            out[key] = schema[key]
    return out


def _strip(prop: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in prop.items():
        if key in EXTENSION_KEYS or (key == "required" and isinstance(value, bool)):
            continue
        if key == "properties" and isinstance(value, dict):
            value = {k: _strip(v) if isinstance(v, dict) else v for k, v in value.items()}
        elif key == "items" and isinstance(value, dict):
            value = _strip(value)
        out[key] = value
    return out


def _uses_new_keywords(node: Any) -> bool:
    if isinstance(node, dict):
        return any(k in _NEW_KEYWORDS for k in node) or any(_uses_new_keywords(v) for v in node.values())
    if isinstance(node, list):
        return any(_uses_new_keywords(v) for v in node)
    return False


class Validator:
    """Normalises and validates objects of one schema."""

    def __init__(self, schema: dict[str, Any], timezone: str) -> None:
        self.timezone = timezone
        self.hard = schema.get("hardValidation", True) is not False
        self.schema = json_schema_of(schema)
        self.required = set(self.schema.get("required", []))
        props = self.schema["properties"]
        self.datetime_props = [n for n, p in props.items() if p.get("format") == "date-time"]
        self.date_props = [n for n, p in props.items() if p.get("format") == "date"]
        self.optional_props = [n for n in props if n not in self.required]
        try:
            self._slow = jsonschema.Draft202012Validator(self.schema, format_checker=_checker)
            jsonschema.Draft202012Validator.check_schema(self.schema)
        except jsonschema.SchemaError as exc:
            raise BadRequest(
                f"The schema is not valid JSON Schema: {exc.message}", path="/".join(str(p) for p in exc.path)
            ) from None
        self._fast: Callable[[Any], Any] | None = None
        if not _uses_new_keywords(self.schema):
            try:
                self._fast = fastjsonschema.compile(self.schema, formats=dict(FORMATS))
            except Exception:  # an exotic schema: the slow validator handles it
                self._fast = None

    def normalise(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Dates to canonical form; empty optional values dropped (OpenRegister's forgiving pre-pass)."""
        tz = self.timezone
        for name in self.datetime_props:
            value = obj.get(name)
            if value is not None:
                obj[name] = None if value == "" else normalise_datetime(value, tz)
        for name in self.date_props:
            value = obj.get(name)
            if value is not None:
                obj[name] = None if value == "" else normalise_date(value, tz)
        for name in self.optional_props:
            if name in obj:
                value = obj[name]
                if value is None or value == "" or value == []:
                    del obj[name]
        return obj

    def errors(self, obj: dict[str, Any]) -> list[dict[str, Any]]:
        """Every error, as ``[{property, message}]``; empty when valid."""
        if not self.hard:
            return []
        if self._fast is not None:
            try:
                self._fast(obj)
                return []
            except fastjsonschema.JsonSchemaValueException as exc:
                first = exc
        else:
            first = None
        found = [_describe(e) for e in sorted(self._slow.iter_errors(obj), key=lambda e: list(e.path))]
        if not found and first is not None:
            prop = ".".join(str(p) for p in first.path[1:]) or None
            found = [{"property": prop, "message": first.message.replace("data.", "", 1)}]
        return found[:100]

    def validate(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Normalise then validate; raises :class:`ValidationFailed` listing each property."""
        self.normalise(obj)
        errors = self.errors(obj)
        if errors:
            raise ValidationFailed(errors)
        return obj


def _describe(error: jsonschema.ValidationError) -> dict[str, Any]:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return {
            "property": ".".join([*path, missing]),
            "message": f"The required property ({missing}) is missing",
        }
    prop = ".".join(path) or None
    if error.validator == "format":
        message = f"{error.instance!r} is not a valid {error.validator_value}"
    else:
        message = error.message
    return {"property": prop, "message": message}
