"""Promise: a UI session ends when the user logs out, when their password changes,
when the user is removed, or when an admin revokes it. A copy of the session
cookie taken before that moment is refused afterwards, by the pages and by the API.

An admin can list the open sessions (REST ``GET .../api/sessions``, CLI
``openconnector user sessions``) and end them (``DELETE .../api/sessions/{id}``,
``openconnector user revoke ID`` or ``--all USER``).
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from openconnector.api.app import create_app
from openconnector.cli import app as cli
from openconnector.store.users import UserService
from openconnector.web.session import COOKIE

API = "/index.php/apps/openconnector/api"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login(client: TestClient, username: str = "admin", password: str = "admin") -> str:
    token = _CSRF.search(client.get("/login").text).group(1)
    response = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return client.cookies.get(COOKIE)


def _replay(app, cookie: str) -> tuple[int, int]:
    """(status of the dashboard page, status of an API read) with only ``cookie``."""
    with TestClient(app, raise_server_exceptions=False) as thief:
        thief.cookies.set(COOKIE, cookie)
        page = thief.get("/", follow_redirects=False).status_code
        api = thief.get(f"{API}/sources").status_code
    return page, api


@pytest.fixture
def app(any_context):
    application = create_app(any_context)  # creates admin first
    UserService(any_context.db).add("bob", "bob-password-1")
    return application


def test_a_live_session_works(app):
    with TestClient(app) as client:
        cookie = _login(client)
    assert _replay(app, cookie) == (200, 200)


def test_cookie_replayed_after_logout_is_refused(app):
    with TestClient(app) as client:
        cookie = _login(client)
        token = _CSRF.search(client.get("/").text).group(1)
        assert client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert _replay(app, cookie) == (303, 401)


def test_cookie_replayed_after_password_change_is_refused(app, any_context):
    with TestClient(app) as client:
        cookie = _login(client, "bob", "bob-password-1")
    assert _replay(app, cookie) == (200, 200)
    UserService(any_context.db).set_password("bob", "bob-password-2")
    assert _replay(app, cookie) == (303, 401)


def test_cookie_replayed_after_the_user_is_removed_is_refused(app, any_context):
    with TestClient(app) as client:
        cookie = _login(client, "bob", "bob-password-1")
    UserService(any_context.db).remove("bob")
    assert _replay(app, cookie) == (303, 401)
    with TestClient(app) as client:
        assert client.get(f"{API}/sources", auth=("bob", "bob-password-1")).status_code == 401


def test_admin_lists_and_revokes_sessions_over_rest(app):
    with TestClient(app) as bob:
        bob_cookie = _login(bob, "bob", "bob-password-1")
    with TestClient(app, raise_server_exceptions=False) as admin:
        admin.auth = ("admin", "admin")
        listed = admin.get(f"{API}/sessions", params={"user": "bob"}).json()
        assert listed["total"] == 1
        session = listed["results"][0]
        assert session["user"] == "bob" and session["address"]
        assert bob_cookie not in str(listed)  # the token is never shown
        assert admin.delete(f"{API}/sessions/{session['id']}").status_code == 200
        assert admin.get(f"{API}/sessions", params={"user": "bob"}).json()["total"] == 0
        assert admin.delete(f"{API}/sessions/{session['id']}").status_code == 404
    assert _replay(app, bob_cookie) == (303, 401)


def test_sessions_are_listed_and_revoked_from_the_cli(app, any_context):
    with TestClient(app) as client:
        cookie = _login(client, "bob", "bob-password-1")
    runner = CliRunner()
    args = ["--data-dir", str(any_context.settings.data_dir)]
    if any_context.settings.database_url:
        args += ["--database-url", any_context.settings.database_url]
    listed = runner.invoke(cli, ["user", "sessions", "bob", *args])
    assert listed.exit_code == 0, listed.output
    session_id = re.search(r"^\S*\s*(\d+)\s.*bob", listed.output, re.M).group(1)
    revoked = runner.invoke(cli, ["user", "revoke", session_id, *args])
    assert revoked.exit_code == 0, revoked.output
    assert "bob" in revoked.output
    assert _replay(app, cookie) == (303, 401)


def test_cli_revokes_every_session_of_a_user(app, any_context):
    cookies = []
    for _ in range(2):
        with TestClient(app) as client:
            cookies.append(_login(client, "bob", "bob-password-1"))
    args = ["--data-dir", str(any_context.settings.data_dir)]
    if any_context.settings.database_url:
        args += ["--database-url", any_context.settings.database_url]
    result = CliRunner().invoke(cli, ["user", "revoke", "--all", "bob", *args])
    assert result.exit_code == 0 and "2 session(s)" in result.output, result.output
    assert all(_replay(app, c) == (303, 401) for c in cookies)


def test_only_admins_see_sessions(app, any_context):
    UserService(any_context.db).add("reader", "reader-password", is_admin=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get(f"{API}/sessions", auth=("reader", "reader-password")).status_code == 403
