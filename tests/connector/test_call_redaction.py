"""Secrets never reach call logs, exception messages or reprs (``connector/redaction.py``)."""

from __future__ import annotations

import base64
import socket
from typing import Any

import orjson
import pytest

from openconnector.connector.redaction import (
    redact_headers,
    redact_text,
    redact_url,
    source_secrets,
)
from openconnector.errors import OpenConnectorError


def test_secret_query_parameters_are_redacted_in_urls():
    url = "https://api.example.com/x?api_key=abc123&page=2&access_token=t0k3n&pageSize=5"

    assert redact_url(url) == "https://api.example.com/x?api_key=***&page=2&access_token=***&pageSize=5"


def test_passwords_in_url_userinfo_are_redacted():
    assert redact_url("https://alice:hunter22@api.example.com/") == "https://alice:***@api.example.com/"


def test_credential_headers_are_redacted_by_name():
    headers = {
        "Authorization": "Bearer x",
        "Proxy-Authorization": "Basic y",
        "X-Api-Key": "k",
        "Cookie": "sid=1",
        "X-Auth-Token": "t",
        "X-Client-Secret": "s",
        "Accept": "application/json",
        "Set-Cookie": ["a=1", "b=2"],
    }

    assert redact_headers(headers) == {
        "Authorization": "***",
        "Proxy-Authorization": "***",
        "X-Api-Key": "***",
        "Cookie": "***",
        "X-Auth-Token": "***",
        "X-Client-Secret": "***",
        "Accept": "application/json",
        "Set-Cookie": ["***", "***"],
    }


def test_secret_values_are_redacted_in_text_also_url_encoded():
    text = "refused key p@ss/word! (sent as p%40ss%2Fword%21)"

    assert redact_text(text, ["p@ss/word!"]) == "refused key *** (sent as ***)"


def test_short_values_are_not_treated_as_secrets():
    assert redact_text("page 1 of 2", ["1"]) == "page 1 of 2"


def test_source_secrets_come_from_auth_settings_literal_headers_and_query():
    source = {
        "authenticationConfig": {"username": "alice", "password": "hunter22", "clientSecret": "cs-123"},
        "configuration": {
            "headers": {"Authorization": "Basic " + base64.b64encode(b"bob:letmein").decode(), "Accept": "x"},
            "query": {"api_key": "qk-999", "lang": "nl"},
            "authentication": {"client_secret": "orig-style"},
        },
    }

    found = source_secrets(source)

    assert {"hunter22", "cs-123", "letmein", "qk-999", "orig-style"} <= set(found)
    assert "alice" not in found and "nl" not in found and "x" not in found


# -- end to end: every auth method, success and failure ----------------------------------------


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def _sources(fake_api) -> dict[str, dict[str, Any]]:
    creds = fake_api.credentials
    return {
        "basic": {
            "auth": "basic",
            "authenticationConfig": {"username": creds["username"], "password": creds["password"]},
        },
        "bearer": {"auth": "bearer", "authenticationConfig": {"token": creds["token"]}},
        "apikey-header": {"auth": "apikey", "authenticationConfig": {"key": creds["api_key"]}},
        "apikey-query": {
            "auth": "apikey",
            "authenticationConfig": {"key": creds["api_key"], "name": "api_key", "in": "query"},
        },
        "oauth2": {
            "auth": "oauth2",
            "authenticationConfig": {
                "tokenUrl": f"{fake_api.url}/oauth/token",
                "clientId": creds["client_id"],
                "clientSecret": creds["client_secret"],
            },
        },
        "jwt": {
            "auth": "jwt",
            "authenticationConfig": {"secret": fake_api.jwt_key, "header": "X-Jwt", "payload": {"sub": "oc"}},
        },
        "literal-header": {"configuration": {"headers": {"Authorization": f"Bearer {creds['token']}"}}},
        "original-oauth": {
            "configuration": {
                "headers": {"Authorization": "Bearer {{ oauthToken(source) }}"},
                "authentication": {
                    "tokenUrl": f"{fake_api.url}/oauth/token",
                    "client_id": creds["client_id"],
                    "client_secret": creds["client_secret"],
                },
            }
        },
    }


ENDPOINTS = {
    "basic": "/auth/basic",
    "bearer": "/auth/bearer",
    "apikey-header": "/auth/apikey",
    "apikey-query": "/auth/apikey-query",
    "oauth2": "/auth/oauth",
    "jwt": "/auth/jwt",
    "literal-header": "/auth/bearer",
    "original-oauth": "/auth/oauth",
}


def _sent_credentials(fake_api) -> set[str]:
    """Every credential value the server received: none may appear in what we log or raise."""
    values: set[str] = set()
    for request in fake_api.requests:
        for name in ("authorization", "x-api-key", "x-jwt"):
            value = request.headers.get(name)
            if value:
                values.add(value)
                values.add(value.split(" ", 1)[-1])
        if request.query.get("api_key"):
            values.add(request.query["api_key"])
    values.update(fake_api.tokens)  # issued OAuth2 access tokens
    values.update(v for k, v in fake_api.credentials.items() if k not in ("username", "client_id"))
    values.add(fake_api.jwt_key)
    return values


@pytest.mark.parametrize("method", list(ENDPOINTS))
def test_no_secret_appears_in_logs_exceptions_or_reprs(fake_api, calls, method):
    settings = _sources(fake_api)[method]
    source = fake_api.source(
        **{**settings, "configuration": {"logBody": True, **settings.get("configuration", {})}}
    )
    seen: list[str] = []

    ok = calls.call(source, ENDPOINTS[method])
    assert ok.ok, ok.body
    seen.append(repr(ok))
    seen.append(ok.url)
    # the source echoes every header and query parameter back, in a 401 and in a 200
    seen.append(repr(calls.call(source, "/echo", query={"status": 401})))
    seen.append(repr(calls.call(source, "/echo")))
    # a failing page, a test call, an unreachable host
    with pytest.raises(OpenConnectorError) as page_error:
        list(calls.pages(source, "/paged/page", query={"failOn": 2}, pagination={"type": "page"}))
    seen.append(str(page_error.value))
    seen.append(orjson.dumps(page_error.value.to_dict()).decode())
    seen.append(orjson.dumps(calls.test(source, "/echo", query={"status": 400})).decode())
    down = {**source, "location": _closed_port_url()}
    if method == "oauth2":
        down["authenticationConfig"] = {
            **source["authenticationConfig"],
            "tokenUrl": _closed_port_url() + "/t",
        }
    with pytest.raises(OpenConnectorError) as down_error:
        calls.call(down, ENDPOINTS[method], config={"retries": 0})
    seen.append(str(down_error.value))
    seen.append(repr(down_error.value))

    haystack = "\n".join(seen) + orjson.dumps(calls.logs).decode()
    secrets = _sent_credentials(fake_api)
    assert secrets
    leaked = sorted(s for s in secrets if s in haystack)
    assert leaked == []
    assert "***" in haystack


def test_refused_oauth_client_secret_is_not_in_the_error(fake_api, calls):
    settings = _sources(fake_api)["oauth2"]["authenticationConfig"]
    source = fake_api.source(
        auth="oauth2", authenticationConfig={**settings, "clientSecret": "wrong-secret-123"}
    )

    with pytest.raises(OpenConnectorError) as error:
        calls.call(source, "/auth/oauth")

    assert "wrong-secret-123" not in str(error.value)
    assert "wrong-secret-123" not in orjson.dumps(calls.logs).decode()
