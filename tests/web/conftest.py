"""Fixtures for UI tests: the real app in-process, logged in through the login form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openconnector.api.app import create_app
from openconnector.context import Context

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient that behaves like a user: reads the CSRF token from pages, posts forms."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.client.get(path, **kwargs)
        if match := _CSRF.search(response.text):
            self.csrf = match.group(1)
        return response

    def post(
        self,
        path: str,
        data: dict[str, Any] | list[tuple[str, str]] | None = None,
        *,
        csrf: bool = True,
        **kwargs: Any,
    ) -> Any:
        if not self.csrf:
            self.get("/login")
        items = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            items.append(("csrf_token", self.csrf))
        kwargs.setdefault("follow_redirects", False)
        response = self.client.post(
            path,
            content=_encode(items),
            headers={"content-type": "application/x-www-form-urlencoded", **kwargs.pop("headers", {})},
            **kwargs,
        )
        if match := _CSRF.search(response.text):
            self.csrf = match.group(1)
        return response

    def login(self, username: str = "admin", password: str = "admin") -> Any:
        self.get("/login")
        response = self.post("/login", {"username": username, "password": password})
        if response.status_code == 303:
            self.get("/")  # a new session has a new CSRF token
        return response


def _encode(items: list[tuple[str, Any]]) -> str:
    from urllib.parse import urlencode

    return urlencode([(k, str(v)) for k, v in items])


@pytest.fixture
def anonymous(context: Context) -> Iterator[Browser]:
    """A visitor without a session."""
    with TestClient(create_app(context), raise_server_exceptions=False) as client:
        yield Browser(client)


@pytest.fixture
def browser(anonymous: Browser) -> Browser:
    """A visitor logged in as admin through the login form."""
    assert anonymous.login().status_code == 303
    return anonymous


@pytest.fixture
def dcat(context: Context, make_dcat: Any) -> Context:
    """The tutorial's DCAT register with its Dataset schema (Parts 1 to 3)."""
    return make_dcat(context)
