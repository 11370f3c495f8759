"""One clock (issue 12, point 7): Twig's ``"now"`` and dates render in
``OPENCONNECTOR_TIMEZONE`` in every face: bare Python, the service's Python API,
REST, the CLI and a synchronisation (whose naive dates are read back in the same zone).

Pacific/Kiritimati is UTC+14 all year, so a render in UTC (or in Amsterdam) cannot pass.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from openconnector import MappingService, ObjectService, SynchronizationService
from openconnector.context import Context, set_context

ZONE = "Pacific/Kiritimati"
OFFSET = "+14:00"
RULES = {"offset": '{{ "now"|date("P") }}', "given": '{{ "2026-01-01 12:00"|date("H:i P") }}'}
EXPECTED = {"offset": OFFSET, "given": f"12:00 {OFFSET}"}


@pytest.fixture
def far_east(settings: Any) -> Any:
    context = Context(replace(settings, timezone=ZONE))
    set_context(context)
    try:
        yield context
    finally:
        set_context(None)
        context.close()


def test_bare_python_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    set_context(None)
    monkeypatch.setenv("OPENCONNECTOR_TIMEZONE", ZONE)
    assert MappingService().execute_mapping({"mapping": RULES}, {}) == EXPECTED


def test_python_uses_the_instances_zone(far_east: Context) -> None:
    assert MappingService().execute_mapping({"mapping": RULES}, {}) == EXPECTED
    from openconnector.connector.mappings import MappingService as AppMappingService

    assert AppMappingService(far_east).execute_mapping({"mapping": RULES}, {}) == EXPECTED


def test_rest_mapping_test_uses_the_instances_zone(far_east: Context) -> None:
    from fastapi.testclient import TestClient

    from openconnector.api.app import create_app

    with TestClient(create_app(far_east)) as client:
        answer = client.post(
            "/index.php/apps/openconnector/api/mappings/test",
            json={"mapping": {"mapping": RULES}, "inputObject": {}},
            auth=("admin", "admin"),
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["resultObject"] == EXPECTED


def test_the_cli_uses_the_configured_zone(far_east: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    from openconnector.cli import _load_extensions, app

    _load_extensions()
    ObjectService(far_east).save_object({"name": "zoned", "mapping": RULES}, "openconnector", "mapping")
    monkeypatch.setenv("OPENCONNECTOR_TIMEZONE", ZONE)
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    result = CliRunner().invoke(
        app, ["mapping", "test", "zoned", "--input", "{}", "--data-dir", str(far_east.settings.data_dir)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["resultObject"] == EXPECTED


def test_a_synchronised_now_is_stored_as_the_true_moment(
    far_east: Context, make_dcat: Any, fake_api: Any
) -> None:
    make_dcat(far_east)
    objects = ObjectService(far_east)
    source = objects.save_object(
        {"name": "Pets", "location": fake_api.url + "/api/v3"}, "openconnector", "source"
    )
    mapping = objects.save_object(
        {
            "name": "m",
            "mapping": {"title": "{{ name }}", "publicatiedatum": '{{ "now"|date("Y-m-d H:i:s") }}'},
        },
        "openconnector",
        "mapping",
    )
    sync = objects.save_object(
        {
            "name": "s",
            "sourceId": source["uuid"],
            "sourceTargetMapping": mapping["uuid"],
            "sourceConfig": {"endpoint": "/pet/findByStatus?status=available", "resultsPosition": "_root"},
            "targetId": "dcat/dataset",
        },
        "openconnector",
        "synchronization",
    )
    assert SynchronizationService(far_east).synchronize(sync)["status"] == "success"
    stored = objects.find_all("dcat", "dataset", limit=1)["results"][0]["publicatiedatum"]
    moment = datetime.fromisoformat(stored)
    assert abs(moment - datetime.now(UTC)) < timedelta(minutes=5), stored
