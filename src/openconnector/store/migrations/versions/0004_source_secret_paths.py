"""the built-in source schema treats more values as secrets

Header values with credential names, the password of ``configuration.auth``,
the password and credential query values of ``location``, values given as
numbers or objects, and paths a user marks secret (``secretFields``). The stored
schema gets the current configuration and the ``secretFields`` property; from
then on answers mask those values, and each source encrypts them at its next save.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import select, update

from openconnector.register.builtin import BUILTIN_REGISTERS
from openconnector.store import tables as t

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    source = BUILTIN_REGISTERS["openconnector"]["schemas"]["source"]
    register = conn.execute(select(t.registers).where(t.registers.c.slug == "openconnector")).first()
    ids = list((register.data or {}).get("schemas", [])) if register else []
    for row in conn.execute(
        select(t.schemas).where(t.schemas.c.slug == "source", t.schemas.c.id.in_(ids or [-1]))
    ):
        data = dict(row.data)
        data["configuration"] = {**(data.get("configuration") or {}), **source["configuration"]}
        data["properties"] = {
            **(data.get("properties") or {}),
            "secretFields": source["properties"]["secretFields"],
        }
        conn.execute(update(t.schemas).where(t.schemas.c.id == row.id).values(data=data))


def downgrade() -> None:
    pass
