"""Jinja2 for the UI: autoescape always on, and helpers that keep source data text.

Everything shown comes, sooner or later, from an external API, so templates
never mark data ``|safe``; :func:`pretty` turns a value into indented JSON
*text* that the template puts, escaped, inside ``<pre>``.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from jinja2 import Environment, FileSystemLoader, pass_context
from starlette.responses import HTMLResponse

from .security import csrf_token

TEMPLATES = Path(__file__).parent / "templates"


def pretty(value: Any) -> str:
    """Indented JSON text of ``value`` (strings that hold JSON are parsed first)."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except (ValueError, TypeError):
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return json.dumps(value, indent=2, ensure_ascii=False, default=str, sort_keys=False)


def short(value: Any, length: int = 80) -> str:
    """A one-line preview of any value, for table cells."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= length else text[: length - 1] + "…"


@pass_context
def when(ctx: Any, value: Any) -> str:
    """An ISO date-time as ``2025-05-01 14:03:07`` in the instance's timezone; anything else as is."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        with contextlib.suppress(ValueError, KeyError):
            moment = moment.astimezone(ZoneInfo(ctx.get("tz") or "UTC"))
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def zip_pairs(values: Any) -> list[tuple[Any, Any]]:
    """``["a", "b"]`` → ``[("a", "a"), ("b", "b")]``: options whose value is their label."""
    return [(v, v) for v in values]


#: Run, job and test states → the badge/result colour class.
_STATUS_CLASSES = {
    "success": "ok",
    "ok": "ok",
    "done": "ok",
    "info": "ok",
    "warning": "warn",
    "interrupted": "warn",
    "error": "bad",
    "failed": "bad",
    "running": "run",
}


def filesize(value: Any) -> str:
    """Bytes for people: ``48213`` -> ``47.1 KB`` (binary units, as file managers show)."""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return ""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def status_class(status: Any) -> str:
    """``ok``, ``warn``, ``bad``, ``run`` or ``none``: one colour per state on every page."""
    return _STATUS_CLASSES.get(str(status or "").lower(), "none")


def _make_env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["pretty"] = pretty
    env.filters["short"] = short
    env.filters["zip_pairs"] = zip_pairs
    env.filters["when"] = when
    env.filters["filesize"] = filesize
    env.globals["status_class"] = status_class
    return env


ENV = _make_env()


def render(
    request: Request,
    template: str,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with the request, the user and the CSRF token at hand."""
    context.setdefault("request", request)
    context.setdefault("user", request.session.get("user"))
    context.setdefault("csrf", csrf_token(request))
    context.setdefault("section", "")
    context.setdefault("tz", request.app.state.context.settings.timezone)
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=headers)
