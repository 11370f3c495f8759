"""Text extracted from files, for search (file_texts)

One row per file whose bytes were looked at by the text extractor
(``files/extraction.py``): the text (cut at a size limit), or why there is none.
``checksum`` is that of the bytes the text came from: a file whose bytes changed
since (a re-fetched document) has a different checksum, so it is extracted
again and its old text no longer matches in search. Rows go with their file.

Revision ID: 0011_file_text
Revises: 0009_search
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_file_text"
down_revision = "0009_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("file_texts"):  # a database put back to an older revision
        return
    op.create_table(
        "file_texts",
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("text", sa.Text),
        sa.Column("characters", sa.Integer, nullable=False),
        sa.Column("truncated", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("extracted", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("file_texts")
