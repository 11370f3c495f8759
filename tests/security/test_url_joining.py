"""Promise: a source's location and an endpoint join into the URL a user expects.

A location that carries a query string (an API key in ``?access=KEY``) plus an
endpoint gives ``location path + endpoint path ? location query & endpoint query``.
Gluing the endpoint into the query sent the key with the path appended to it, and
fetched the API root instead of the resource.
"""

from __future__ import annotations

from openconnector.connector.call import CallService
from openconnector.connector.pagination import join_location


def test_a_location_with_a_query_string_keeps_its_query_after_the_endpoint_path(fake_api) -> None:
    source = fake_api.source(location=f"{fake_api.url}?access=KEY123")
    with CallService() as calls:
        echoed = calls.call(source, "/echo?lang=nl").json()
    assert echoed["path"] == "/echo"
    assert echoed["query"] == {"access": "KEY123", "lang": "nl"}


def test_the_endpoint_follows_the_location_path_and_every_page_keeps_the_key(fake_api) -> None:
    fake_api.set_records(25)
    source = fake_api.source(location=f"{fake_api.url}/paged?access=KEY123")
    with CallService() as calls:
        pages = list(calls.pages(source, "/page", pagination={"type": "page"}))
    assert sum(len(page.records) for page in pages) == 25
    sent = [r for r in fake_api.requests if r.path == "/paged/page"]
    assert len(pages) == 3 and len(sent) >= 3
    assert all(r.query.get("access") == "KEY123" for r in sent)


def test_a_test_call_of_the_source_uses_the_same_joining(fake_api) -> None:
    source = fake_api.source(location=f"{fake_api.url}?access=KEY123")
    with CallService() as calls:
        log = calls.test(source, "/echo")
    assert log["ok"] is True
    assert log["statusCode"] == 200


def test_an_endpoint_parameter_replaces_the_location_parameter_of_the_same_name() -> None:
    assert join_location("https://api.example/v1?lang=en&access=K", "/items?lang=nl&page=2") == (
        "https://api.example/v1/items?access=K&lang=nl&page=2"
    )


def test_locations_without_a_query_join_as_before() -> None:
    assert join_location("https://api.example/v1", "/items?page=2") == "https://api.example/v1/items?page=2"
    assert join_location("https://api.example/v1?k=1", "") == "https://api.example/v1?k=1"
    assert join_location("https://api.example/v1?k=1", "https://other.example/x") == "https://other.example/x"
