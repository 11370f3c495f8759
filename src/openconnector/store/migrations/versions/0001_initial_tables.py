"""initial tables

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "call_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("source_id", sa.String(length=36), nullable=True),
        sa.Column("synchronization_id", sa.String(length=36), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("status_message", sa.String(length=255), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("response_time", sa.Float(), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("expires", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_call_logs_created"), ["created"], unique=False)
        batch_op.create_index(batch_op.f("ix_call_logs_source_id"), ["source_id"], unique=False)

    op.create_table(
        "job_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("job_class", sa.String(length=255), nullable=True),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column(
            "arguments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("execution_time", sa.Float(), nullable=True),
        sa.Column(
            "stack_trace",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("user_id", sa.String(length=190), nullable=True),
        sa.Column("last_run", sa.String(length=40), nullable=True),
        sa.Column("next_run", sa.String(length=40), nullable=True),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("expires", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("job_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_logs_created"), ["created"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_logs_job_id"), ["job_id"], unique=False)

    op.create_table(
        "locks",
        sa.Column("name", sa.String(length=190), nullable=False),
        sa.Column("holder", sa.String(length=190), nullable=False),
        sa.Column("acquired", sa.String(length=40), nullable=False),
        sa.Column("expires", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "registers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("slug", sa.String(length=190), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("updated", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_table(
        "schemas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("slug", sa.String(length=190), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("updated", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("schemas", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schemas_slug"), ["slug"], unique=False)

    op.create_table(
        "synchronization_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("synchronization_id", sa.String(length=36), nullable=False),
        sa.Column("origin_id", sa.String(length=255), nullable=False),
        sa.Column("origin_hash", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=36), nullable=True),
        sa.Column("target_hash", sa.String(length=64), nullable=True),
        sa.Column("mapping_hash", sa.String(length=64), nullable=True),
        sa.Column("target_last_action", sa.String(length=20), nullable=True),
        sa.Column("source_last_changed", sa.String(length=40), nullable=True),
        sa.Column("source_last_checked", sa.String(length=40), nullable=True),
        sa.Column("source_last_synced", sa.String(length=40), nullable=True),
        sa.Column("target_last_synced", sa.String(length=40), nullable=True),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("updated", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("synchronization_id", "origin_id", name="uq_contract_sync_origin"),
        sa.UniqueConstraint("uuid"),
    )
    op.create_table(
        "synchronization_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("synchronization_id", sa.String(length=36), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("test", sa.Boolean(), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("execution_time", sa.Float(), nullable=True),
        sa.Column("user_id", sa.String(length=190), nullable=True),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("updated", sa.String(length=40), nullable=False),
        sa.Column("expires", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("synchronization_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_synchronization_logs_created"), ["created"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_synchronization_logs_synchronization_id"), ["synchronization_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=190), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "objects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("schema_id", sa.Integer(), nullable=False),
        sa.Column(
            "object",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("owner", sa.String(length=190), nullable=True),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.Column("updated", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["register_id"], ["registers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["schema_id"], ["schemas.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.create_index("ix_objects_register_schema", ["register_id", "schema_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("objects", schema=None) as batch_op:
        batch_op.drop_index("ix_objects_register_schema")

    op.drop_table("objects")
    op.drop_table("users")
    with op.batch_alter_table("synchronization_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_synchronization_logs_synchronization_id"))
        batch_op.drop_index(batch_op.f("ix_synchronization_logs_created"))

    op.drop_table("synchronization_logs")
    op.drop_table("synchronization_contracts")
    with op.batch_alter_table("schemas", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_schemas_slug"))

    op.drop_table("schemas")
    op.drop_table("registers")
    op.drop_table("locks")
    with op.batch_alter_table("job_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_logs_job_id"))
        batch_op.drop_index(batch_op.f("ix_job_logs_created"))

    op.drop_table("job_logs")
    with op.batch_alter_table("call_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_logs_source_id"))
        batch_op.drop_index(batch_op.f("ix_call_logs_created"))

    op.drop_table("call_logs")
