"""The same storage code on PostgreSQL: migrations from empty, repositories, cascade delete.

A throw-away cluster from Debian's postgresql package, on loopback, for this module only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.counselors import authenticate, create_counselor, remove_counselor
from server.db.database import migrate_in_child, open_database
from server.db.schema_migrations import current_revision, head_revision
from server.platform.settings import Settings
from server.sessions.store import (
    create_session,
    get_session,
    get_session_by_code,
    set_session_status,
    update_session,
)
from tests.pgserver import postgres_cluster


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    with postgres_cluster() as url:
        yield url


@pytest.fixture
async def db(postgres_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(Settings(data_dir=tmp_path, database_url=postgres_url))
    yield engine
    await engine.dispose()


async def test_migrations_and_repositories_on_postgresql(
    db: AsyncEngine, postgres_url: str
) -> None:
    url = Settings(database_url=postgres_url).async_database_url
    assert current_revision(url) == head_revision()
    async with db.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {"counselors", "sessions", "alembic_version"} <= tables

    ani = await create_counselor(db, "pg.ani", "kata-sandi-ani")
    assert await authenticate(db, "PG.ANI", "kata-sandi-ani") == ani
    made = await create_session(db, ani.id, title="Karier", template="classic", password="pelangi")
    assert made.created_at.tzinfo is not None
    found = await get_session_by_code(db, made.code.lower())
    assert found == made
    changed = await update_session(
        db, made.id, ani.id, title="Karier 2", template="online", scheduled_at=None
    )
    assert changed is not None
    assert changed.title == "Karier 2"
    opened = await set_session_status(db, made.id, "open")
    assert opened is not None
    assert opened.opened_at is not None
    assert await remove_counselor(db, ani.id)
    assert await get_session(db, made.id) is None, "ON DELETE CASCADE on PostgreSQL too"


async def test_processes_that_start_together_migrate_in_turn() -> None:
    """Three servers starting at once on one empty PostgreSQL (a cluster's nodes): each
    migrates in a child process of its own; one creates the schema, the others wait for it
    (an advisory lock) and find nothing to do. Without the lock two of them failed on
    CREATE TABLE alembic_version."""
    with postgres_cluster() as url:
        settings = Settings(database_url=url)
        await asyncio.gather(*(migrate_in_child(settings) for _ in range(3)))
        assert current_revision(settings.async_database_url) == head_revision()
