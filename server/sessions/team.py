"""Who leads a session besides its owner (co-counselors), and the observers' password.

The owner adds other counselor accounts of this server by their user name. A co-counselor
enters the room with their own login and leads there like the owner; editing and deleting the
stored session stay the owner's. The observers' optional password is hashed like the session's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.counselors import Counselor, counselor_from_row, get_counselor_by_username
from server.accounts.passwords import hash_password_async, verify_password_async
from server.db.schema import co_leaders, counselors, sessions
from server.platform.limits import MAX_CO_LEADERS
from server.sessions.store import (
    GuidanceSession,
    SessionInputError,
    check_session_password_rules,
    session_from_row,
)


async def list_co_leaders(db: AsyncEngine, session_id: int) -> list[Counselor]:
    query = (
        select(counselors)
        .join(co_leaders, co_leaders.c.counselor_id == counselors.c.id)
        .where(co_leaders.c.session_id == session_id)
        .order_by(co_leaders.c.added_at)
    )
    async with db.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [counselor_from_row(row) for row in rows]


async def is_co_leader(db: AsyncEngine, session_id: int, counselor_id: int) -> bool:
    query = select(co_leaders.c.session_id).where(
        (co_leaders.c.session_id == session_id) & (co_leaders.c.counselor_id == counselor_id)
    )
    async with db.connect() as conn:
        return (await conn.execute(query)).first() is not None


async def add_co_leader(db: AsyncEngine, session: GuidanceSession, username: str) -> Counselor:
    """Add the counselor with this user name; SessionInputError says why not."""
    name = username.strip()
    if not name:
        raise SessionInputError("co_leader", "required", "type a counselor's user name")
    found = await get_counselor_by_username(db, name)
    if found is None:
        raise SessionInputError("co_leader", "unknown", "no counselor has this user name")
    if found.id == session.counselor_id:
        raise SessionInputError("co_leader", "owner", "you already lead this session")
    present = await list_co_leaders(db, session.id)
    if any(x.id == found.id for x in present):
        raise SessionInputError("co_leader", "already", "this counselor already leads it")
    if len(present) >= MAX_CO_LEADERS:
        raise SessionInputError("co_leader", "too_many", "this session has enough co-counselors")
    async with db.begin() as conn:
        await conn.execute(
            insert(co_leaders).values(
                session_id=session.id, counselor_id=found.id, added_at=datetime.now(UTC)
            )
        )
    return found


async def remove_co_leader(db: AsyncEngine, session_id: int, counselor_id: int) -> bool:
    async with db.begin() as conn:
        result = await conn.execute(
            delete(co_leaders).where(
                (co_leaders.c.session_id == session_id)
                & (co_leaders.c.counselor_id == counselor_id)
            )
        )
    return result.rowcount > 0


async def list_co_led_sessions(db: AsyncEngine, counselor_id: int) -> list[GuidanceSession]:
    """The sessions another counselor added this one to."""
    query = (
        select(sessions)
        .join(co_leaders, co_leaders.c.session_id == sessions.c.id)
        .where(co_leaders.c.counselor_id == counselor_id)
        .order_by(sessions.c.id)
    )
    async with db.connect() as conn:
        return [session_from_row(row) for row in (await conn.execute(query)).mappings()]


async def set_observer_password(db: AsyncEngine, session_id: int, password: str | None) -> None:
    """Set (or, with None, remove) the password observers type on the observer link."""
    value = (
        None
        if password is None
        else await hash_password_async(check_session_password_rules(password))
    )
    async with db.begin() as conn:
        await conn.execute(
            update(sessions).where(sessions.c.id == session_id).values(observer_password_hash=value)
        )


async def check_observer_password(session: GuidanceSession, password: str) -> bool:
    """Whether ``password`` lets an observer in (always True when none is set)."""
    if session.observer_password_hash is None:
        return True
    return (await verify_password_async(session.observer_password_hash, password)).ok
