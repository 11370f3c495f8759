"""Checks for submitted form values, each returning a message for beside the field.

Pages collect these into ``errors = {field name: message}`` and re-render the
form with the user's input, so nothing typed is lost on a mistake.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from ..errors import OpenConnectorError, ValidationFailed


def check_name(value: str) -> str | None:
    if not value:
        return "Give it a name."
    if len(value) > 255:
        return f"A name has at most 255 characters, this one has {len(value)}."
    return None


def check_choice(value: str, choices: tuple[str, ...] | list[str], what: str) -> str | None:
    if value not in choices:
        return f"Choose a {what}: one of {', '.join(c for c in choices if c) or 'the list'}."
    return None


def check_url(value: str) -> str | None:
    """An absolute http(s) URL, or nothing."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"Enter a full http:// or https:// address; {value!r} is not one."
    return None


def parse_json(value: str, what: str = "value", *, want: type | None = None) -> tuple[Any, str | None]:
    """``(parsed, None)`` or ``(None, message)``; an empty string is ``None``."""
    if not value.strip():
        return None, None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as exc:
        return None, f"The {what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    if want is not None and not isinstance(parsed, want):
        kind = "an object ({...})" if want is dict else "a list ([...])" if want is list else want.__name__
        return None, f"The {what} must be {kind}."
    return parsed, None


def check_int(value: str, what: str, *, minimum: int = 0) -> tuple[int | None, str | None]:
    if not value:
        return None, None
    try:
        number = int(value)
    except ValueError:
        return None, f"The {what} must be a whole number, not {value!r}."
    if number < minimum:
        return None, f"The {what} must be at least {minimum}."
    return number, None


def service_errors(exc: OpenConnectorError, default_field: str = "") -> dict[str, str]:
    """A service's error as form errors: per property for validation, else on one field."""
    if isinstance(exc, ValidationFailed):
        out: dict[str, str] = {}
        for item in exc.errors:
            out.setdefault(str(item.get("property") or default_field), str(item.get("message")))
        return out
    prop = exc.details.get("property") if isinstance(exc.details, dict) else None
    return {str(prop or default_field): exc.message}


def only_errors(checks: dict[str, str | None]) -> dict[str, str]:
    """``{field: message}`` of the checks that failed (``check_*`` return None when fine)."""
    return {field: message for field, message in checks.items() if message}
