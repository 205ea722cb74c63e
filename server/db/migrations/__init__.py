"""Alembic migrations of the database schema, run by ``server.db.database.migrate`` at every
start."""
