"""The database tables (SQLAlchemy Core); Alembic migrations in server/migrations create them.

Times are stored in UTC. Deleting a counselor deletes their sessions, and deleting a session
deletes everything of it: every foreign key is ON DELETE CASCADE (SQLite enforces it only with
``PRAGMA foreign_keys=ON``, which server/db/database.py sets on every connection).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
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
END_REASON_MAX = 16
LOGIN_ID_HASH_CHARS = 64
DISPLAY_NAME_MAX = 80
TITLE_MAX = 120
# An argon2 encoded hash is about 100 characters; room for stronger parameters later.
PASSWORD_HASH_MAX = 255
SESSION_CODE_LENGTH = 7  # XXX-XXX
TEMPLATE_KEY_MAX = 40
SESSION_STATUSES: Final = ("planned", "open", "ended")
# Why a session ended when its counselor did not end it (sessions.end_reason).
ABANDONED: Final = "abandoned"

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

# One counselor's login (one browser's cookie): the cookie carries a random id, the table its
# SHA-256, so logging out (this browser, or everywhere) revokes it at once, even a copied cookie.
logins = Table(
    "logins",
    metadata,
    Column("id_hash", String(LOGIN_ID_HASH_CHARS), primary_key=True),
    Column(
        "counselor_id",
        Integer,
        ForeignKey("counselors.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
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
    # Optional: what an observer types on the observer link (hashed like the session password).
    Column("observer_password_hash", String(PASSWORD_HASH_MAX), nullable=True),
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
    # Why it ended, when not by its counselor: "abandoned" (nobody in it for a while).
    Column("end_reason", String(END_REASON_MAX), nullable=True),
    # Whether the counselor has seen (and hidden) the dashboard's notice about that.
    Column("notice_seen", Boolean, nullable=False, server_default=false()),
    CheckConstraint("status IN ('planned', 'open', 'ended')", name="status"),
)


# Other counselors of the same server who lead a session with its owner (issue 13): each
# enters with their own login and leads; only the owner edits or deletes the session.
co_leaders = Table(
    "co_leaders",
    metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "counselor_id",
        Integer,
        ForeignKey("counselors.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    Column("added_at", UtcDateTime(), nullable=False),
)


# --- the counseling record of a session (issue 6); all of it goes with the session -----------

PARTICIPANT_KEY_MAX = 32  # the opaque participant id of the live session
MEMBER_NAME_MAX = 40
PLAN_TOPIC_MAX = 200
PLAN_TEXT_MAX = 4000
GROUP_SIZE_MIN = 2  # the smallest group (../shared/domain.md) up to a whole class
GROUP_SIZE_MAX = 40
TOPIC_KINDS: Final = ("assigned", "free")  # topik tugas, topik bebas
FIELDS: Final = ("personal", "social", "learning", "career")
OUTCOMES: Final = ("admitted", "denied", "removed", "left", "waiting")


def _session_fk() -> Column[int]:
    return Column(
        "session_id",
        Integer,
        ForeignKey("sessions.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


# The session plan (RPL, Rencana Pelaksanaan Layanan), one per session.
plans = Table(
    "plans",
    metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("topic", String(PLAN_TOPIC_MAX), nullable=False, server_default=""),
    Column("topic_kind", String(10), nullable=True),
    Column("goals", Text, nullable=False, server_default=""),
    Column("field", String(10), nullable=True),
    Column("materials", Text, nullable=False, server_default=""),
    Column("evaluation_plan", Text, nullable=False, server_default=""),
    Column("expected_members", Text, nullable=False, server_default=""),
    Column("group_size", Integer, nullable=True),
    CheckConstraint("topic_kind IS NULL OR topic_kind IN ('assigned', 'free')", name="topic_kind"),
    CheckConstraint(
        "field IS NULL OR field IN ('personal', 'social', 'learning', 'career')", name="field"
    ),
)

# Who came, when, and how their presence ended. Personal data: deleted after retention.
attendance = Table(
    "attendance",
    metadata,
    Column("id", Integer, primary_key=True),
    _session_fk(),
    Column("participant", String(PARTICIPANT_KEY_MAX), nullable=False),
    Column("name", String(MEMBER_NAME_MAX), nullable=False),
    Column("role", String(10), nullable=False),
    Column("joined_at", UtcDateTime(), nullable=False),
    Column("admitted_at", UtcDateTime(), nullable=True),
    Column("left_at", UtcDateTime(), nullable=True),
    Column("outcome", String(10), nullable=False),
    UniqueConstraint("session_id", "participant", name="uq_attendance_session_participant"),
)

# The stages as they were held.
stage_log = Table(
    "stage_log",
    metadata,
    Column("id", Integer, primary_key=True),
    _session_fk(),
    Column("position", Integer, nullable=False),
    Column("stage_key", String(TEMPLATE_KEY_MAX), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime(), nullable=True),
)

# Participation measured during the session (observation aids). Personal data.
participation = Table(
    "participation",
    metadata,
    Column("id", Integer, primary_key=True),
    _session_fk(),
    Column("participant", String(PARTICIPANT_KEY_MAX), nullable=False),
    Column("speaking_seconds", Float, nullable=False),
    Column("turns", Integer, nullable=False),
    Column("hands", Integer, nullable=False),
    Column("chats", Integer, nullable=False),
    Column("present_seconds", Float, nullable=False),
    UniqueConstraint("session_id", "participant", name="uq_participation_session_participant"),
)

# A note and ratings on a member: AES-GCM ciphertext (server/platform/sealing.py), never
# clear. ``author`` is "" for the counselors' notes (shared by the owner and co-counselors, in
# the report) and an observer's participant key for theirs (their own, not in the report).
notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    _session_fk(),
    Column("author", String(PARTICIPANT_KEY_MAX), nullable=False, server_default=""),
    Column("participant", String(PARTICIPANT_KEY_MAX), nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    UniqueConstraint(
        "session_id", "author", "participant", name="uq_notes_session_author_participant"
    ),
)

# The members' closing evaluation (laiseg, UCA). ``participant`` is NULL when answered
# anonymously; the answers are sealed like notes.
evaluations = Table(
    "evaluations",
    metadata,
    Column("id", Integer, primary_key=True),
    _session_fk(),
    Column("participant", String(PARTICIPANT_KEY_MAX), nullable=True),
    Column("rating", Integer, nullable=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
)

# The leader's conclusions and follow-up after the session, sealed.
reports = Table(
    "reports",
    metadata,
    Column("session_id", Integer, ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("sealed", LargeBinary, nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


# --- a counselor's own session templates (issue 6) -------------------------------------------

CUSTOM_TEMPLATE_NAME_MAX = 80

# A template a counselor made from a built-in one (server/counseling/stages.py). ``stages`` is JSON:
# the ordered stages with their texts and presets, checked by server/counseling/custom_templates.py
# (shape and sizes) before every write. Sessions refer to one by the key ``custom:<id>``.
templates = Table(
    "templates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "counselor_id",
        Integer,
        ForeignKey("counselors.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("name", String(CUSTOM_TEMPLATE_NAME_MAX), nullable=False),
    Column("base", String(TEMPLATE_KEY_MAX), nullable=False),
    Column("stages", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)
