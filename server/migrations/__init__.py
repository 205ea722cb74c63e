"""Alembic migrations of the database schema, run by ``server.database.migrate`` at every start."""
