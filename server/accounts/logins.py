"""Counselors' logins as rows: each login cookie carries a random id whose SHA-256 is a row
here. A request counts as logged in only while its row exists and is younger than the cookie's
12 hours, so logging out deletes the row and revokes that cookie (a copy too), and "log out
everywhere" deletes all of the counselor's rows."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.schema import logins


def _hash(login_id: str) -> str:
    return hashlib.sha256(login_id.encode()).hexdigest()


async def start_login(db: AsyncEngine, counselor_id: int, max_age_s: float) -> str:
    """A new login of this counselor; returns the id for the cookie. Expired rows go too."""
    login_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    async with db.begin() as conn:
        await conn.execute(
            delete(logins).where(logins.c.created_at < now - timedelta(seconds=max_age_s))
        )
        await conn.execute(
            insert(logins).values(
                id_hash=_hash(login_id), counselor_id=counselor_id, created_at=now
            )
        )
    return login_id


async def login_is_valid(
    db: AsyncEngine, login_id: str, counselor_id: int, max_age_s: float
) -> bool:
    since = datetime.now(UTC) - timedelta(seconds=max_age_s)
    async with db.connect() as conn:
        found = await conn.execute(
            select(logins.c.id_hash).where(
                logins.c.id_hash == _hash(login_id),
                logins.c.counselor_id == counselor_id,
                logins.c.created_at >= since,
            )
        )
        return found.first() is not None


async def end_login(db: AsyncEngine, login_id: str) -> None:
    async with db.begin() as conn:
        await conn.execute(delete(logins).where(logins.c.id_hash == _hash(login_id)))


async def end_all_logins(db: AsyncEngine, counselor_id: int) -> None:
    async with db.begin() as conn:
        await conn.execute(delete(logins).where(logins.c.counselor_id == counselor_id))
