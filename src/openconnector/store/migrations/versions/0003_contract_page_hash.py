"""contracts remember the page they were last seen on (page_hash)

A re-run skips a page whose records are byte-for-byte what they were when its
contracts were last written or checked, without hashing each record.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("synchronization_contracts") as batch:
        batch.add_column(sa.Column("page_hash", sa.String(32), nullable=True))
    op.create_index("ix_contract_sync_page", "synchronization_contracts", ["synchronization_id", "page_hash"])


def downgrade() -> None:
    op.drop_index("ix_contract_sync_page", "synchronization_contracts")
    with op.batch_alter_table("synchronization_contracts") as batch:
        batch.drop_column("page_hash")
