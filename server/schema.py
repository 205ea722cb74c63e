"""The database tables (SQLAlchemy Core); Alembic migrations in server/migrations create them.

Times are stored in UTC. Deleting a counselor deletes their sessions, and deleting a session
deletes everything of it: every foreign key is ON DELETE CASCADE (SQLite enforces it only with
``PRAGMA foreign_keys=ON``, which server/database.py sets on every connection).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
)

# Stable constraint names, so later migrations can alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Column sizes; the validating code checks the same limits before it writes.
USERNAME_MAX = 40
DISPLAY_NAME_MAX = 80
TITLE_MAX = 120
# An argon2 encoded hash is about 100 characters; room for stronger parameters later.
PASSWORD_HASH_MAX = 255
SESSION_CODE_LENGTH = 7  # XXX-XXX
TEMPLATE_KEY_MAX = 40
SESSION_STATUSES: Final = ("planned", "open", "ended")

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every back-end (SQLite keeps no time zone and returns naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime reached the database; give it a time zone")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"the database returned {type(value).__name__} for a datetime")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


counselors = Table(
    "counselors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(USERNAME_MAX), nullable=False, unique=True),
    Column("display_name", String(DISPLAY_NAME_MAX), nullable=False),
    Column("password_hash", String(PASSWORD_HASH_MAX), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

# One group-guidance meeting: planned, then open while it runs, then ended.
sessions = Table(
    "sessions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(SESSION_CODE_LENGTH), nullable=False, unique=True),
    Column("title", String(TITLE_MAX), nullable=False),
    Column("template", String(TEMPLATE_KEY_MAX), nullable=False),
    Column("password_hash", String(PASSWORD_HASH_MAX), nullable=True),
    Column("scheduled_at", UtcDateTime(), nullable=True),
    Column("status", String(10), nullable=False, server_default="planned"),
    Column(
        "counselor_id",
        Integer,
        ForeignKey("counselors.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("opened_at", UtcDateTime(), nullable=True),
    Column("ended_at", UtcDateTime(), nullable=True),
    CheckConstraint("status IN ('planned', 'open', 'ended')", name="status"),
)
