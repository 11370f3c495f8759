"""The API documentation: served offline, every route named with its parameters.

An operator behind a firewall opens ``/docs``: the page, its script and its styles
come from this server (no CDN), and the document lists ``/api/sources`` and
``/api/synchronizations/{ref}/run`` with ``test`` and ``force``, not a catch-all
``/api/{segment}``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

import pytest

KINDS = ("sources", "mappings", "synchronizations", "jobs", "endpoints", "rules")


def _assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", html)


@pytest.mark.parametrize("path", ["/docs", "/api/docs", "/redoc"])
def test_the_docs_pages_load_every_asset_from_this_server(client: Any, path: str) -> None:
    page = client.get(path, auth=None)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "<script>" not in page.text, "no inline script, so a strict CSP allows the page"
    assets = _assets(page.text)
    assert any(a.endswith(".js") for a in assets)
    for asset in assets:
        assert not urlparse(asset).netloc, f"{asset} would need the network"
        response = client.get(asset, auth=None)
        assert response.status_code == 200, asset
        assert len(response.content) > 0


def test_swagger_ui_is_version_5_which_renders_openapi_3_1(client: Any) -> None:
    document = client.get("/api/openapi.json", auth=None).json()
    assert document["openapi"].startswith("3.1")
    bundle = client.get("/docs/assets/swagger-ui-bundle.js", auth=None)
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert re.search(r'"5\.\d+\.\d+"', bundle.text)


def test_an_unknown_asset_is_a_json_404(client: Any) -> None:
    response = client.get("/docs/assets/..%2Fcore.py", auth=None)
    assert response.status_code == 404
    assert response.json()["error"]


def test_every_collection_has_named_routes_not_a_catch_all(client: Any) -> None:
    paths = client.get("/openapi.json", auth=None).json()["paths"]
    assert not [p for p in paths if re.search(r"/api/\{[^}]+\}(/|$)", p) and "opencatalogi" not in p]
    for prefix in ("/index.php/apps/openconnector", "/apps/openconnector"):
        for kind in KINDS:
            assert set(paths[f"{prefix}/api/{kind}"]) == {"get", "post"}
            assert set(paths[f"{prefix}/api/{kind}/{{ref}}"]) == {"get", "put", "patch", "delete"}
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    listing = paths["/index.php/apps/openconnector/api/sources"]["get"]
    assert "_search" in {p["name"] for p in listing["parameters"]}
    assert "filter" in listing["description"].lower()


def test_run_and_test_document_their_query_parameters(client: Any) -> None:
    paths = client.get("/api/openapi.json", auth=None).json()["paths"]
    run = paths["/index.php/apps/openconnector/api/synchronizations/{ref}/run"]["post"]
    params = {p["name"]: p for p in run["parameters"]}
    assert set(params) >= {"ref", "test", "force"}
    assert params["test"]["in"] == "query" and params["test"]["schema"]["type"] == "boolean"
    assert "id, uuid or slug" in params["ref"]["description"]
    test = paths["/index.php/apps/openconnector/api/synchronizations/{ref}/test"]["post"]
    assert "force" in {p["name"] for p in test["parameters"]}
    get = paths["/apps/openconnector/api/mappings/{ref}"]["get"]
    assert "id, uuid or slug" in get["parameters"][0]["description"]


def test_the_named_routes_still_serve_crud_and_flags(client: Any, fake_api: Any) -> None:
    source = client.post(
        "/index.php/apps/openconnector/api/sources", json={"name": "Pets", "location": fake_api.url}
    ).json()
    assert client.get(f"/apps/openconnector/api/sources/{source['slug']}").json()["uuid"] == source["uuid"]
    assert client.get("/apps/openconnector/api/sources", params={"name": "Pets"}).json()["results"]
    assert client.get("/apps/openconnector/api/sources", params={"name": "Nope"}).json()["results"] == []
    assert (
        client.put(f"/apps/openconnector/api/sources/{source['id']}", json={"description": "x"}).json()[
            "location"
        ]
        == fake_api.url
    )
    bad = client.post("/apps/openconnector/api/synchronizations/1/run?test=maybe")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["property"] == "test"
    assert client.delete(f"/apps/openconnector/api/sources/{source['uuid']}").status_code == 200
    assert client.get(f"/apps/openconnector/api/sources/{source['uuid']}").status_code == 404
    assert client.get("/apps/openconnector/api/nothing").status_code == 404


@pytest.mark.browser
def test_swagger_ui_renders_in_chromium_with_the_network_cut_off(live_server: Any, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []

    def only_local(route: Any) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--headless=new", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.route("**/*", only_local)
            page.goto(f"{live_server.url}/docs")
            page.get_by_text("/index.php/apps/openconnector/api/synchronizations/{ref}/run").first.wait_for()
            page.goto(f"{live_server.url}/redoc")
            page.get_by_text("List sources").first.wait_for(state="attached")
        finally:
            browser.close()
    assert outside == []


@pytest.mark.parametrize(
    ("path", "names"),
    [
        ("/index.php/apps/openconnector/api/sources/logs", {"_page", "_limit", "statusCode", "sourceId"}),
        ("/index.php/apps/openconnector/api/synchronizations/logs", {"status", "synchronizationId", "test"}),
        ("/index.php/apps/openconnector/api/jobs/logs", {"job_id", "level", "date_from"}),
        ("/index.php/apps/openconnector/api/synchronization-contracts", {"synchronizationId", "originId"}),
    ],
)
def test_log_and_contract_lists_document_their_filters(client: Any, path: str, names: set[str]) -> None:
    operation = client.get("/api/openapi.json", auth=None).json()["paths"][path]["get"]
    assert names <= {p["name"] for p in operation["parameters"]}


def test_force_run_of_a_job_is_documented_and_still_works(client: Any) -> None:
    paths = client.get("/api/openapi.json", auth=None).json()["paths"]
    params = paths["/apps/openconnector/api/jobs/run/{ref}"]["post"]["parameters"]
    assert {"ref", "forceRun"} <= {p["name"] for p in params}
    job = client.post(
        "/apps/openconnector/api/jobs",
        json={"name": "Ping later", "jobClass": "OCA\\OpenConnector\\Action\\EventAction", "interval": 3600},
    ).json()
    client.put(f"/apps/openconnector/api/jobs/{job['id']}", json={"nextRun": "2999-01-01T00:00:00+00:00"})
    assert client.post(f"/apps/openconnector/api/jobs/run/{job['id']}").json() is None  # not due
    forced = client.post(f"/apps/openconnector/api/jobs/run/{job['id']}?forceRun=true").json()
    assert forced["level"] in ("SUCCESS", "INFO")
