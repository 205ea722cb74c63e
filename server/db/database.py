"""The database: the asyncio engine the server uses, opened after the migrations that run at
every start (server/db/schema_migrations.py).

The same code runs on the embedded SQLite file and on PostgreSQL. Alembic runs on a plain
synchronous engine: in a thread of this process (the CLI, the tests), or in a child process
(``lingkar serve``, so that the server never loads Alembic), never on an event loop of its own.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engines import MIGRATE_URL_VARIABLE, create_database_engine, sync_url
from server.platform.settings import SETTINGS, Settings

# The database engine, open from start-up to cleanup (``database_context``).
DATABASE = web.AppKey("database", AsyncEngine)
# Set by ``lingkar serve`` once its child process has migrated: the app then only opens.
MIGRATED = web.AppKey("migrated", bool)


class MigrationError(RuntimeError):
    """The child process could not bring the database to the newest schema."""


async def migrate_in_child(settings: Settings) -> None:
    """Migrate in a child process (``python -m server.db.schema_migrations``); raise with the
    child's reason when it fails."""
    address = sync_url(settings.async_database_url).render_as_string(hide_password=False)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.db.schema_migrations",
        env={**os.environ, MIGRATE_URL_VARIABLE: address},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await child.communicate()
    if child.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {child.returncode}"
        raise MigrationError(f"the database could not be migrated: {reason}")


async def open_database(settings: Settings, migrated: bool = False) -> AsyncEngine:
    """Migrate in this process (in a thread: it blocks) unless already ``migrated``, then open
    the asyncio engine."""
    url = settings.async_database_url
    if not migrated:
        from server.db.schema_migrations import migrate  # loads Alembic: see that module

        await asyncio.to_thread(migrate, url)
    return create_database_engine(url)


async def database_context(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context: the engine lives exactly as long as the application."""
    engine = await open_database(app[SETTINGS], migrated=app.get(MIGRATED, False))
    app[DATABASE] = engine
    try:
        yield
    finally:
        await engine.dispose()
