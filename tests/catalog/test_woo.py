"""The Woo starting point: ``openconnector init woo`` / ``install_woo``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from openconnector.catalog.service import CatalogService
from openconnector.catalog.woo import DATASET_SCHEMA, install_woo
from openconnector.register.objects import ObjectService
from openconnector.register.registers import RegisterService


def snapshot(context) -> tuple:  # type: ignore[no-untyped-def]
    registers = RegisterService(context)
    catalog = CatalogService(context).get("publications")
    return (registers.list_registers(), registers.list_schemas(), catalog)


def test_init_woo_creates_register_schema_and_catalog_and_a_second_run_changes_nothing(context):
    assert install_woo(context) == {"register": "created", "schema": "created", "catalog": "created"}
    before = snapshot(context)
    assert install_woo(context) == {"register": "exists", "schema": "exists", "catalog": "exists"}
    assert snapshot(context) == before

    registers = RegisterService(context)
    register = registers.get_register("dcat")
    schema = registers.get_schema("dataset", register=register)
    assert register["title"] == "DCAT register" and schema["id"] in register["schemas"]
    assert schema["title"] == "Dataset" and schema["required"] == ["title"]
    catalog = CatalogService(context).get("publications")
    assert (catalog["registers"], catalog["schemas"], catalog["hasDcat"]) == (
        [register["id"]],
        [schema["id"]],
        True,
    )


def test_the_dataset_schema_accepts_exactly_what_the_tutorial_mapping_writes(context):
    install_woo(context)
    objects = ObjectService(context)
    tutorial = {
        "title": "Bella",
        "category": "Dogs",
        "status": "Published",
        "publicatiedatum": "2026-11-29 14:00:00",
    }
    assert objects.validate(tutorial, "dcat", "dataset") == []
    saved = objects.save_object(dict(tutorial), "dcat", "dataset")
    assert saved["publicatiedatum"] == "2026-11-29T13:00:00+00:00"  # Amsterdam time, stored in UTC


BAD_DATASETS = [
    ({"category": "Dogs"}, "title"),
    ({"title": "A", "accessRights": "OPEN"}, "accessRights"),
    ({"title": "A", "theme": "Dogs"}, "theme"),
    ({"title": "A", "contactEmail": "not an address"}, "contactEmail"),
    ({"title": "A", "license": "cc0"}, "license"),
    ({"title": "A", "publicatiedatum": "yesterday"}, "publicatiedatum"),
    ({"title": "A", "keywords": "dog"}, "keywords"),
    ({"title": "A", "distributions": [{"title": "CSV"}]}, "distributions"),
]


@pytest.mark.parametrize(("data", "field"), BAD_DATASETS, ids=[f for _, f in BAD_DATASETS])
def test_the_dataset_schema_names_the_field_it_refuses(context, data, field):
    install_woo(context)
    errors = ObjectService(context).validate(data, "dcat", "dataset")
    assert errors and any((e["property"] or "").startswith(field) for e in errors), errors


def test_init_woo_adds_the_dcat_schema_to_an_existing_publications_catalog(context):
    catalogs = CatalogService(context)
    catalogs.update("publications", {"title": "Onze publicaties", "hasDcat": False}, merge=True)
    assert install_woo(context)["catalog"] == "updated"
    catalog = catalogs.get("publications")
    assert catalog["title"] == "Onze publicaties" and catalog["hasDcat"] is False  # an admin's choice stays
    assert len(catalog["schemas"]) == 1 and catalog["themeMapping"]["Dogs"] == "AGRI"
    assert install_woo(context)["catalog"] == "exists"


def test_init_woo_leaves_an_edited_dataset_schema_alone(context):
    install_woo(context)
    registers = RegisterService(context)
    schema = registers.get_schema("dataset", register=registers.get_register("dcat"))
    registers.update_schema(schema["id"], {"description": "Ours now"})
    install_woo(context)
    assert registers.get_schema(schema["id"])["description"] == "Ours now"
    assert set(DATASET_SCHEMA["properties"]) <= set(registers.get_schema(schema["id"])["properties"])


def test_the_cli_runs_init_woo_twice_and_lists_the_catalog(settings, context):
    from openconnector.catalog.commands import register
    from openconnector.cli import app

    if not any(group.name == "init" for group in app.registered_groups):
        register(app)
    runner = CliRunner()
    data = ["--data-dir", str(settings.data_dir)]
    first = runner.invoke(app, ["init", "woo", "--json", *data])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == '{"register": "created", "schema": "created", "catalog": "created"}'
    again = runner.invoke(app, ["init", "woo", "--json", *data])
    assert again.output.strip() == '{"register": "exists", "schema": "exists", "catalog": "exists"}'
    listed = runner.invoke(app, ["catalog", "list", "--json", *data])
    assert '"slug": "publications"' in listed.output
    created = runner.invoke(
        app,
        [
            "catalog",
            "create",
            "--title",
            "Honden",
            "--register",
            "dcat",
            "--schema",
            "dataset",
            "--theme-map",
            "Dogs=AGRI",
            "--dcat",
            *data,
        ],
    )
    assert created.exit_code == 0, created.output
    shown = runner.invoke(app, ["catalog", "show", "honden", *data])
    assert '"themeMapping": {\n    "Dogs": "AGRI"' in shown.output
    bad = runner.invoke(app, ["catalog", "create", "--title", "X", "--theme-map", "Dogs", *data])
    assert bad.exit_code != 0
