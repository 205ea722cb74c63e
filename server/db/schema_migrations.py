"""The migrations: Alembic's upgrade to the newest schema, and the revisions' names.

Alembic, with mako and pygments that it brings, holds about 18 MB once a migration has run
(docs/performance.md, "Memory"). ``lingkar serve`` therefore runs this module as a child
process at start (``python -m server.db.schema_migrations``, the database's address in the
environment, never on the command line where ``ps`` shows it) and the server process never
imports it; the CLI and the tests migrate in their own process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL

from server.db.engines import MIGRATE_URL_VARIABLE, create_sync_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


# The advisory lock that makes concurrent migrations take turns (an arbitrary 64-bit number:
# "lingkar" in ASCII).
LOCK_KEY = 0x6C696E676B6172


def migrate(url: URL) -> None:
    """Bring the database to the newest schema (creates it from empty); synchronous."""
    engine = create_sync_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Several processes may start at once on one PostgreSQL (a cluster's nodes after
                # an upgrade): one migrates, the others wait, then find nothing to do. The lock
                # is the transaction's: released at its commit or rollback.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def current_revision(url: URL) -> str | None:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def main() -> int:
    address = os.environ.get(MIGRATE_URL_VARIABLE)
    if not address:
        print(f"{MIGRATE_URL_VARIABLE} is not set: no database to migrate", file=sys.stderr)
        return 2
    try:
        migrate(make_url(address))
    except Exception as error:  # the parent shows this line to the person starting the server
        print(f"{type(error).__name__}: {error}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
