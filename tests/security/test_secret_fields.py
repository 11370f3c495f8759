"""Promise: a secret is a secret wherever a user puts it in a source.

Each kind below is stored encrypted (not in the SQLite database or its WAL in
clear), masked as ``********`` in API answers, the UI and call logs, given back to
the call in clear, and kept when the masked answer is sent back unchanged.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from openconnector.api.app import create_app
from openconnector.connector.entities import EntityService
from openconnector.store.secrets import MASK

API = "/index.php/apps/openconnector/api"


def _kinds(url: str) -> dict[str, tuple[dict[str, Any], str]]:
    """kind -> (source fields, the secret as it appears in text)."""
    host = url.removeprefix("http://")
    return {
        "Authorization header": (
            {"configuration": {"headers": {"Authorization": "Bearer AuthHeaderS3cret"}}},
            "AuthHeaderS3cret",
        ),
        "X-Api-Key header": (
            {"configuration": {"headers": {"X-Api-Key": "ApiKeyHeaderS3cret"}}},
            "ApiKeyHeaderS3cret",
        ),
        "X-Auth-Token header": (
            {"configuration": {"headers": {"X-Auth-Token": "TokenHeaderS3cret"}}},
            "TokenHeaderS3cret",
        ),
        "X-Client-Secret header": (
            {"configuration": {"headers": {"X-Client-Secret": "SecretHeaderS3cret"}}},
            "SecretHeaderS3cret",
        ),
        "Cookie header": (
            {"configuration": {"headers": {"Cookie": "sid=CookieHeaderS3cret"}}},
            "CookieHeaderS3cret",
        ),
        "header marked secret": (
            {
                "configuration": {"headers": {"X-Custom": "MarkedHeaderS3cret"}},
                "secretFields": ["configuration.headers.X-Custom"],
            },
            "MarkedHeaderS3cret",
        ),
        "query value marked secret": (
            {
                "configuration": {"query": {"code": "MarkedQueryS3cret"}},
                "secretFields": ["configuration.query.code"],
            },
            "MarkedQueryS3cret",
        ),
        "password in the location": (
            {"location": f"http://bob:LocationPassS3cret@{host}"},
            "LocationPassS3cret",
        ),
        "API key in the location query": (
            {"location": f"{url}?access=LocationKeyS3cret"},
            "LocationKeyS3cret",
        ),
        "configuration.auth [user, password]": (
            {"configuration": {"auth": ["bob", "GuzzleAuthS3cret"]}},
            "GuzzleAuthS3cret",
        ),
        "password given as a number": (
            {"auth": "basic", "authenticationConfig": {"username": "bob", "password": 987654321123}},
            "987654321123",
        ),
        "key given as an object": (
            {"authenticationConfig": {"privateKey": {"pem": "ObjectKeyS3cret", "format": "pem"}}},
            "ObjectKeyS3cret",
        ),
    }


KINDS = list(_kinds("http://127.0.0.1:1"))


def _source(fake_api, kind: str) -> tuple[dict[str, Any], str]:
    fields, secret = _kinds(fake_api.url)[kind]
    return {"name": f"Source {kind}", "location": fake_api.url, "auth": "none", **fields}, secret


def _stored_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("openconnector.db*")))


@pytest.mark.parametrize("kind", KINDS)
def test_the_secret_is_masked_in_api_answers(client, fake_api, kind: str) -> None:
    body, secret = _source(fake_api, kind)
    created = client.post(f"{API}/sources", json=body)
    assert created.status_code in (200, 201), created.text
    shown = client.get(f"{API}/sources/{created.json()['id']}")
    listed = client.get(f"{API}/sources")
    for answer in (created, shown, listed):
        assert secret not in answer.text
    assert MASK in shown.text


@pytest.mark.parametrize("kind", KINDS)
def test_the_secret_is_not_in_the_database_or_its_wal_in_clear(client, context, fake_api, kind: str) -> None:
    body, secret = _source(fake_api, kind)
    assert client.post(f"{API}/sources", json=body).status_code in (200, 201)
    stored = _stored_bytes(context.settings.data_dir)
    assert b"Source " + kind.encode() in stored  # the row is there ...
    assert secret.encode() not in stored  # ... its secret is not


@pytest.mark.parametrize("kind", KINDS)
def test_the_call_gets_the_secret_in_clear_with_its_type(client, context, fake_api, kind: str) -> None:
    body, _secret = _source(fake_api, kind)
    uuid = client.post(f"{API}/sources", json=body).json()["uuid"]
    revealed = EntityService("source", context).get_with_secrets(uuid)
    for key in ("location", "configuration", "authenticationConfig"):
        if key in body:
            assert revealed[key] == body[key]


@pytest.mark.parametrize("kind", KINDS)
def test_sending_the_masked_answer_back_keeps_the_secret(client, context, fake_api, kind: str) -> None:
    body, secret = _source(fake_api, kind)
    created = client.post(f"{API}/sources", json=body).json()
    answer = client.get(f"{API}/sources/{created['id']}").json()
    edited = {k: answer[k] for k in ("location", "configuration", "authenticationConfig") if k in answer}
    edited["description"] = "edited"
    assert client.put(f"{API}/sources/{created['id']}", json=edited).status_code == 200
    revealed = EntityService("source", context).get_with_secrets(created["uuid"])
    for key in ("location", "configuration", "authenticationConfig"):
        if key in body:
            assert revealed[key] == body[key]
    assert secret.encode() not in _stored_bytes(context.settings.data_dir)


@pytest.mark.parametrize("kind", KINDS)
def test_the_secret_is_not_in_call_logs_even_when_the_api_echoes_it(
    client, context, fake_api, kind: str
) -> None:
    body, secret = _source(fake_api, kind)
    created = client.post(f"{API}/sources", json=body).json()
    tested = client.post(f"{API}/sources/test/{created['id']}", json={"endpoint": "/echo"})
    assert tested.status_code == 200
    assert tested.json()["statusCode"] == 200, tested.text
    assert secret not in tested.text
    logs = client.get(f"{API}/sources/logs")
    assert logs.status_code == 200 and logs.json()["results"]
    assert secret not in logs.text
    assert secret.encode() not in _stored_bytes(context.settings.data_dir)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.mark.parametrize("kind", KINDS)
def test_the_secret_is_not_on_the_source_page(context, fake_api, kind: str) -> None:
    body, secret = _source(fake_api, kind)
    with TestClient(create_app(context), raise_server_exceptions=False) as ui:
        token = _CSRF.search(ui.get("/login").text).group(1)
        login = {"username": "admin", "password": "admin", "csrf_token": token}
        assert ui.post("/login", data=login, follow_redirects=False).status_code == 303
        uuid = EntityService("source", context).create(json.loads(json.dumps(body)))["uuid"]
        page = ui.get(f"/sources/{uuid}")
        assert page.status_code == 200
        assert body["name"] in page.text
        assert secret not in page.text


def test_a_plain_header_stays_readable(client, fake_api) -> None:
    body = {
        "name": "Plain",
        "location": fake_api.url,
        "configuration": {"headers": {"Accept": "application/json"}},
    }
    created = client.post(f"{API}/sources", json=body).json()
    assert created["configuration"]["headers"] == {"Accept": "application/json"}
    assert created["location"] == fake_api.url


def _save_form_twice(context, fake_api, rows: list[tuple[str, str]], secret: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Save the source form with ``rows``, then again with every value left empty, as a
    user does who edits something else; returns the source's uuid and the page shown."""
    from urllib.parse import urlencode

    uuid = EntityService("source", context).create(
        {"name": "Form", "location": fake_api.url, "auth": "none"}
    )["uuid"]
    headers = {"content-type": "application/x-www-form-urlencoded"}
    with TestClient(create_app(context), raise_server_exceptions=False) as ui:
        token = _CSRF.search(ui.get("/login").text).group(1)
        login = {"username": "admin", "password": "admin", "csrf_token": token}
        assert ui.post("/login", data=login, follow_redirects=False).status_code == 303
        fixed = [
            ("name", "Form"),
            ("type", "api"),
            ("location", fake_api.url),
            ("isEnabled", "on"),
            ("auth", "none"),
        ]
        for values in (rows, [(k, "" if k.endswith(".value") else v) for k, v in rows]):
            token = _CSRF.search(ui.get(f"/sources/{uuid}").text).group(1)
            form = [*fixed, *values, ("action", "save"), ("csrf_token", token)]
            saved = ui.post(
                f"/sources/{uuid}", content=urlencode(form), headers=headers, follow_redirects=False
            )
            assert saved.status_code == 303, saved.text
        page = ui.get(f"/sources/{uuid}").text
    assert secret not in page
    assert secret.encode() not in _stored_bytes(context.settings.data_dir)
    return uuid, page


