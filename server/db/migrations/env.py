"""Alembic's environment: runs on the connection ``server.db.database.migrate`` hands it.

The server runs migrations itself at start (no alembic.ini is needed); the connection is a
synchronous one, so this file never needs an event loop of its own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from server.db.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through server.db.database.migrate (lingkar serve does)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
