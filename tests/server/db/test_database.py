from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from server.accounts.counselors import create_counselor, remove_counselor
from server.db.database import MigrationError, migrate_in_child, open_database
from server.db.engines import sync_url
from server.db.schema import metadata
from server.db.schema_migrations import current_revision, head_revision, migrate
from server.platform.config_file import load_settings
from server.platform.settings import Settings, SettingsError
from server.sessions.store import create_session, get_session


def test_migrations_create_the_schema_from_empty(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new")
    url = settings.async_database_url
    assert current_revision(url) is None
    migrate(url)
    assert current_revision(url) == head_revision()
    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert {"counselors", "sessions", "alembic_version"} <= tables
        # The migration and the tables the code uses describe the same schema.
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    engine.dispose()
    migrate(url)  # running again at the next start changes nothing
    assert current_revision(url) == head_revision()


async def test_deleting_a_counselor_deletes_their_sessions(tmp_path: Path) -> None:
    db = await open_database(Settings(data_dir=tmp_path))
    try:
        ani = await create_counselor(db, "ani", "kata-sandi-1")
        budi = await create_counselor(db, "budi", "kata-sandi-2")
        hers = await create_session(db, ani.id, title="Mengelola emosi", template="online")
        his = await create_session(db, budi.id, title="Karier", template="classic")
        assert await remove_counselor(db, ani.id)
        assert await get_session(db, hers.id) is None
        assert await get_session(db, his.id) is not None
    finally:
        await db.dispose()


async def test_foreign_keys_are_enforced_on_sqlite(tmp_path: Path) -> None:
    db = await open_database(Settings(data_dir=tmp_path))
    try:
        async with db.connect() as conn:
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
        with pytest.raises(Exception, match="FOREIGN KEY"):
            await create_session(db, 4242, title="Nobody's", template="online")
    finally:
        await db.dispose()
    # The database is a plain SQLite file in the data directory.
    with sqlite3.connect(tmp_path / "lingkar.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (0,)


def test_database_url_setting() -> None:
    default = Settings(data_dir=Path("/srv/lingkar"))
    assert str(default.async_database_url) == "sqlite+aiosqlite:////srv/lingkar/lingkar.sqlite3"
    pg = load_settings({"LINGKAR_DATABASE_URL": "postgresql://u:secret@db/lingkar"})
    assert pg.async_database_url.drivername == "postgresql+psycopg"
    assert pg.async_database_url.password == "secret"
    assert Settings(database_url="sqlite:///x.db").async_database_url.drivername == (
        "sqlite+aiosqlite"
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not a url", "not a database URL"),
        ("mysql://u:p@h/db", "not supported"),
        ("postgresql+asyncpg://u:p@h/db", r"use the driver postgresql\+psycopg"),
        ("sqlite://", "needs a file path"),
        ("sqlite:///:memory:", "needs a file path"),
    ],
)
def test_invalid_database_url_names_the_setting(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as error:
        load_settings({"LINGKAR_DATABASE_URL": raw})
    assert str(error.value).startswith("database_url:")
    assert "p@h" not in str(error.value), "a password in the URL is never repeated"


@pytest.mark.parametrize("raw", ["abc", "00" * 31, "zz" * 32])
def test_invalid_secret_key_names_the_setting(raw: str) -> None:
    with pytest.raises(SettingsError, match=r"^secret_key:"):
        load_settings({"LINGKAR_SECRET_KEY": raw})


async def test_serve_migrates_in_a_child_process(tmp_path: Path) -> None:
    """What ``lingkar serve`` runs at start: the schema is made by the child process."""
    settings = Settings(data_dir=tmp_path / "child")
    await migrate_in_child(settings)
    assert current_revision(settings.async_database_url) == head_revision()
    await migrate_in_child(settings)  # the next start changes nothing
    assert current_revision(settings.async_database_url) == head_revision()


async def test_a_failed_migration_says_why_without_the_password(tmp_path: Path) -> None:
    """A database nobody answers on: the reason is the driver's, in one line; the password
    given in the address appears nowhere in it."""
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql://lingkar:rahasia-sekali@127.0.0.1:9/lingkar",
    )
    with pytest.raises(MigrationError, match="could not be migrated: OperationalError") as caught:
        await migrate_in_child(settings)
    assert "rahasia-sekali" not in str(caught.value)
    assert "\n" not in str(caught.value)
