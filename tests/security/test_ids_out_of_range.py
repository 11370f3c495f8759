"""Promise: an id nobody could have (2^63 and beyond, negative, absurdly long, not
ASCII digits) answers 404 or 400 on every route that takes one, for anonymous and
admin users alike, and never a 500 with a traceback in the log.

The routes are enumerated from the application itself, so a route added later is
covered without touching this file.
"""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from openconnector.api.app import create_app

BAD_IDS = [
    str(2**63),  # one past the largest BIGINT
    str(2**64 + 5),
    "9" * 40,  # absurdly long number
    "-1",
    "-" + str(2**63 + 1),
    "0",
    "1" * 5000,  # absurdly long
    "\u0661\u0662",  # Arabic-Indic digits: str.isdigit() says yes, SQL does not
    "\u00b2",  # superscript two: isdigit() but int() fails
]

_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _routes(app) -> list[tuple[str, str, list[str]]]:
    """(method, path template, parameter names) of every route with a path parameter."""
    found = []
    for route in iter_route_contexts(app.routes):
        if "{" not in route.path:
            continue
        params = _PARAM.findall(route.path)
        for method in sorted(route.methods or ()):
            if method in ("HEAD", "OPTIONS"):  # HEAD is GET; a CORS preflight answers for any path
                continue
            found.append((method, route.path, params))
    return found


#: Path parameters that name a collection, not an id: every collection is tried.
COLLECTIONS = {"segment": ["sources", "mappings", "synchronizations", "jobs", "endpoints", "rules"]}


def _fill(path: str, bad: str) -> list[str]:
    """The path with ``bad`` in each id parameter in turn (the others a plausible value)."""
    params = _PARAM.findall(path)
    paths = []
    for target in params:
        if target in COLLECTIONS:
            continue
        for collection in COLLECTIONS["segment"] if "segment" in params else [None]:
            values = {p: bad if p == target else "1" for p in params}
            if collection:
                values["segment"] = collection
            filled = _PARAM.sub(lambda m, v=values: v[m.group(1)], path)
            paths.append(filled)
    return paths


@pytest.fixture
def cases(any_context):
    app = create_app(any_context)
    result = []
    for method, template, _ in _routes(app):
        for bad in BAD_IDS:
            for path in _fill(template, bad):
                result.append((method, path))
    assert len(result) > 200, "the app's id routes were not found"
    return app, result


def _check(client: TestClient, cases, allowed: set[int], caplog) -> None:
    failures = []
    for method, path in cases:
        kwargs = {}
        if method in ("POST", "PUT", "PATCH"):
            kwargs["json"] = {}
        response = client.request(method, path, follow_redirects=False, **kwargs)
        if response.status_code not in allowed:
            failures.append(f"{method} {path[:80]} -> {response.status_code}")
    tracebacks = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not failures, "\n".join(failures[:40])
    assert not tracebacks, [r.getMessage() for r in tracebacks[:5]]


def _is_api(path: str) -> bool:
    return path.startswith(("/index.php/", "/apps/"))


def test_admin_gets_404_or_400_for_ids_out_of_range(cases, caplog):
    app, paths = cases
    paths = [(m, p) for m, p in paths if _is_api(p)]
    with TestClient(app, raise_server_exceptions=False) as client:
        client.auth = ("admin", "admin")
        caplog.set_level(logging.WARNING)
        # 409/200 never for ids nobody has; UI pages answer their not-found page (404)
        # or, for a form post, the 404 of the thing it would change.
        _check(client, paths, {400, 404}, caplog)


def test_ui_session_gets_404_or_400_for_ids_out_of_range(cases, caplog):
    app, paths = cases
    ui = [(m, p) for m, p in paths if not _is_api(p)]
    assert ui
    with TestClient(app, raise_server_exceptions=False) as client:
        page = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.post("/login", data={"username": "admin", "password": "admin", "csrf_token": token})
        page = client.get("/")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        client.headers["x-csrf-token"] = token
        caplog.set_level(logging.WARNING)
        _check(client, ui, {400, 404}, caplog)


def test_anonymous_gets_no_server_error_for_ids_out_of_range(cases, caplog):
    """Anonymous: the public catalog answers 404/400; admin routes stop at login first."""
    app, paths = cases
    with TestClient(app, raise_server_exceptions=False) as client:
        caplog.set_level(logging.WARNING)
        _check(client, paths, {400, 401, 403, 404, 303}, caplog)
