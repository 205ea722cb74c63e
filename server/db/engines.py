"""The SQLAlchemy engines on the database's address: the asyncio one the server uses, and the
synchronous one the migrations run on (server/db/schema_migrations.py). SQLite gets its
foreign keys and a writer's wait on every connection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

# Where ``migrate_in_child`` gives the child process the database's address (a synchronous
# driver's URL): the environment, never the command line where ``ps`` shows it.
MIGRATE_URL_VARIABLE = "LINGKAR_MIGRATE_URL"
# How long SQLite waits for another writer (the CLI while the server runs) before failing.
SQLITE_BUSY_TIMEOUT_S = 10


def sync_url(url: URL) -> URL:
    """The same database through a synchronous driver (psycopg 3 does both)."""
    if url.get_backend_name() == "sqlite":
        return url.set(drivername="sqlite+pysqlite")
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless each connection asks.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _prepare(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite" and url.database:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        return {"connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S}}
    return {}


def create_database_engine(url: URL) -> AsyncEngine:
    engine = create_async_engine(url, pool_pre_ping=True, **_prepare(url))
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_sync_engine(url: URL) -> Engine:
    sync = sync_url(url)
    # NullPool: the migration's connection is closed for good when it is done.
    engine = create_engine(sync, poolclass=NullPool, **_prepare(sync))
    if sync.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine
