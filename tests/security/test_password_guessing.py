"""Promise: password guessing is slowed. After a few wrong passwords for one user
name, or from one address, further attempts get 429 with ``Retry-After`` (before
the password is even checked), for longer each time; once the block is over the
right password works. Whether a user name exists does not show in the time a
wrong password takes.

The throttle's clock is replaced by a fake one, so no test sleeps.
"""

from __future__ import annotations

import re
import statistics
import time

import pytest
from fastapi.testclient import TestClient

from openconnector.api.app import create_app
from openconnector.store.throttle import FREE_PER_ADDRESS, FREE_PER_USER
from openconnector.store.users import UserService

API = "/index.php/apps/openconnector/api/sources"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(context):
    application = create_app(context)
    UserService(context.db).add("bob", "right-password")
    application.state.throttle.clock = FakeClock()
    return application


def _basic(client: TestClient, user: str, password: str):
    return client.get(API, auth=(user, password))


def test_basic_auth_guessing_gets_429_with_growing_retry_after(app):
    clock = app.state.throttle.clock
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(FREE_PER_USER + 1):
            assert _basic(client, "bob", "guess").status_code == 401
        blocked = _basic(client, "bob", "right-password")  # blocked: not even the right one
        assert blocked.status_code == 429
        first = int(blocked.headers["Retry-After"])
        assert first >= 1
        assert blocked.json()["retryAfter"] == first

        clock.now += first + 0.5
        assert _basic(client, "bob", "guess").status_code == 401  # one more wrong try...
        again = _basic(client, "bob", "guess")
        assert again.status_code == 429
        assert int(again.headers["Retry-After"]) > first  # ...blocks for longer

        clock.now += int(again.headers["Retry-After"]) + 0.5
        assert _basic(client, "bob", "right-password").status_code == 200


def test_login_form_guessing_gets_429_with_retry_after(app):
    clock = app.state.throttle.clock
    with TestClient(app, raise_server_exceptions=False) as client:
        token = _CSRF.search(client.get("/login").text).group(1)

        def post(password: str):
            return client.post(
                "/login",
                data={"username": "bob", "password": password, "csrf_token": token},
                follow_redirects=False,
            )

        for _ in range(FREE_PER_USER + 1):
            assert post("guess").status_code == 400
        blocked = post("right-password")
        assert blocked.status_code == 429
        assert "Too many failed logins" in blocked.text
        wait = int(blocked.headers["Retry-After"])
        clock.now += wait + 0.5
        assert post("right-password").status_code == 303


def test_one_address_trying_many_user_names_is_blocked(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        for i in range(FREE_PER_ADDRESS + 1):
            assert _basic(client, f"user{i}", "guess").status_code == 401
        # a user nobody guessed at, from the same address: blocked too
        assert _basic(client, "bob", "right-password").status_code == 429


def test_a_client_that_already_proved_its_password_is_not_locked_out(app):
    with TestClient(app, raise_server_exceptions=False) as client:
        assert _basic(client, "bob", "right-password").status_code == 200
        for _ in range(FREE_PER_USER + 3):
            _basic(client, "bob", "guess")
        assert _basic(client, "bob", "guess").status_code == 429
        # the integration that logged in a moment ago keeps working
        assert _basic(client, "bob", "right-password").status_code == 200


def test_timing_does_not_reveal_whether_a_user_exists(context):
    users = UserService(context.db)
    users.add("carol", "carols-password")

    def took(username: str) -> float:
        start = time.perf_counter()
        assert users.verify(username, "wrong-password") is False
        return time.perf_counter() - start

    known, unknown = [], []
    for i in range(7):
        known.append(took("carol"))
        unknown.append(took(f"nobody-{i}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    # both pay one argon2 verification (tens of ms); without the dummy hash an
    # unknown name answers in a fraction of a millisecond (ratio near 0)
    assert 0.4 < ratio < 2.5, (known, unknown)
