"""OAuth2 access tokens shared across processes and runs (encrypted)

Revision ID: 0004_oauth_tokens
Revises: 0004_endpoint_logs
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_oauth_tokens"
down_revision = "0004_endpoint_logs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oauth_tokens",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("created", sa.String(40), nullable=False),
    )
    op.create_index("ix_oauth_tokens_client", "oauth_tokens", ["client"])


def downgrade() -> None:
    op.drop_index("ix_oauth_tokens_client", "oauth_tokens")
    op.drop_table("oauth_tokens")
