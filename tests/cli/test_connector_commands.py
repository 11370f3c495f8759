"""The operator's commands: ``sync run``, ``source test``, ``mapping test``, ``user``, ``db upgrade``."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from openconnector.cli import _load_extensions, app
from openconnector.register.objects import ObjectService

runner = CliRunner()
_load_extensions()


@pytest.fixture
def configured(context, fake_api, make_dcat):
    make_dcat(context)
    objects = ObjectService(context)
    source = objects.save_object(
        {"name": "Pet Store", "type": "api", "location": fake_api.url + "/api/v3"}, "openconnector", "source"
    )
    mapping = objects.save_object(
        {"name": "Pet to dataset", "mapping": {"title": "{{ name }}"}}, "openconnector", "mapping"
    )
    objects.save_object(
        {
            "name": "Pets",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "/pet/findByStatus?status=available", "resultsPosition": "_root"},
            "targetType": "register/schema",
            "targetId": "dcat/dataset",
        },
        "openconnector",
        "synchronization",
    )
    return ["--data-dir", str(context.settings.data_dir)]


def test_sync_run_prints_the_counts(configured, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    result = runner.invoke(app, ["sync", "run", "Pets", *configured])
    assert result.exit_code == 0, result.output
    assert "found" in result.output and "8" in result.output
    again = runner.invoke(app, ["sync", "run", "Pets", "--json", *configured])
    log = json.loads(again.output)
    assert log["result"]["objects"]["skipped"] == 8


def test_sync_run_of_an_unknown_synchronisation_exits_1(configured, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    from openconnector.errors import NotFound

    result = runner.invoke(app, ["sync", "run", "Nope", *configured])
    assert result.exit_code != 0 and isinstance(result.exception, NotFound)


def test_source_test_shows_status_and_body(configured, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    result = runner.invoke(
        app, ["source", "test", "Pet Store", "--endpoint", "/pet/findByStatus?status=available", *configured]
    )
    assert result.exit_code == 0, result.output
    assert "200" in result.output and "Bella" in result.output


def test_mapping_test_prints_the_result(configured, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    result = runner.invoke(
        app,
        [
            "mapping",
            "test",
            "Pet to dataset",
            "--input",
            '{"name": "Bella"}',
            "--schema",
            "dataset",
            *configured,
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["resultObject"] == {"title": "Bella"}


def test_user_add_then_login_works(context):
    result = runner.invoke(
        app,
        ["user", "add", "editor", "--password", "pw-123456", "--data-dir", str(context.settings.data_dir)],
    )
    assert result.exit_code == 0, result.output
    from openconnector.store.users import UserService

    assert UserService(context.db).verify("editor", "pw-123456")
    assert not UserService(context.db).verify("editor", "wrong")


def test_sync_run_exit_codes_tell_failure_warning_and_success_apart(
    context, fake_api, make_dcat, monkeypatch
):
    """0 success, 3 completed with invalid records, 1 failed (docs/operations.md)."""
    from test_run_status import make_sync  # tests/connector is on sys.path

    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    make_dcat(context)
    where = ["--data-dir", str(context.settings.data_dir)]
    codes = {}
    for invalid in ([1, 2, 3, 4], [2], []):
        sync = make_sync(context, fake_api, invalid)
        result = runner.invoke(app, ["sync", "run", sync["id"], *where])
        codes[len(invalid)] = (result.exit_code, result.output)
    assert codes[4][0] == 1 and "all 4 records were invalid" in codes[4][1]
    assert codes[1][0] == 3 and "Completed with 1 invalid of 4 records" in codes[1][1]
    assert codes[0][0] == 0, codes[0][1]
