"""Files on objects (files)

One row per file attached to an object: its sanitised name, content type, size,
sha256 and labels, whether it is published, where its bytes are (``storage_key``
in the configured storage: a directory or an S3 bucket) and, for files a
synchronisation fetched, the source URL with its ETag and Last-Modified. Rows go
with their object (``ON DELETE CASCADE``).

Revision ID: 0008_files
Revises: 0007_outbox
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008_files"
down_revision = "0007_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("files"):  # a database put back to an older revision
        return
    op.create_table(
        "files",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("uuid", sa.String(36), nullable=False, unique=True),
        sa.Column("object_id", sa.Integer, sa.ForeignKey("objects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("object_uuid", sa.String(36), nullable=False),
        sa.Column("register_id", sa.Integer, nullable=False),
        sa.Column("schema_id", sa.Integer, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("labels", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("published", sa.String(40)),
        sa.Column("storage_key", sa.String(300), nullable=False),
        sa.Column("source_url", sa.Text),
        sa.Column("source_etag", sa.String(255)),
        sa.Column("source_last_modified", sa.String(64)),
        sa.Column("owner", sa.String(190)),
        sa.Column("created", sa.String(40), nullable=False),
        sa.Column("updated", sa.String(40), nullable=False),
    )
    op.create_index("ix_files_object", "files", ["object_id", "id"])
    op.create_index("ix_files_object_uuid", "files", ["object_uuid"])


def downgrade() -> None:
    op.drop_index("ix_files_object_uuid", "files")
    op.drop_index("ix_files_object", "files")
    op.drop_table("files")
