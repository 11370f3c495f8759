"""Alembic environment: runs on the connection openconnector hands over."""

from alembic import context

from openconnector.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - we always pass a connection
    raise RuntimeError("openconnector runs migrations through Database.upgrade()")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
