"""Password hashing with argon2id (argon2-cffi's PasswordHasher and its current defaults).

Hashing costs tens of milliseconds of CPU on purpose: web handlers call the async variants,
which run it in a thread so the event loop (and live media) never waits for it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Long enough for a passphrase a counselor can remember; the maximum bounds the hashing work
# an attacker can ask for with one request.
PASSWORD_MIN = 10
PASSWORD_MAX = 1024
# A session's password is read aloud to students; it only keeps out people who got the code.
SESSION_PASSWORD_MIN = 4

_HASHER = PasswordHasher()  # immutable configuration, safe to share


class PasswordError(ValueError):
    """The password does not meet the rules; ``error_id`` is a stable, translatable id."""

    def __init__(self, error_id: str, message: str) -> None:
        super().__init__(message)
        self.error_id = error_id


def check_password_rules(password: str, minimum: int = PASSWORD_MIN) -> None:
    if len(password) < minimum:
        raise PasswordError("password_short", f"the password needs at least {minimum} characters")
    if len(password) > PASSWORD_MAX:
        raise PasswordError("password_long", f"the password may have at most {PASSWORD_MAX}")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


@dataclass(frozen=True)
class Verified:
    ok: bool
    # A fresh hash when the stored one used older parameters: store it instead.
    new_hash: str | None = None


def verify_password(stored_hash: str, password: str) -> Verified:
    if len(password) > PASSWORD_MAX:
        return Verified(False)
    try:
        _HASHER.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return Verified(False)
    if _HASHER.check_needs_rehash(stored_hash):
        return Verified(True, _HASHER.hash(password))
    return Verified(True)


# A real hash to verify against when the account does not exist, so a wrong user name takes as
# long as a wrong password and the timing does not tell which accounts exist.
_DUMMY_HASH = _HASHER.hash("no such account, never matches")


def verify_nothing(password: str) -> Verified:
    verify_password(_DUMMY_HASH, password)
    return Verified(False)


async def hash_password_async(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(stored_hash: str | None, password: str) -> Verified:
    if stored_hash is None:
        return await asyncio.to_thread(verify_nothing, password)
    return await asyncio.to_thread(verify_password, stored_hash, password)
