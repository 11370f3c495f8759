"""Endpoint, rule and consumer pages: the shared entity pattern, write-only secrets,
the public warning and the Try it panel."""

from __future__ import annotations

from openconnector.connector.entities import EntityService


def _ref(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 303, response.text
    return response.headers["location"].split("?")[0].rsplit("/", 1)[1]


def test_an_endpoint_page_warns_it_is_public_and_tries_a_request(browser, dcat):
    ref = _ref(
        browser.post(
            "/endpoints",
            {
                "name": "Datasets",
                "endpoint": "datasets",
                "method": "GET",
                "targetType": "register/schema",
                "targetId": "dcat/dataset",
            },
        )
    )
    page = browser.get(f"/endpoints/{ref}").text
    assert 'class="notice bad" role="alert">Public: this endpoint has no authentication rule' in page
    assert '<span class="badge bad">public</span>' in browser.get("/endpoints").text
    tried = browser.post(
        f"/endpoints/{ref}/try",
        {"try_method": "GET", "try_path": "datasets?_limit=2", "try_headers": "", "try_body": ""},
    )
    assert tried.status_code == 200
    assert 'id="try-result" class="result ok"' in tried.text and "&#34;count&#34;: 0" in tried.text
    bad = browser.post(
        f"/endpoints/{ref}/try",
        {"try_method": "GET", "try_path": "datasets", "try_headers": "{", "try_body": ""},
    )
    assert bad.status_code == 400 and "The headers is not valid JSON" in bad.text


def test_an_endpoint_pattern_error_shows_beside_the_field(browser):
    answer = browser.post(
        "/endpoints", {"name": "E", "endpoint": "a b", "method": "GET", "targetType": "none"}
    )
    assert answer.status_code == 400 and "neither a path segment" in answer.text


def test_rule_keys_and_consumer_secrets_are_write_only_and_kept(browser, context):
    rule = _ref(
        browser.post(
            "/rules",
            {
                "name": "Key",
                "type": "authentication",
                "configuration": '{"authentication": {"type": "apikey", "keys": ["k-1"]}}',
            },
        )
    )
    page = browser.get(f"/rules/{rule}").text
    assert "k-1" not in page and "********" in page
    saved = browser.post(
        f"/rules/{rule}",
        {
            "name": "Key",
            "description": "",
            "type": "authentication",
            "timing": "before",
            "order": "1",
            "conditions": "",
            "configuration": '{"authentication": {"type": "apikey", "keys": ["********"]}}',
        },
    )
    assert saved.status_code == 303
    kept = EntityService("rule", context).get_with_secrets(rule)
    assert kept["configuration"]["authentication"]["keys"] == ["k-1"] and kept["order"] == 1

    consumer = _ref(
        browser.post("/consumers", {"name": "C", "authorizationType": "apiKey", "description": ""})
    )
    form = {
        "name": "C",
        "description": "",
        "authorizationType": "apiKey",
        "authorizationConfiguration.key": "secret-1",
        "authorizationConfiguration.username": "",
        "authorizationConfiguration.password": "",
        "authorizationConfiguration.publicKey": "",
        "authorizationConfiguration.algorithm": "",
        "domains": "example.org",
        "ips": "10.0.0.0/8\n127.0.0.1",
    }
    assert browser.post(f"/consumers/{consumer}", form).status_code == 303
    page = browser.get(f"/consumers/{consumer}").text
    assert "secret-1" not in page and "Set; leave empty to keep it." in page
    assert (
        browser.post(f"/consumers/{consumer}", {**form, "authorizationConfiguration.key": ""}).status_code
        == 303
    )
    stored = EntityService("consumer", context).get_with_secrets(consumer)
    assert stored["authorizationConfiguration"]["key"] == "secret-1"
    assert stored["ips"] == ["10.0.0.0/8", "127.0.0.1"] and stored["domains"] == ["example.org"]


def test_an_unknown_rule_type_is_refused_on_the_form(browser):
    answer = browser.post("/rules", {"name": "R", "type": "javascript", "configuration": ""})
    assert answer.status_code == 400 and "Choose a type" in answer.text
