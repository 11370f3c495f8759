"""server-side UI sessions (ui_sessions)

A signed cookie alone stays valid until it expires, even after logout; the
cookie now names a row here, and a session ends when its row is deleted.

Revision ID: 0006_ui_sessions
Revises: 0005_source_types
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_ui_sessions"
down_revision = "0005_source_types"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("ui_sessions"):  # a database put back to an older revision
        return
    op.create_table(
        "ui_sessions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("username", sa.String(190), nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("last_seen", sa.String(40), nullable=False),
        sa.Column("expires", sa.String(40), nullable=False),
        sa.Column("address", sa.String(64)),
        sa.Column("user_agent", sa.String(300)),
    )
    op.create_index("ix_ui_sessions_username", "ui_sessions", ["username"])
    op.create_index("ix_ui_sessions_expires", "ui_sessions", ["expires"])


def downgrade() -> None:
    op.drop_table("ui_sessions")
