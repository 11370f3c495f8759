"""endpoint logs, the consumer schema, secrets of rules

Every request served through ``/api/endpoint/{path}`` leaves one row in
``endpoint_logs`` (endpoint, consumer, status, duration). The built-in
``openconnector`` register gains its ``consumer`` schema, and the ``rule`` schema
learns that an authentication rule's keys are secrets (encrypted at rest).

Revision ID: 0004_endpoint_logs
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from openconnector.register.builtin import BUILTIN_SCHEMAS, install

revision = "0004_endpoint_logs"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoint_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("endpoint_id", sa.String(length=36), nullable=True),
        sa.Column("endpoint_name", sa.String(length=255), nullable=True),
        sa.Column("consumer", sa.String(length=255), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("created", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("endpoint_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endpoint_logs_created"), ["created"], unique=False)
        batch_op.create_index(batch_op.f("ix_endpoint_logs_endpoint_id"), ["endpoint_id"], unique=False)
    bind = op.get_bind()
    install(bind)  # adds the consumer schema to an existing openconnector register
    _rule_secrets(bind)


def _rule_secrets(bind: sa.Connection) -> None:
    """A rule schema made before this revision gets its secretProperties."""
    from openconnector.store import tables as t

    reg = bind.execute(sa.select(t.registers).where(t.registers.c.slug == "openconnector")).first()
    if reg is None:
        return
    ids = list((reg.data or {}).get("schemas", []))
    row = bind.execute(
        sa.select(t.schemas).where(t.schemas.c.slug == "rule", t.schemas.c.id.in_(ids or [-1]))
    ).first()
    if row is None:
        return
    data = dict(row.data)
    data["configuration"] = {**(data.get("configuration") or {}), **BUILTIN_SCHEMAS["rule"]["configuration"]}
    bind.execute(sa.update(t.schemas).where(t.schemas.c.id == row.id).values(data=data))


def downgrade() -> None:
    with op.batch_alter_table("endpoint_logs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_endpoint_logs_endpoint_id"))
        batch_op.drop_index(batch_op.f("ix_endpoint_logs_created"))
    op.drop_table("endpoint_logs")
