"""Promise: the browser is told to refuse what the service never does, and the files
on disk are the owner's alone.

UI pages and API answers carry a Content-Security-Policy without inline script,
refuse framing, keep their URL from other sites; the session cookie is ``Secure``
whenever the browser came over HTTPS; the SQLite database and its WAL are mode
0600 like the key files; ``/health`` tells anonymous visitors only that the
service is up.
"""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from openconnector.api.app import create_app
from openconnector.context import Context
from openconnector.store.settings import Settings

TEMPLATES = Path(__file__).parents[2] / "src" / "openconnector" / "web" / "templates"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csp(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    policy = response.headers.get("content-security-policy", "")
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/login", "/index.php/apps/opencatalogi/api/catalogi", "/health"])
def test_every_response_forbids_framing_inline_script_and_referrer_leaks(context, path: str) -> None:
    with TestClient(create_app(context), raise_server_exceptions=False) as client:
        response = client.get(path)
    assert response.status_code == 200
    policy = _csp(response)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"  # no 'unsafe-inline', no 'unsafe-eval'
    assert "unsafe" not in response.headers["content-security-policy"]
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_logged_in_pages_carry_the_policy_too(browser_client) -> None:
    for path in ("/", "/sources", "/mappings", "/synchronizations", "/logs", "/registers"):
        response = browser_client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path


def test_no_template_needs_inline_script_style_or_handlers() -> None:
    offending = []
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)",
            r"<style",
            r"\sstyle=",
            r"\son[a-z]+=",
            r"javascript:",
            r"hx-on",
        ):
            if re.search(pattern, text, re.IGNORECASE):
                offending.append(f"{template.name}: {pattern}")
    assert offending == []


@pytest.fixture
def browser_client(context: Context):  # type: ignore[no-untyped-def]
    with TestClient(create_app(context), raise_server_exceptions=False) as client:
        token = _CSRF.search(client.get("/login").text).group(1)
        login = {"username": "admin", "password": "admin", "csrf_token": token}
        assert client.post("/login", data=login, follow_redirects=False).status_code == 303
        yield client


def _login_cookie(context: Context, **client_options) -> str:  # type: ignore[no-untyped-def]
    with TestClient(create_app(context), raise_server_exceptions=False, **client_options) as client:
        token = _CSRF.search(client.get("/login").text).group(1)
        login = {"username": "admin", "password": "admin", "csrf_token": token}
        response = client.post("/login", data=login, follow_redirects=False)
        assert response.status_code == 303
        return response.headers["set-cookie"]


def test_the_session_cookie_is_secure_over_https(context: Context) -> None:
    cookie = _login_cookie(context, base_url="https://testserver")
    assert re.search(r";\s*secure", cookie, re.IGNORECASE), cookie
    assert re.search(r";\s*httponly", cookie, re.IGNORECASE), cookie


def test_the_session_cookie_is_secure_behind_a_tls_proxy(context: Context) -> None:
    with TestClient(create_app(context), raise_server_exceptions=False) as client:
        # The session (holding the login form's CSRF token) starts on the first page.
        cookie = client.get("/login", headers={"X-Forwarded-Proto": "https"}).headers["set-cookie"]
    assert re.search(r";\s*secure", cookie, re.IGNORECASE), cookie


def test_the_session_cookie_still_works_over_plain_http_on_localhost(context: Context) -> None:
    cookie = _login_cookie(context)
    assert not re.search(r";\s*secure", cookie, re.IGNORECASE), cookie


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_wal_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_password="admin", secret_key="k", scheduler=False)
    context = Context(settings)
    try:
        with TestClient(create_app(context), raise_server_exceptions=False) as client:
            body = {"name": "Files", "location": "https://example.org"}
            assert client.post(
                "/index.php/apps/openconnector/api/sources", json=body, auth=("admin", "admin")
            ).status_code in (200, 201)
            database = settings.data_dir / "openconnector.db"
            files = [database, Path(f"{database}-wal")]
            assert all(f.exists() for f in files)
            assert {f.name: oct(_mode(f)) for f in files} == {f.name: oct(0o600) for f in files}
    finally:
        context.close()


def test_an_existing_database_readable_by_others_is_narrowed_on_start(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", admin_password="admin", secret_key="k", scheduler=False)
    Context(settings).close()
    database = settings.data_dir / "openconnector.db"
    database.chmod(0o644)
    Context(settings).close()
    assert _mode(database) == 0o600


def test_health_does_not_tell_anonymous_visitors_the_version(client) -> None:
    anonymous = client.get("/health", auth=None)
    assert anonymous.status_code == 200
    assert anonymous.json() == {"status": "ok"}
    wrong = client.get("/health", auth=("admin", "wrong"))
    assert wrong.json() == {"status": "ok"}
    admin = client.get("/health")
    assert admin.json()["status"] == "ok" and admin.json()["version"]
