"""Promise: one record's mapping may not spend more than a set time
(``OPENCONNECTOR_MAPPING_SECONDS``, default 5) or produce more than a set size
across all its keys (``OPENCONNECTOR_MAPPING_MAX_OUTPUT``, default 10 million
characters). Going over is a clear error naming the limit: a 400 for a mapping
test, that one record counted invalid with the reason in a run. A heavy mapping
test does not slow other users' requests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import httpx
import pytest

from openconnector import ObjectService, SynchronizationService
from openconnector.api.app import create_app
from openconnector.context import Context
from openconnector.twig import Environment
from openconnector.twig.errors import RuntimeError as TwigRuntimeError
from openconnector.twig.runtime import time_limit

API = "/index.php/apps/openconnector/api"
#: 400,000 loop iterations (800,000 ticks, under the per-template limit): a fraction of a second.
LOOP = "{% for i in 1..400000 %}{% endfor %}done"
#: one million characters of output
MEGABYTE = "{% for i in 1..100000 %}xxxxxxxxxx{% endfor %}"


@pytest.fixture
def limited(settings):
    """An instance whose records may take 0.3 s each."""
    context = Context(replace(settings, mapping_seconds=0.3))
    yield context
    context.close()


@pytest.fixture
def small_output(settings):
    """An instance whose records may produce 2,000,000 characters each (and take a minute)."""
    context = Context(replace(settings, mapping_seconds=60.0, mapping_max_output=2_000_000))
    yield context
    context.close()


def test_a_template_that_loops_past_the_deadline_is_stopped_inside_the_loop():
    # 2 million iterations, about a second: stopped long before (and, were the deadline not
    # checked, failing in a second or so, not after a mutation run's time limit)
    template = Environment(max_iterations=10**9).from_string(LOOP * 5)
    started = time.monotonic()
    with pytest.raises(TwigRuntimeError, match="limit X"), time_limit(0.05, "limit X"):
        template.render({})
    assert time.monotonic() - started < 5  # stopped, not run to its end


def test_a_time_limit_without_its_own_message_says_the_render_took_too_long():
    template = Environment(max_iterations=10**9).from_string(LOOP * 5)
    with pytest.raises(TwigRuntimeError) as caught, time_limit(0.05, ""):
        template.render({})
    assert str(caught.value).startswith("The render exceeded its time limit")  # and where: template, line


def test_a_mapping_test_past_the_time_limit_is_a_400_naming_the_limit(limited):
    rules = {f"k{i}": LOOP for i in range(40)}  # each key under the per-template limits
    with _client(limited) as client:
        response = client.post(
            f"{API}/mappings/test", json={"mapping": {"mapping": rules}, "inputObject": {}}
        )
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "0.3 seconds per record" in message and "OPENCONNECTOR_MAPPING_SECONDS" in message


def test_a_mapping_test_producing_too_much_is_a_400_naming_the_limit(small_output):
    rules = {f"k{i}": MEGABYTE for i in range(5)}  # 1 MB each, 5 MB together
    with _client(small_output) as client:
        response = client.post(
            f"{API}/mappings/test", json={"mapping": {"mapping": rules}, "inputObject": {}}
        )
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert "2000000 characters per record" in message and "OPENCONNECTOR_MAPPING_MAX_OUTPUT" in message


def test_sub_mappings_share_the_record_budget(small_output):
    inner = {"name": "inner", "mapping": {"a": MEGABYTE}}
    rules = {f"k{i}": "{{ executeMapping(inner, {})|json_encode }}" for i in range(3)}
    with _client(small_output) as client:
        response = client.post(
            f"{API}/mappings/test",
            json={"mapping": {"mapping": {"inner": inner, **rules}}, "inputObject": {"inner": inner}},
        )
    assert response.status_code == 400, response.text
    assert "OPENCONNECTOR_MAPPING_MAX_OUTPUT" in response.json()["message"]


def test_a_light_mapping_is_untouched(limited):
    with _client(limited) as client:
        response = client.post(
            f"{API}/mappings/test",
            json={"mapping": {"mapping": {"title": "{{ name|upper }}"}}, "inputObject": {"name": "Bella"}},
        )
    assert response.status_code == 200
    assert response.json()["resultObject"] == {"title": "BELLA"}


def test_in_a_run_the_record_over_the_limit_is_invalid_with_the_reason(small_output, make_dcat, fake_api):
    limited = small_output
    make_dcat(limited)
    objects = ObjectService(limited)
    save = lambda schema, data: objects.save_object(data, "openconnector", schema)  # noqa: E731
    source = save("source", {"name": "Fake", "type": "api", "location": fake_api.url, "auth": "none"})
    mapping = save(
        "mapping",
        {
            "name": "heavy for Bella",
            "mapping": {
                "title": "{{ name }}",
                "note": "{% if id == 1 %}" + MEGABYTE * 3 + "{% endif %}",
            },
        },
    )
    sync = save(
        "synchronization",
        {
            "name": "pets",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {
                "endpoint": "/api/v3/pet/findByStatus?status=available",
                "resultsPosition": "_root",
            },
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
    )
    result = SynchronizationService(limited).synchronize(sync)["result"]
    assert (result["objects"]["created"], result["objects"]["invalid"]) == (7, 1)
    invalid = result["invalid"][0]
    assert invalid["originId"] == "1" and "OPENCONNECTOR_MAPPING_MAX_OUTPUT" in invalid["reason"]


def test_a_heavy_mapping_test_does_not_slow_other_requests(settings, tmp_path):
    from tests.conftest import LiveServer

    context = Context(replace(settings, mapping_seconds=4.0))
    try:
        with LiveServer(create_app(context)) as server:
            heavy_body = {"mapping": {"mapping": {f"k{i}": LOOP for i in range(200)}}, "inputObject": {}}
            answers: list[int] = []

            def heavy() -> None:
                with httpx.Client(base_url=server.url, auth=("admin", "admin"), timeout=120) as c:
                    answers.append(c.post(f"{API}/mappings/test", json=heavy_body).status_code)

            heavies = [threading.Thread(target=heavy) for _ in range(3)]  # more than the pool holds
            for thread in heavies:
                thread.start()
            light: list[float] = []
            with httpx.Client(base_url=server.url, auth=("admin", "admin"), timeout=60) as client:
                client.get(f"{API}/sources")  # warm: the Basic-auth check is cached from here on
                while any(t.is_alive() for t in heavies):
                    started = time.monotonic()
                    assert client.get(f"{API}/sources").status_code == 200
                    light.append(time.monotonic() - started)
            for thread in heavies:
                thread.join()
    finally:
        context.close()
    assert answers == [400, 400, 400]  # each stopped at its time limit
    assert len(light) >= 5
    # while up to two mappings burn CPU, a light request still answers in well under a second
    assert sorted(light)[len(light) // 2] < 0.5, light


def _client(context):
    from fastapi.testclient import TestClient

    client = TestClient(create_app(context), raise_server_exceptions=False)
    client.auth = ("admin", "admin")
    return client
