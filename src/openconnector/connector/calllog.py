"""Call logs: the redacted record of one HTTP exchange (reference §1, CallLog).

Every attempt of every call gets one, refused calls too (with null
``request``/``response``)::

    {"uuid": "...", "statusCode": 200, "statusMessage": "OK",
     "request": {"method": "GET", "url": "https://x/pets?api_key=***", "headers": {"Authorization": "***"}},
     "response": {"statusCode": 200, "statusMessage": "OK", "responseTime": 84.2, "size": 5120,
                  "headers": {"Content-Type": ["application/json"]}, "remoteIp": null},
     "sourceId": 1, "created": "2026-04-15T10:44:03+00:00", "attempt": 1}

``response.body`` (and ``encoding``) only for status >= 400 or ``logBody``,
cut at 64 KiB. Unlike the original, headers, URLs and bodies are redacted.
"""

from __future__ import annotations

import base64
import http
import uuid
from collections.abc import Mapping
from typing import Any

import httpx
import orjson

from openconnector.connector.redaction import redact_headers, redact_text, source_secrets

__all__ = ["MAX_LOGGED_BODY", "build_call_log", "grouped_headers", "header_text", "status_phrase"]

#: Response bodies in call logs are cut here (bytes).
MAX_LOGGED_BODY = 64 * 1024


def status_phrase(status: int) -> str:
    """``404`` → ``"Not Found"``; empty for codes outside the registry."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def grouped_headers(headers: httpx.Headers) -> dict[str, list[str]]:
    """``{Name: [values]}`` with the names as sent (httpx lower-cases ``items()``)."""
    out: dict[str, list[str]] = {}
    for name, value in headers.raw:
        out.setdefault(name.decode("latin-1"), []).append(value.decode("latin-1"))
    return out


def header_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def build_call_log(
    source: Mapping[str, Any],
    *,
    created: str,
    status: int,
    message: str,
    method: str | None = None,
    url: str | None = None,
    request_headers: Mapping[str, Any] | None = None,
    response: httpx.Response | None = None,
    elapsed_ms: float = 0.0,
    body_text: str | None = None,
    error: str | None = None,
    log_body: bool = False,
    attempt: int = 1,
    secrets: list[str] | None = None,
    request_body: Any = None,
) -> dict[str, Any]:
    """A CallLog dict (reference §1), redacted. Refused calls have null request/response."""
    secrets = secrets if secrets is not None else source_secrets(source)
    log: dict[str, Any] = {
        "uuid": str(uuid.uuid4()),
        "statusCode": status,
        "statusMessage": message,
        "request": None,
        "response": None,
        "sourceId": source.get("id"),
        "created": created,
    }
    if method is None:
        return log
    request: dict[str, Any] = {
        "method": method,
        "url": url,
        "headers": {
            name: redact_text(value, secrets)
            for name, value in redact_headers(
                {k: header_text(v) for k, v in (request_headers or {}).items()}
            ).items()
        },
    }
    if log_body and request_body is not None:
        text = request_body if isinstance(request_body, str) else None
        if isinstance(request_body, bytes):
            text = request_body.decode("utf-8", "replace")
        if text is None:
            text = orjson.dumps(request_body).decode()
        request["body"] = redact_text(text[:MAX_LOGGED_BODY], secrets)
    log["request"] = request
    log["attempt"] = attempt
    if response is None:
        log["response"] = {
            "statusCode": status,
            "statusMessage": message,
            "responseTime": round(elapsed_ms, 3),
            "size": 0,
            "headers": {},
            "body": body_text,
            "encoding": "UTF-8",
        }
        if error:
            log["error"] = error
        return log
    grouped = grouped_headers(response.headers)
    content = response.content
    response_log: dict[str, Any] = {
        "statusCode": response.status_code,
        "statusMessage": message,
        "responseTime": round(elapsed_ms, 3),
        "size": len(content),
        "headers": {
            name: [redact_text(v, secrets) for v in values]
            for name, values in redact_headers(grouped).items()
        },
        "remoteIp": response.headers.get("x-real-ip") or response.headers.get("x-forwarded-for"),
    }
    if status >= 400 or log_body:
        response_log.update(_body_for_log(content, secrets))
    log["response"] = response_log
    return log


def _body_for_log(content: bytes, secrets: list[str]) -> dict[str, Any]:
    cut = content[:MAX_LOGGED_BODY]
    try:
        text = cut.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(cut) - 3:  # a multibyte character cut in half
            text = cut[: exc.start].decode("utf-8", "replace")
        else:
            return {"body": base64.b64encode(cut).decode(), "encoding": "base64"}
    out: dict[str, Any] = {"body": redact_text(text, secrets), "encoding": "UTF-8"}
    if len(content) > MAX_LOGGED_BODY:
        out["truncated"] = True
    return out
