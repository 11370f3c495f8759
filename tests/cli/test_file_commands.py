"""``openconnector file add|list|get|delete``: a document attached and read back from the shell."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from openconnector.cli import _load_extensions, app
from openconnector.errors import BadRequest
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService

runner = CliRunner()
_load_extensions()

PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"


def _object(context) -> dict:
    registers = RegisterService(context)
    registers.create_register({"title": "Woo", "slug": "woo"})
    registers.create_schema({"title": "Besluit", "slug": "besluit"}, register="woo")
    return ObjectService(context).save_object({"title": "Besluit"}, "woo", "besluit")


def test_add_list_get_and_delete_a_file(context, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    obj = _object(context)
    args = ["--data-dir", str(context.settings.data_dir)]
    source = tmp_path / "besluit.pdf"
    source.write_bytes(PDF)

    added = runner.invoke(
        app,
        ["file", "add", obj["id"], str(source), "--label", "besluit", "--published", "now", "--json", *args],
    )
    assert added.exit_code == 0, added.output
    made = json.loads(added.output)
    assert (made["title"], made["type"], made["labels"]) == ("besluit.pdf", "application/pdf", ["besluit"])
    assert made["published"]

    listed = runner.invoke(app, ["file", "list", obj["id"], *args], env={"COLUMNS": "200"})
    assert listed.exit_code == 0 and "besluit.pdf" in listed.output and "application/pdf" in listed.output

    shown = runner.invoke(app, ["file", "get", obj["id"], str(made["id"]), *args])
    assert json.loads(shown.output)["hash"] == made["hash"]
    copy = tmp_path / "copy.pdf"
    fetched = runner.invoke(app, ["file", "get", obj["id"], made["uuid"], "--output", str(copy), *args])
    assert fetched.exit_code == 0, fetched.output
    assert copy.read_bytes() == PDF

    deleted = runner.invoke(app, ["file", "delete", obj["id"], str(made["id"]), *args])
    assert deleted.exit_code == 0
    assert json.loads(runner.invoke(app, ["file", "list", obj["id"], "--json", *args]).output) == []


def test_add_refuses_a_content_type_lie(context, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENCONNECTOR_SECRET_KEY", "test-secret")
    obj = _object(context)
    source = tmp_path / "photo.png"
    source.write_bytes(PDF)
    result = runner.invoke(
        app, ["file", "add", obj["id"], str(source), "--data-dir", str(context.settings.data_dir)]
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, BadRequest)
    assert "image/png" in result.exception.message and "application/pdf" in result.exception.message
