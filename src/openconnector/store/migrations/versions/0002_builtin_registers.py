"""built-in registers: openconnector (configuration) and publication (catalogs)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from openconnector.register.builtin import install

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    install(op.get_bind())


def downgrade() -> None:
    pass