def test_a_header_marked_secret_in_the_form_is_sealed_and_kept(context, fake_api) -> None:
    rows = [("header.name", "X-Custom"), ("header.value", "FormMarkedS3cret"), ("header.secret", "0")]
    uuid, page = _save_form_twice(context, fake_api, rows, "FormMarkedS3cret")
    assert 'name="header.secret" value="0" checked' in page
    sources = EntityService("source", context)
    assert sources.get_with_secrets(uuid)["configuration"]["headers"] == {"X-Custom": "FormMarkedS3cret"}
    assert sources.get(uuid)["configuration"]["headers"] == {"X-Custom": MASK}


def test_a_query_value_marked_secret_in_the_form_is_sealed_and_kept(context, fake_api) -> None:
    rows = [
        ("query.name", "lang"),
        ("query.value", "nl"),
        ("query.name", "code"),
        ("query.value", "FormQueryS3cret"),
        ("query.secret", "1"),
    ]
    uuid, page = _save_form_twice(context, fake_api, rows, "FormQueryS3cret")
    assert 'name="query.secret" value="1" checked' in page
    sources = EntityService("source", context)
    # the plain parameter was saved empty the second time, as typed; the secret one was kept
    assert sources.get_with_secrets(uuid)["configuration"]["query"] == {"lang": "", "code": "FormQueryS3cret"}
    assert sources.get(uuid)["configuration"]["query"] == {"lang": "", "code": MASK}
