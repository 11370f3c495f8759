"""Migrations create exactly the tables the code describes, and data survives a restart."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from openconnector.context import Context
from openconnector.register.objects import ObjectService
from openconnector.store.tables import FACET_TABLE, SEARCH_TABLE_PREFIX, metadata


def test_migrated_database_matches_the_table_definitions(any_context):
    with any_context.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # Expression indexes made per schema, the full-text index (FTS5 / tsvector) and the facet
    # values (both made by SEARCH_DDL, not by the table definitions) are ours on purpose;
    # anything else is drift.
    drift = [
        d
        for d in diff
        if not (d[0] == "remove_index" and d[1].name.startswith("ix_obj_"))
        and not (d[0] == "remove_table" and d[1].name.startswith((SEARCH_TABLE_PREFIX, FACET_TABLE)))
        and not (d[0] == "remove_index" and d[1].table.name.startswith((SEARCH_TABLE_PREFIX, FACET_TABLE)))
    ]
    assert drift == []


def test_upgrading_twice_is_harmless(any_context):
    any_context.db.upgrade()
    any_context.db.upgrade()


def test_data_survives_a_restart(any_settings):
    first = Context(any_settings)
    saved = ObjectService(first).save_object(
        {"name": "Kept", "type": "api", "location": "http://x"}, "openconnector", "source"
    )
    first.close()
    second = Context(any_settings)
    try:
        assert ObjectService(second).find(saved["id"])["name"] == "Kept"
    finally:
        second.close()


def test_secrets_are_encrypted_at_rest_and_masked_in_answers(context):
    objects = ObjectService(context)
    saved = objects.save_object(
        {
            "name": "Secret",
            "type": "api",
            "location": "http://x",
            "auth": "basic",
            "authenticationConfig": {"username": "alice", "password": "hunter2"},
            "configuration": {"headers": {"Authorization": "Bearer tok-123"}},
        },
        "openconnector",
        "source",
    )
    assert saved["authenticationConfig"]["password"] == "********"
    assert saved["configuration"]["headers"]["Authorization"] == "********"
    with context.db.engine.connect() as conn:
        raw = conn.exec_driver_sql("SELECT object FROM objects WHERE uuid = ?", (saved["id"],)).scalar_one()
    assert "hunter2" not in raw and "tok-123" not in raw and "enc:v1:" in raw
    revealed = objects.reveal(saved, objects.registers.get_schema("source"))
    assert revealed["authenticationConfig"]["password"] == "hunter2"
    # Sending the mask back keeps the stored secret.
    objects.save_object(
        {**{k: v for k, v in saved.items() if k != "@self"}, "name": "Secret 2"}, "openconnector", "source"
    )
    again = objects.reveal(saved, objects.registers.get_schema("source"))
    assert again["authenticationConfig"]["password"] == "hunter2" and again["name"] == "Secret 2"


def test_an_older_database_learns_the_file_and_harvest_source_types(context):
    from sqlalchemy import select, text, update

    from openconnector.store import tables as t

    old = ["api", "json", "xml", "soap", "database", "file"]
    with context.db.engine.begin() as conn:
        row = conn.execute(select(t.schemas.c.id, t.schemas.c.data).where(t.schemas.c.slug == "source")).one()
        data = {**row.data, "properties": {**row.data["properties"], "type": {"type": "string", "enum": old}}}
        conn.execute(update(t.schemas).where(t.schemas.c.id == row.id).values(data=data))
        conn.execute(text("UPDATE alembic_version SET version_num = '0004_oauth_tokens'"))
    context.db.upgrade()
    with context.db.engine.connect() as conn:
        data = conn.execute(select(t.schemas.c.data).where(t.schemas.c.slug == "source")).scalar_one()
    assert data["properties"]["type"]["enum"][:6] == old
    assert {"csv", "jsonl", "xlsx", "dcat"} <= set(data["properties"]["type"]["enum"])


def test_an_older_database_gets_its_objects_indexed_for_search(any_context, make_dcat):
    from sqlalchemy import text

    make_dcat(any_context)
    objects = ObjectService(any_context)
    objects.save_objects([{"title": "Zwembad"}, {"title": "Bibliotheek"}], "dcat", "dataset")
    with any_context.db.engine.begin() as conn:  # as a database of before 0009_search was
        if conn.dialect.name == "sqlite":
            conn.execute(text("DROP TRIGGER objects_search_delete"))
        else:
            conn.execute(text("DROP TABLE object_facets"))
        conn.execute(text("DROP TABLE object_search"))
        conn.execute(text("DROP TABLE file_texts"))  # made by the migration after 0009_search
        conn.execute(text("UPDATE alembic_version SET version_num = '0008_files'"))
    any_context.db.upgrade()
    assert [o["title"] for o in objects.find_all("dcat", "dataset", search="zwem")["results"]] == ["Zwembad"]
    # on PostgreSQL the total is counted from object_facets: its rows were backfilled too
    assert objects.find_all("dcat", "dataset", limit=0)["total"] == 2
    objects.delete_objects([o["id"] for o in objects.find_all("dcat", "dataset")["results"]])
    with any_context.db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM object_search")).scalar_one() == 0


@pytest.mark.postgres
def test_without_the_unaccent_extension_search_still_folds_accents_and_says_so(pg_url, settings, caplog):
    """A role that may create tables but not extensions (no CREATE on the database): the
    migration warns and builds the search configuration without unaccent."""
    import logging
    import uuid
    from dataclasses import replace

    from sqlalchemy import create_engine, make_url, text

    from openconnector.register.registers import RegisterService

    role = f"oc_plain_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT ALL ON SCHEMA public TO "{role}"'))
    own_url = make_url(pg_url).set(username=role, password=None).render_as_string(hide_password=False)
    try:
        with caplog.at_level(logging.WARNING, logger="openconnector.migrations"):
            context = Context(replace(settings, database_url=own_url))
        try:
            assert "unaccent extension not available" in caplog.text
            registers = RegisterService(context)
            registers.create_register({"title": "Places", "slug": "places"})
            registers.create_schema(
                {"title": "Place", "slug": "place", "properties": {"title": {"type": "string"}}},
                register="places",
            )
            objects = ObjectService(context)
            objects.save_objects([{"title": "Café de Klok"}, {"title": "Kerk"}], "places", "place")
            found = objects.find_all("places", "place", search="cafe")["results"]
            assert [o["title"] for o in found] == ["Café de Klok"]
        finally:
            context.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
        admin.dispose()
