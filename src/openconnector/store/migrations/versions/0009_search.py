"""full-text index of objects (object_search) and covered property indexes

Revision ID: 0009_search
Revises: 0008_files

SQLite gets an FTS5 table, PostgreSQL a tsvector table in the text search
configuration ``openconnector_nl`` (unaccent, then Dutch stemming without stop
words). Without the ``unaccent`` extension (it needs PostgreSQL's contrib package
and the right to create it) the configuration is made without it and a warning is
logged: the text is folded in Python as well, so accents still match. Existing
objects are indexed here; each schema's property indexes are rebuilt to cover the
publication date (``RegisterService.ensure_indexes``), so SQLite counts facets from
them; PostgreSQL, which cannot, gets ``object_facets`` (``register/facets.py``).
"""

import logging

import sqlalchemy as sa
from alembic import op

from openconnector.register import facets, fulltext
from openconnector.store.tables import SEARCH_DDL

revision = "0009_search"
down_revision = "0008_files"
branch_labels = None
depends_on = None

log = logging.getLogger("openconnector.migrations")


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    if dialect == "postgresql":
        _postgres_configuration(conn)
    inspector = sa.inspect(conn)
    exists, facet_rows = inspector.has_table("object_search"), inspector.has_table("object_facets")
    for statement in SEARCH_DDL[dialect]:
        conn.exec_driver_sql(statement)
    if not exists:
        fulltext.reindex(conn)
    if dialect == "postgresql" and not facet_rows:
        facets.reindex(conn)
    _cover_indexes(conn)


def _postgres_configuration(conn: sa.Connection) -> None:
    known = conn.exec_driver_sql("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", (fulltext.CONFIG,)).first()
    if known:
        return
    unaccent = True
    try:
        with conn.begin_nested():
            conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
    except sa.exc.DBAPIError as error:
        unaccent = False
        log.warning(
            "unaccent extension not available (%s): searching without it; accents are still "
            "folded before indexing",
            str(error).splitlines()[0],
        )
    stem = f"{fulltext.CONFIG}_stem"
    conn.exec_driver_sql(f"CREATE TEXT SEARCH DICTIONARY {stem} (TEMPLATE = snowball, Language = dutch)")
    conn.exec_driver_sql(f"CREATE TEXT SEARCH CONFIGURATION {fulltext.CONFIG} (COPY = pg_catalog.simple)")
    chain = f"unaccent, {stem}" if unaccent else stem
    conn.exec_driver_sql(
        f"ALTER TEXT SEARCH CONFIGURATION {fulltext.CONFIG} ALTER MAPPING FOR "
        f"asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH {chain}"
    )


def _cover_indexes(conn: sa.Connection) -> None:
    from openconnector.register.registers import cover_indexes

    for row in conn.exec_driver_sql("SELECT id, data FROM schemas"):
        data = row[1] if isinstance(row[1], dict) else fulltext._loads(row[1])
        published = (data.get("properties") or {}).get("publicatiedatum")
        if isinstance(published, dict) and published.get("format") in ("date", "date-time"):
            cover_indexes(conn, {**data, "id": row[0]})  # other schemas' indexes stay as they are


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS objects_search_delete")
    else:
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS objects_search_delete ON objects")
        conn.exec_driver_sql("DROP FUNCTION IF EXISTS objects_search_delete()")
    conn.exec_driver_sql("DROP TABLE IF EXISTS object_search")
    conn.exec_driver_sql("DROP TABLE IF EXISTS object_facets")
