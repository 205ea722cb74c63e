"""Counselor accounts: the repository over the ``counselors`` table.

Only counselors have accounts; students never do. Passwords are stored as argon2id hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.passwords import (
    PASSWORD_MAX,
    check_password_rules,
    hash_password_async,
    verify_password_async,
)
from server.db.schema import DISPLAY_NAME_MAX, USERNAME_MAX, counselors

USERNAME_MIN = 3
USERNAME_PATTERN = re.compile(rf"[a-z0-9._-]{{{USERNAME_MIN},{USERNAME_MAX}}}")


class AccountError(ValueError):
    """A bad user name, display name or password; ``error_id`` is stable and translatable."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


@dataclass(frozen=True)
class Counselor:
    id: int
    username: str
    display_name: str
    password_hash: str
    created_at: datetime


def counselor_from_row(row: RowMapping) -> Counselor:
    return Counselor(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        password_hash=row["password_hash"],
        created_at=row["created_at"],
    )


def check_username(username: str) -> str:
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "username_invalid",
            f"a user name has {USERNAME_MIN}-{USERNAME_MAX} characters: "
            "lowercase letters a-z, digits, dot, underscore or hyphen",
        )
    return username


def check_display_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise AccountError("display_name_empty", "the display name is empty")
    if len(name) > DISPLAY_NAME_MAX:
        raise AccountError(
            "display_name_long", f"the display name may have at most {DISPLAY_NAME_MAX} characters"
        )
    return name


async def create_counselor(
    db: AsyncEngine, username: str, password: str, display_name: str | None = None
) -> Counselor:
    check_username(username)
    name = check_display_name(display_name if display_name is not None else username)
    check_password_rules(password)
    password_hash = await hash_password_async(password)
    try:
        async with db.begin() as conn:
            result = await conn.execute(
                insert(counselors).values(
                    username=username,
                    display_name=name,
                    password_hash=password_hash,
                    created_at=datetime.now(UTC),
                )
            )
            new_id = result.inserted_primary_key
    except IntegrityError:
        raise AccountError("username_taken", f"the user name {username!r} is taken") from None
    assert new_id is not None  # an INSERT of one row always reports its key
    counselor = await get_counselor(db, int(new_id[0]))
    assert counselor is not None
    return counselor


async def get_counselor(db: AsyncEngine, counselor_id: int) -> Counselor | None:
    async with db.connect() as conn:
        row = (
            (await conn.execute(select(counselors).where(counselors.c.id == counselor_id)))
            .mappings()
            .first()
        )
    return None if row is None else counselor_from_row(row)


async def get_counselor_by_username(db: AsyncEngine, username: str) -> Counselor | None:
    if len(username) > USERNAME_MAX:
        return None
    async with db.connect() as conn:
        row = (
            (await conn.execute(select(counselors).where(counselors.c.username == username)))
            .mappings()
            .first()
        )
    return None if row is None else counselor_from_row(row)


async def list_counselors(db: AsyncEngine) -> list[Counselor]:
    async with db.connect() as conn:
        rows = (await conn.execute(select(counselors).order_by(counselors.c.username))).mappings()
        return [counselor_from_row(row) for row in rows]


async def count_counselors(db: AsyncEngine) -> int:
    async with db.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(counselors))).scalar_one())


async def set_password(db: AsyncEngine, counselor_id: int, password: str) -> None:
    check_password_rules(password)
    password_hash = await hash_password_async(password)
    async with db.begin() as conn:
        await conn.execute(
            update(counselors)
            .where(counselors.c.id == counselor_id)
            .values(password_hash=password_hash)
        )


async def remove_counselor(db: AsyncEngine, counselor_id: int) -> bool:
    """Delete the account and, by cascade, all of its sessions."""
    async with db.begin() as conn:
        result = await conn.execute(delete(counselors).where(counselors.c.id == counselor_id))
    return result.rowcount > 0


async def authenticate(db: AsyncEngine, username: str, password: str) -> Counselor | None:
    """The counselor whose user name and password these are, or None (in constant-ish time)."""
    counselor = await get_counselor_by_username(db, username.strip().lower())
    if len(password) > PASSWORD_MAX:
        return None
    verified = await verify_password_async(
        None if counselor is None else counselor.password_hash, password
    )
    if counselor is None or not verified.ok:
        return None
    if verified.new_hash is not None:
        # argon2's parameters changed since this hash was made: upgrade it now we know the password.
        async with db.begin() as conn:
            await conn.execute(
                update(counselors)
                .where(counselors.c.id == counselor.id)
                .values(password_hash=verified.new_hash)
            )
    return counselor
