"""Alembic environment: run by db.open_ledger with an open connection (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from publisher.delivery.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
