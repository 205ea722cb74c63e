"""Sessions (one group-guidance meeting each): the repository over the ``sessions`` table.

A session belongs to one counselor; every function that a counselor's request reaches takes
their id and treats another counselor's session as missing. Students find a session by its
code (server/sessions/codes.py) and, where one is set, its password.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.passwords import (
    SESSION_PASSWORD_MIN,
    PasswordError,
    check_password_rules,
    hash_password_async,
    verify_password_async,
)
from server.counseling.custom_templates import custom_id, own_template_keys
from server.counseling.stages import TEMPLATES
from server.db.schema import ABANDONED, SESSION_STATUSES, TITLE_MAX, sessions
from server.sessions.codes import generate_code, normalize_code

# A fresh random code collides with an existing one about once in millions of sessions;
# retrying a few times makes a failure practically impossible.
CODE_ATTEMPTS = 10
# Longer input cannot be a date and time: do not parse it.
SCHEDULED_INPUT_MAX = 40
SCHEDULED_YEAR_MIN = 2000
SCHEDULED_YEAR_MAX = 2100


class SessionInputError(ValueError):
    """Input that cannot be stored; ``field`` names the form field, ``error_id`` is stable."""

    def __init__(self, field: str, error_id: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.error_id = error_id


class Keep(enum.Enum):
    """Leave the stored value as it is (for ``update_session``'s password)."""

    KEEP = "keep"


@dataclass(frozen=True)
class GuidanceSession:
    id: int
    code: str
    title: str
    template: str
    password_hash: str | None
    scheduled_at: datetime | None
    status: str  # planned | open | ended
    counselor_id: int
    created_at: datetime
    opened_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None = None  # "abandoned": ended by itself, nobody in it for a while
    notice_seen: bool = False
    # What observers type on the observer link (server/sessions/team.py); None: no password.
    observer_password_hash: str | None = None

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


def session_from_row(row: RowMapping) -> GuidanceSession:
    return GuidanceSession(**{column.name: row[column.name] for column in sessions.columns})


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise SessionInputError("title", "title_empty", "the title is empty")
    if len(title) > TITLE_MAX:
        raise SessionInputError(
            "title", "title_long", f"the title may have at most {TITLE_MAX} characters"
        )
    return title


def check_template(key: str, own: Collection[str] = ()) -> str:
    """A built-in template's key, or one of ``own``: the ``custom:<id>`` keys of the
    counselor's own templates (server/counseling/custom_templates.py)."""
    if key not in TEMPLATES and key not in own:
        raise SessionInputError("template", "template_unknown", "no such session template")
    return key


async def _check_own_template(db: AsyncEngine, counselor_id: int, key: str) -> str:
    # Only a custom key needs the database: whether the template is this counselor's.
    own = await own_template_keys(db, counselor_id) if custom_id(key) is not None else set()
    return check_template(key, own)


def check_session_password_rules(password: str) -> str:
    try:
        check_password_rules(password, SESSION_PASSWORD_MIN)
    except PasswordError as exc:
        raise SessionInputError("password", f"session_{exc.error_id}", str(exc)) from None
    return password


def parse_scheduled_at(text: str) -> datetime | None:
    """An ISO date and time (``2025-03-04T09:30``, as a datetime-local field sends it), or None
    when empty. Without an offset it is the server's local time, the school's own clock."""
    text = text.strip()
    if not text:
        return None
    if len(text) > SCHEDULED_INPUT_MAX:
        raise SessionInputError("scheduled_at", "scheduled_invalid", "not a date and time")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SessionInputError(
            "scheduled_at", "scheduled_invalid", "not a date and time"
        ) from None
    if not SCHEDULED_YEAR_MIN <= value.year <= SCHEDULED_YEAR_MAX:
        raise SessionInputError("scheduled_at", "scheduled_invalid", "the year is out of range")
    # astimezone() on a naive value reads it as the machine's local time.
    return value.astimezone(UTC)


def _check_scheduled(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise SessionInputError("scheduled_at", "scheduled_invalid", "the time needs a time zone")
    return value


async def create_session(
    db: AsyncEngine,
    counselor_id: int,
    *,
    title: str,
    template: str,
    password: str | None = None,
    scheduled_at: datetime | None = None,
    new_code: Callable[[], str] = generate_code,
) -> GuidanceSession:
    values: dict[str, Any] = {
        "title": check_title(title),
        "template": await _check_own_template(db, counselor_id, template),
        "scheduled_at": _check_scheduled(scheduled_at),
        "counselor_id": counselor_id,
        "status": "planned",
        "created_at": datetime.now(UTC),
        "password_hash": None,
    }
    if password is not None:
        values["password_hash"] = await hash_password_async(check_session_password_rules(password))
    for _ in range(CODE_ATTEMPTS):
        code = new_code()
        try:
            async with db.begin() as conn:
                result = await conn.execute(insert(sessions).values(code=code, **values))
        except IntegrityError:
            if await _code_exists(db, code):
                continue  # a collision: draw another code
            raise
        key = result.inserted_primary_key
        assert key is not None  # an INSERT of one row always reports its key
        created = await get_session(db, int(key[0]))
        assert created is not None
        return created
    raise RuntimeError(f"no free session code after {CODE_ATTEMPTS} attempts")


async def _code_exists(db: AsyncEngine, code: str) -> bool:
    async with db.connect() as conn:
        found = await conn.execute(select(sessions.c.id).where(sessions.c.code == code))
        return found.first() is not None


async def _one(db: AsyncEngine, *conditions: Any) -> GuidanceSession | None:
    async with db.connect() as conn:
        row = (await conn.execute(select(sessions).where(*conditions))).mappings().first()
    return None if row is None else session_from_row(row)


async def get_session(db: AsyncEngine, session_id: int) -> GuidanceSession | None:
    return await _one(db, sessions.c.id == session_id)


async def get_session_by_code(db: AsyncEngine, code: str) -> GuidanceSession | None:
    """The session with this code as a person typed it (any case, spaces, dash or not)."""
    canonical = normalize_code(code)
    if canonical is None:
        return None
    return await _one(db, sessions.c.code == canonical)


async def get_counselor_session(
    db: AsyncEngine, session_id: int, counselor_id: int
) -> GuidanceSession | None:
    """The session if it belongs to this counselor; another counselor's is None, as if missing."""
    return await _one(db, sessions.c.id == session_id, sessions.c.counselor_id == counselor_id)


async def list_counselor_sessions(db: AsyncEngine, counselor_id: int) -> list[GuidanceSession]:
    query = (
        select(sessions)
        .where(sessions.c.counselor_id == counselor_id)
        .order_by(sessions.c.scheduled_at.is_(None), sessions.c.scheduled_at, sessions.c.id)
    )
    async with db.connect() as conn:
        return [session_from_row(row) for row in (await conn.execute(query)).mappings()]


async def update_session(
    db: AsyncEngine,
    session_id: int,
    counselor_id: int,
    *,
    title: str,
    template: str,
    scheduled_at: datetime | None,
    password: str | Keep | None = Keep.KEEP,
) -> GuidanceSession | None:
    """Change a counselor's own session; None when it is not theirs (or gone)."""
    values: dict[str, Any] = {
        "title": check_title(title),
        "template": await _check_own_template(db, counselor_id, template),
        "scheduled_at": _check_scheduled(scheduled_at),
    }
    if password is None:
        values["password_hash"] = None
    elif not isinstance(password, Keep):
        values["password_hash"] = await hash_password_async(check_session_password_rules(password))
    async with db.begin() as conn:
        result = await conn.execute(
            update(sessions)
            .where(sessions.c.id == session_id, sessions.c.counselor_id == counselor_id)
            .values(**values)
        )
    if result.rowcount == 0:
        return None
    return await get_session(db, session_id)


async def delete_session(db: AsyncEngine, session_id: int, counselor_id: int) -> bool:
    """Delete a counselor's own session and, by cascade, everything of it."""
    async with db.begin() as conn:
        result = await conn.execute(
            delete(sessions).where(
                sessions.c.id == session_id, sessions.c.counselor_id == counselor_id
            )
        )
    return result.rowcount > 0


async def set_session_status(
    db: AsyncEngine, session_id: int, status: str, *, reason: str | None = None
) -> GuidanceSession | None:
    """Mark a session ``open`` (stamps opened_at the first time; reopening clears ended_at) or
    ``ended`` (stamps ended_at, and ``reason`` when it was not its counselor who ended it:
    ``"abandoned"``). None when the session does not exist."""
    if reason not in (None, ABANDONED):
        raise ValueError(f"end reason {reason!r} is not {ABANDONED!r}")
    if status not in SESSION_STATUSES:
        raise ValueError(f"status {status!r} is not one of {SESSION_STATUSES}")
    current = await get_session(db, session_id)
    if current is None:
        return None
    now = datetime.now(UTC)
    values: dict[str, Any] = {"status": status}
    if status == "open":
        values["opened_at"] = current.opened_at or now
        values["ended_at"] = None
    if status in ("open", "ended"):
        values["end_reason"] = reason if status == "ended" else None
        values["notice_seen"] = False
    if status == "ended":
        values["ended_at"] = now
    async with db.begin() as conn:
        await conn.execute(update(sessions).where(sessions.c.id == session_id).values(**values))
    return await get_session(db, session_id)


async def check_session_password(session: GuidanceSession, password: str) -> bool:
    """Whether ``password`` opens this session (always True when it has none). Runs argon2 in a
    thread; rate-limit the callers."""
    if session.password_hash is None:
        return True
    return (await verify_password_async(session.password_hash, password)).ok


async def open_sessions(db: AsyncEngine) -> dict[int, str]:
    """Every session marked open, whoever's: their codes by id."""
    async with db.connect() as conn:
        rows = await conn.execute(
            select(sessions.c.id, sessions.c.code).where(sessions.c.status == "open")
        )
        return {int(row[0]): str(row[1]) for row in rows}


async def dismiss_notices(db: AsyncEngine, counselor_id: int) -> None:
    """The counselor has seen the notices about her sessions that ended by themselves."""
    async with db.begin() as conn:
        await conn.execute(
            update(sessions)
            .where(sessions.c.counselor_id == counselor_id, sessions.c.end_reason.is_not(None))
            .values(notice_seen=True)
        )
