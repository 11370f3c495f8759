"""Outbox of object events for push synchronisations; wider contract target ids

Revision ID: 0007_outbox
Revises: 0006_ui_sessions

A push synchronisation's contract keeps the id the remote API gave (a number, a
uuid or a URL), so ``target_id`` grows from 36 to 255 characters.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_outbox"
down_revision = "0006_ui_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("outbox"):
        return  # a database whose version was set back by hand (tests do): already there
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("synchronization_id", sa.String(36), nullable=False),
        sa.Column("object_id", sa.String(36), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("payload", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt", sa.Float, nullable=False),
        sa.Column("claimed_until", sa.Float),
        sa.Column("last_error", sa.Text),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("updated", sa.String(40), nullable=False),
    )
    op.create_index("ix_outbox_status_next", "outbox", ["status", "next_attempt"])
    op.create_index("ix_outbox_object", "outbox", ["synchronization_id", "object_id", "id"])
    with op.batch_alter_table("synchronization_contracts") as batch:
        batch.alter_column("target_id", type_=sa.String(255), existing_type=sa.String(36))


def downgrade() -> None:
    with op.batch_alter_table("synchronization_contracts") as batch:
        batch.alter_column("target_id", type_=sa.String(36), existing_type=sa.String(255))
    op.drop_index("ix_outbox_object", "outbox")
    op.drop_index("ix_outbox_status_next", "outbox")
    op.drop_table("outbox")
