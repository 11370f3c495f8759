"""sources may be csv, jsonl, xlsx and dcat (files and harvests as sources)

The built-in source schema of an existing database gets the new ``type`` values;
a new database gets them from 0002.

Revision ID: 0005_source_types
Revises: 0004_oauth_tokens
"""

from alembic import op
from sqlalchemy import select, update

from openconnector.clock import now_iso
from openconnector.register.builtin import BUILTIN_SCHEMAS
from openconnector.store import tables as t

revision = "0005_source_types"
down_revision = "0004_oauth_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    wanted = BUILTIN_SCHEMAS["source"]["properties"]["type"]
    for row in conn.execute(select(t.schemas.c.id, t.schemas.c.data).where(t.schemas.c.slug == "source")):
        data = dict(row.data or {})
        properties = dict(data.get("properties") or {})
        current = properties.get("type")
        if not isinstance(current, dict) or "enum" not in current:
            continue
        enum = list(current["enum"])
        enum += [value for value in wanted["enum"] if value not in enum]
        properties["type"] = {**current, "enum": enum}
        data["properties"] = properties
        conn.execute(update(t.schemas).where(t.schemas.c.id == row.id).values(data=data, updated=now_iso()))


def downgrade() -> None:
    pass
