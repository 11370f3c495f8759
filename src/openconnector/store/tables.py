"""Table definitions (SQLAlchemy Core).

Registers, schemas and objects hold their documents as JSON so that any schema
a user writes is storable without DDL; the columns beside the document are the
ones every query filters on. High-volume bookkeeping (contracts, logs, locks)
lives in its own narrow, indexed tables. The migrations in ``migrations/``
create exactly these tables; ``tests/store/test_migrations.py`` keeps them equal.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

#: JSON on SQLite (text), JSONB on PostgreSQL (indexable, compact).
Document = JSON().with_variant(JSONB(), "postgresql")

#: Datetimes are stored as canonical ISO 8601 text in UTC ("2026-11-29T13:00:00+00:00"):
#: the same form objects use inside their documents, so they compare as strings in SQL.
Timestamp = String(40)

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(190), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, default=True),
    Column("created", Timestamp, nullable=False),
)

registers = Table(
    "registers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("slug", String(190), nullable=False, unique=True),
    Column("data", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
)

schemas = Table(
    "schemas",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("slug", String(190), nullable=False, index=True),
    Column("data", Document, nullable=False),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
)

objects = Table(
    "objects",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("register_id", Integer, ForeignKey("registers.id", ondelete="CASCADE"), nullable=False),
    Column("schema_id", Integer, ForeignKey("schemas.id", ondelete="CASCADE"), nullable=False),
    Column("object", Document, nullable=False),
    Column("version", String(40), nullable=False),
    Column("owner", String(190)),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Index("ix_objects_register_schema", "register_id", "schema_id", "id"),
)

contracts = Table(
    "synchronization_contracts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("synchronization_id", String(36), nullable=False),
    Column("origin_id", String(255), nullable=False),
    Column("origin_hash", String(64)),
    #: The target object's uuid (pull) or the id the remote API gave (push: a number, uuid or URL).
    Column("target_id", String(255)),
    Column("target_hash", String(64)),
    Column("mapping_hash", String(64)),
    Column("target_last_action", String(20)),
    Column("source_last_changed", Timestamp),
    Column("source_last_checked", Timestamp),
    Column("source_last_synced", Timestamp),
    Column("target_last_synced", Timestamp),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    #: The page (its records' fingerprint, salted with the run's mapping) a run last saw the record on.
    Column("page_hash", String(32)),
    UniqueConstraint("synchronization_id", "origin_id", name="uq_contract_sync_origin"),
    Index("ix_contract_sync_page", "synchronization_id", "page_hash"),
)

call_logs = Table(
    "call_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("source_id", String(36), index=True),
    Column("synchronization_id", String(36)),
    Column("status_code", Integer),
    Column("status_message", String(255)),
    Column("method", String(10)),
    Column("url", Text),
    Column("response_time", Float),
    Column("size", BigInteger),
    Column("request", Document),
    Column("response", Document),
    Column("created", Timestamp, nullable=False, index=True),
    Column("expires", Timestamp),
)

synchronization_logs = Table(
    "synchronization_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("synchronization_id", String(36), nullable=False, index=True),
    Column("message", Text),
    Column("status", String(20), nullable=False),
    Column("test", Boolean, nullable=False, default=False),
    Column("force", Boolean, nullable=False, default=False),
    Column("result", Document, nullable=False),
    Column("execution_time", Float),
    Column("user_id", String(190)),
    Column("created", Timestamp, nullable=False, index=True),
    Column("updated", Timestamp, nullable=False),
    Column("expires", Timestamp),
)

job_logs = Table(
    "job_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("job_id", String(36), nullable=False, index=True),
    Column("job_class", String(255)),
    Column("level", String(10), nullable=False),
    Column("message", Text),
    Column("arguments", Document),
    Column("execution_time", Float),
    Column("stack_trace", Document),
    Column("user_id", String(190)),
    Column("last_run", Timestamp),
    Column("next_run", Timestamp),
    Column("created", Timestamp, nullable=False, index=True),
    Column("expires", Timestamp),
)

locks = Table(
    "locks",
    metadata,
    Column("name", String(190), primary_key=True),
    Column("holder", String(190), nullable=False),
    Column("acquired", Timestamp, nullable=False),
    Column("expires", Timestamp, nullable=False),
)

endpoint_logs = Table(
    "endpoint_logs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("endpoint_id", String(36), index=True),
    Column("endpoint_name", String(255)),
    Column("consumer", String(255)),
    Column("method", String(10), nullable=False),
    Column("path", Text, nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("duration", Float),
    Column("message", Text),
    Column("created", Timestamp, nullable=False, index=True),
)

#: OAuth2 access tokens shared by every process of an instance (service, scheduler,
#: workers): ``key`` hashes the token URL, client id, scope and client secret, so a
#: rotated secret never finds the old token. The token is encrypted (store/secrets.py).
oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("client", String(64), nullable=False, index=True),
    Column("token", Text, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("created", Timestamp, nullable=False),
)

#: Object events waiting for the push synchronisations of their schema (connector/outbox.py).
#: Written in the transaction that changed the object; a row stays until it is delivered
#: (then deleted) or parked as ``failed`` after repeated failures.
outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("synchronization_id", String(36), nullable=False),
    Column("object_id", String(36), nullable=False),
    Column("action", String(10), nullable=False),
    Column("payload", Document),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    #: Unix seconds: not delivered before then (backoff).
    Column("next_attempt", Float, nullable=False),
    #: Unix seconds: a deliverer holds the row until then (several processes may deliver).
    Column("claimed_until", Float),
    Column("last_error", Text),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Index("ix_outbox_status_next", "status", "next_attempt"),
    Index("ix_outbox_object", "synchronization_id", "object_id", "id"),
)

#: UI login sessions, server-side: the cookie carries a random token, this table its
#: hash. Logging out, changing the password or removing the user deletes the rows,
#: so a copied cookie stops working at once (not when its signature expires).
ui_sessions = Table(
    "ui_sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("username", String(190), nullable=False, index=True),
    Column("created", Timestamp, nullable=False),
    Column("last_seen", Timestamp, nullable=False),
    Column("expires", Timestamp, nullable=False, index=True),
    Column("address", String(64)),
    Column("user_agent", String(300)),
)

#: Files attached to objects (``files/service.py``). The bytes live in the configured
#: storage (``files/storage.py``) under ``storage_key``; the row goes with its object.
#: ``source_*`` remember where a synchronisation fetched the file, to fetch it again
#: only when it changed.
files = Table(
    "files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("object_id", Integer, ForeignKey("objects.id", ondelete="CASCADE"), nullable=False),
    Column("object_uuid", String(36), nullable=False),
    Column("register_id", Integer, nullable=False),
    Column("schema_id", Integer, nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    #: sha256 of the bytes, hex.
    Column("checksum", String(64), nullable=False),
    Column("labels", Document, nullable=False),
    #: When the file was published (UTC ISO text), or null: not public.
    Column("published", Timestamp),
    Column("storage_key", String(300), nullable=False),
    Column("source_url", Text),
    Column("source_etag", String(255)),
    Column("source_last_modified", String(64)),
    Column("owner", String(190)),
    Column("created", Timestamp, nullable=False),
    Column("updated", Timestamp, nullable=False),
    Index("ix_files_object", "object_id", "id"),
    Index("ix_files_object_uuid", "object_uuid"),
)

#: The text of each file, for ``_search`` (``files/extraction.py`` fills it in the
#: background). ``checksum`` is that of the bytes the text came from: when it differs
#: from the file's, the text is stale (not searched) and the file is extracted again.
#: ``status``: ``done`` (text, possibly empty), ``none`` (not a PDF, DOCX, ODT or text
#: file, or too large), ``failed`` (the parser gave up; ``error`` says why).
file_texts = Table(
    "file_texts",
    metadata,
    Column("file_id", Integer, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("checksum", String(64), nullable=False),
    Column("status", String(10), nullable=False),
    Column("text", Text),
    Column("characters", Integer, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Column("error", Text),
    Column("extracted", Timestamp, nullable=False),
)
#: The full-text index of objects (``register/fulltext.py``), one row per object. Not a
#: SQLAlchemy table: on SQLite it is an FTS5 virtual table, on PostgreSQL a ``tsvector``
#: column in a text search configuration of its own. Migration 0009_search runs these.
SEARCH_DDL = {
    "sqlite": [
        "CREATE VIRTUAL TABLE IF NOT EXISTS object_search USING fts5("
        "title, body, extra, tokenize = 'unicode61 remove_diacritics 2')",
        "CREATE TRIGGER IF NOT EXISTS objects_search_delete AFTER DELETE ON objects "
        "BEGIN DELETE FROM object_search WHERE rowid = old.id; END",
    ],
    "postgresql": [
        "CREATE TABLE IF NOT EXISTS object_search ("
        "object_id integer PRIMARY KEY, extra text, document tsvector NOT NULL)",
        "CREATE INDEX IF NOT EXISTS ix_object_search_document ON object_search USING gin (document)",
        # facet values (register/facets.py): PostgreSQL only, SQLite counts from its expression indexes
        "CREATE TABLE IF NOT EXISTS object_facets ("
        "object_id integer NOT NULL, register_id integer NOT NULL, schema_id integer NOT NULL, "
        "name varchar(190) NOT NULL, value text NOT NULL, published varchar(40))",
        "CREATE INDEX IF NOT EXISTS ix_object_facets_count "
        "ON object_facets (register_id, schema_id, name, value, published)",
        "CREATE INDEX IF NOT EXISTS ix_object_facets_object ON object_facets (object_id)",
        # Rows go with their object. Not foreign keys: a key is checked row by row on every
        # insert (six rows per dataset); one statement-level trigger per delete costs less.
        "CREATE OR REPLACE FUNCTION objects_search_delete() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN DELETE FROM object_search WHERE object_id IN (SELECT id FROM gone); "
        "DELETE FROM object_facets WHERE object_id IN (SELECT id FROM gone); RETURN NULL; END $$",
        "DROP TRIGGER IF EXISTS objects_search_delete ON objects",
        "CREATE TRIGGER objects_search_delete AFTER DELETE ON objects REFERENCING OLD TABLE AS gone "
        "FOR EACH STATEMENT EXECUTE FUNCTION objects_search_delete()",
    ],
}
#: Tables the full-text index consists of (FTS5 keeps its data in shadow tables of this prefix),
#: and the facet values' table.
SEARCH_TABLE_PREFIX = "object_search"
FACET_TABLE = "object_facets"
