"""The source test is honest (issue 12, point 8): no location, an unreachable
host, a TLS error or an error status answer ``ok: false`` with a reason, always
as HTTP 200 with the call log (never a 500, never a false green)."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from openconnector import ObjectService
from openconnector.connector.entities import EntityService

API = "/index.php/apps/openconnector/api"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _test(client: Any, source: dict[str, Any], endpoint: str = "") -> dict[str, Any]:
    answer = client.post(
        f"{API}/sources/test/{source['id']}", json={"endpoint": endpoint} if endpoint else {}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_source_without_location_is_not_green(client: Any, context: Any) -> None:
    # made the way the UI's first step and the Python tab can make it: no location yet
    for source in (
        EntityService("source", context).create({"name": "Draft"}, draft=True),
        ObjectService(context).save_object({"name": "Bare"}, "openconnector", "source"),
    ):
        result = _test(client, {"id": source.get("uuid", source["id"])})
        assert result["ok"] is False
        assert "has no location" in result["message"]


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (lambda api: f"http://127.0.0.1:{_closed_port()}", "Connection refused"),
        (lambda api: api.url.replace("http://", "https://"), "TLS error"),
        (lambda api: "http://no-such-host.invalid", "ConnectError"),
    ],
    ids=["unreachable", "tls", "unknown-host"],
)
def test_a_source_that_cannot_be_reached_says_why(
    client: Any, fake_api: Any, where: Any, reason: str
) -> None:
    source = client.post(f"{API}/sources", json={"name": "Away", "location": where(fake_api)}).json()
    result = _test(client, source)
    assert result["ok"] is False
    assert reason in result["message"]


def test_an_error_status_at_an_endpoint_is_red_with_the_status(client: Any, fake_api: Any) -> None:
    source = client.post(f"{API}/sources", json={"name": "Echo", "location": fake_api.url}).json()
    result = _test(client, source, "/echo?status=500")
    assert (result["ok"], result["statusCode"]) == (False, 500)
    assert result["message"].startswith("The source answered 500")
    assert _test(client, source, "/echo")["ok"] is True


def test_a_bare_api_root_answering_404_still_counts_as_reachable(client: Any, fake_api: Any) -> None:
    source = client.post(
        f"{API}/sources", json={"name": "Root", "location": fake_api.url + "/nothing-here"}
    ).json()
    result = _test(client, source)
    assert result["ok"] is True and result["statusCode"] == 404
