"""``GET /metrics``: a run's counters as Prometheus text, behind the admin login.

Against the real app on a socket (as ``curl -u admin:admin .../metrics`` sees it) and
the fake source API; counters are per process, so assertions compare before and after.
"""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from openconnector.api.app import create_app
from openconnector.context import Context

OC = "/index.php/apps/openconnector/api"
OR = "/index.php/apps/openregister/api"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _make_sync(admin: httpx.Client, fake_api) -> dict:
    admin.post(f"{OR}/registers", json={"title": "DCAT", "slug": "dcat"}).raise_for_status()
    admin.post(
        f"{OR}/schemas",
        json={
            "title": "Dataset",
            "slug": "dataset",
            "register": "dcat",
            "required": ["title"],
            "properties": {"title": {"type": "string"}, "value": {"type": "integer"}},
        },
    ).raise_for_status()
    source = admin.post(
        f"{OC}/sources",
        json={"name": "Fake", "type": "api", "location": fake_api.url, "auth": "none", "isEnabled": True},
    ).json()
    mapping = admin.post(
        f"{OC}/mappings", json={"name": "Record", "mapping": {"title": "{{ name }}", "value": "value"}}
    ).json()
    return admin.post(
        f"{OC}/synchronizations",
        json={
            "name": "Records",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "/paged/page?pageSize=10"},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    ).json()


def test_a_run_shows_in_metrics_for_the_admin_and_anonymous_is_refused(live_server, fake_api):
    with live_server.client(("admin", "admin")) as admin:
        before = _samples(admin.get("/metrics").text)
        sync = _make_sync(admin, fake_api)
        run = admin.post(f"{OC}/synchronizations/{sync['id']}/run")
        assert run.status_code == 200, run.text
        assert run.json()["result"]["objects"]["created"] == 45
        response = admin.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        after = _samples(response.text)

    uuid = sync["uuid"]
    assert _value(after, "openconnector_sync_runs_total", synchronization=uuid, status="success") == 1
    assert _value(after, "openconnector_sync_records_total", synchronization=uuid, action="created") == 45
    assert _value(after, "openconnector_sync_records_total", synchronization=uuid, action="found") == 45
    ran = _value(after, "openconnector_sync_run_duration_seconds_count", status="success") - _value(
        before, "openconnector_sync_run_duration_seconds_count", status="success"
    )
    assert ran == 1
    calls = [
        value - before.get(key, 0.0)
        for key, value in after.items()
        if key[0] == "openconnector_source_calls_total" and ("status", "200") in key[1]
    ]
    assert sum(calls) == 6  # 5 pages of records and the empty page that ends the run
    # HTTP requests by route template, not by raw path
    route = f"{OC}/synchronizations/{{ref}}/run"
    assert _value(after, "openconnector_http_requests_total", method="POST", route=route, status="200") >= 1
    raw = f"/synchronizations/{sync['id']}/run"
    assert not any(raw in dict(labels).get("route", "") for _, labels in after)

    with live_server.client() as anonymous:
        refused = anonymous.get("/metrics")
        assert refused.status_code == 401
        assert "openconnector_" not in refused.text
        assert anonymous.get("/metrics", auth=("admin", "wrong")).status_code == 401


@pytest.mark.parametrize(("allow", "status"), [("127.0.0.1/32", 200), ("10.0.0.0/8", 401)])
def test_a_network_range_may_scrape_without_login(settings, allow, status):
    from tests.conftest import LiveServer

    context = Context(replace(settings, metrics_allow=allow))
    try:
        with LiveServer(create_app(context, make_default=False)) as server, server.client() as anonymous:
            response = anonymous.get("/metrics")
            assert response.status_code == status
            if status == 200:
                assert "openconnector_http_requests_total" in response.text
    finally:
        context.close()


def test_a_malformed_allow_setting_says_what_is_wrong(settings):
    context = Context(replace(settings, metrics_allow="localhost"))
    try:
        with pytest.raises(ValueError, match="OPENCONNECTOR_METRICS_ALLOW.*localhost"):
            create_app(context, make_default=False)
    finally:
        context.close()


def test_routes_are_labelled_by_template_with_their_prefix():
    """A public endpoint's path can be any depth: one label per route, not per path."""
    from starlette.routing import Route

    from openconnector.api.metrics import route_template

    endpoint = Route("/api/endpoint/{path:path}", lambda request: None)
    scope = {"route": endpoint, "path": "/index.php/apps/openconnector/api/endpoint/pets/7/photos"}
    assert route_template(scope) == "/index.php/apps/openconnector/api/endpoint/{path:path}"
    objects = Route("/api/objects/{register}/{schema}", lambda request: None)
    scope = {"route": objects, "path": "/apps/openregister/api/objects/dcat/dataset"}
    assert route_template(scope) == "/apps/openregister/api/objects/{register}/{schema}"
    assert route_template({"path": "/wp-login.php"}) == "unmatched"
