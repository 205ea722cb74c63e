"""The database: the asyncio engine the server uses, and the migrations run at every start.

The same code runs on the embedded SQLite file and on PostgreSQL. Alembic runs on a plain
synchronous engine (in a thread when an event loop is running), so its environment never needs
an event loop of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from server.platform.settings import SETTINGS, Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The database engine, open from start-up to cleanup (``database_context``).
DATABASE = web.AppKey("database", AsyncEngine)
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


def _create_sync_engine(url: URL) -> Engine:
    sync = sync_url(url)
    # NullPool: the migration's connection is closed for good when it is done.
    engine = create_engine(sync, poolclass=NullPool, **_prepare(sync))
    if sync.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def migrate(url: URL) -> None:
    """Bring the database to the newest schema (creates it from empty); synchronous."""
    engine = _create_sync_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def current_revision(url: URL) -> str | None:
    engine = _create_sync_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def open_database(settings: Settings) -> AsyncEngine:
    """Migrate (in a thread: it blocks), then open the asyncio engine."""
    url = settings.async_database_url
    await asyncio.to_thread(migrate, url)
    return create_database_engine(url)


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: the engine lives exactly as long as the application."""
    engine = await open_database(app[SETTINGS])
    app[DATABASE] = engine
    try:
        yield
    finally:
        await engine.dispose()
