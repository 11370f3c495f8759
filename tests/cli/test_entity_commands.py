"""The CLI manages what the UI manages: ``source|mapping|sync list|show|create|update|delete``.

Each test drives the real command (Typer's runner, a SQLite data directory of its own)
and checks what an operator or a script would see: tables for people, ``--json`` that
parses, references by id, uuid, slug or name, partial updates, masked secrets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from openconnector.cli import _load_extensions, app
from openconnector.connector.entities import EntityService
from openconnector.context import Context

runner = CliRunner()
_load_extensions()


@pytest.fixture
def cli(context: Context, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", context.settings.secret_key or "")
    monkeypatch.setattr("openconnector.connector.entity_commands.console.width", 160)  # a wide terminal
    where = ["--data-dir", str(context.settings.data_dir)]

    def invoke(*args: str, input: str | None = None) -> Any:
        return runner.invoke(app, [*args, *where], input=input)

    return invoke


def _json(result: Any) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_create_a_source_from_a_yaml_file_then_list_and_show_it(cli: Any, tmp_path: Path) -> None:
    spec = tmp_path / "petstore.yaml"
    spec.write_text(
        "name: Pet Store\n"
        "type: api\n"
        "location: https://petstore3.swagger.io/api/v3\n"
        "auth: basic\n"
        "authenticationConfig:\n  username: bob\n  password: hunter2\n"
    )
    created = _json(cli("source", "create", "--file", str(spec), "--json"))
    assert created["slug"] == "pet-store" and isinstance(created["id"], int)
    assert created["authenticationConfig"]["password"] == "********"

    table = cli("source", "list")
    assert table.exit_code == 0
    assert "Pet Store" in table.output and "petstore3.swagger.io" in table.output
    assert "hunter2" not in table.output
    listed = _json(cli("source", "list", "--json"))
    assert [s["uuid"] for s in listed] == [created["uuid"]]

    for ref in (str(created["id"]), created["uuid"], "pet-store", "Pet Store"):
        shown = _json(cli("source", "show", ref, "--json"))
        assert shown["uuid"] == created["uuid"], ref
    human = cli("source", "show", "pet-store")
    assert "location" in human.output and "hunter2" not in human.output


def test_create_from_json_on_stdin_and_from_set_options(cli: Any) -> None:
    body = json.dumps({"name": "Pet to dataset", "mapping": {"title": "{{ name }}"}})
    mapping = _json(cli("mapping", "create", "--file", "-", "--json", input=body))
    assert mapping["mapping"] == {"title": "{{ name }}"}
    sync = _json(
        cli(
            "sync", "create", "--json",
            "--set", "name=Pets",
            "--set", f"sourceTargetMapping={mapping['id']}",
            "--set", "sourceConfig.endpoint=/pet/findByStatus?status=available",
            "--set", "sourceConfig.resultsPosition=_root",
            "--set", "isEnabled=false",
            "--set", "targetId=dcat/dataset",
        )
    )  # fmt: skip
    assert sync["sourceConfig"] == {
        "endpoint": "/pet/findByStatus?status=available",
        "resultsPosition": "_root",
    }
    assert sync["isEnabled"] is False
    assert sync["sourceTargetMapping"] == mapping["id"]


def test_update_changes_only_the_fields_given(cli: Any, context: Context) -> None:
    sync = EntityService("synchronization", context).create(
        {
            "name": "Pets",
            "targetId": "dcat/dataset",
            "sourceConfig": {"endpoint": "/pets", "idPosition": "id"},
        }
    )
    updated = _json(cli("sync", "update", "pets", "--set", "description=Nightly", "--json"))
    assert updated["description"] == "Nightly"
    assert updated["targetId"] == "dcat/dataset"
    assert updated["sourceConfig"] == {"endpoint": "/pets", "idPosition": "id"}
    assert updated["version"] == "0.0.2"
    stored = EntityService("synchronization", context).get(sync["uuid"])
    assert stored["description"] == "Nightly" and stored["targetId"] == "dcat/dataset"


def test_delete_asks_unless_yes(cli: Any, context: Context) -> None:
    mapping = EntityService("mapping", context).create({"name": "Old", "mapping": {}})
    kept = cli("mapping", "delete", "old", input="n\n")
    assert kept.exit_code == 1
    assert EntityService("mapping", context).get(mapping["uuid"])
    gone = _json(cli("mapping", "delete", str(mapping["id"]), "--yes", "--json"))
    assert gone == {"deleted": {"id": mapping["id"], "uuid": mapping["uuid"]}}
    assert _json(cli("mapping", "list", "--json")) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("source", "create"), "--file FILE or --set key=value"),
        (("source", "create", "--set", "novalue"), "key=value"),
        (("source", "create", "--file", "/nonexistent/x.yaml"), "Cannot read /nonexistent/x.yaml"),
        (("source", "show", "nope"), "not found"),
    ],
)
def test_bad_input_is_a_clear_message_and_exit_1(cli: Any, args: tuple[str, ...], message: str) -> None:
    from openconnector.errors import OpenConnectorError

    result = cli(*args)
    assert result.exit_code != 0
    assert isinstance(result.exception, OpenConnectorError)
    assert message in result.exception.message


def test_a_file_that_is_not_an_object_is_refused(cli: Any, tmp_path: Path) -> None:
    listing = tmp_path / "list.json"
    listing.write_text("[1, 2]")
    result = cli("source", "create", "--file", str(listing))
    assert result.exit_code != 0 and "one object" in result.exception.message
