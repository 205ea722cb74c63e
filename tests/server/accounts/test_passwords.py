from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from server.accounts.passwords import (
    PASSWORD_MAX,
    PASSWORD_MIN,
    PasswordError,
    check_password_rules,
    hash_password,
    verify_password,
    verify_password_async,
)


def test_hash_is_argon2id_and_verifies() -> None:
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert verify_password(hashed, "correct horse battery").ok
    assert not verify_password(hashed, "correct horse batterY").ok
    assert hash_password("correct horse battery") != hashed, "salted"


def test_an_old_parameter_hash_is_rehashed_on_login() -> None:
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("passphrase!!")
    verified = verify_password(old, "passphrase!!")
    assert verified.ok
    assert verified.new_hash is not None
    assert verified.new_hash != old
    assert verify_password(verified.new_hash, "passphrase!!").new_hash is None


def test_garbage_hash_and_oversized_password_are_simply_wrong() -> None:
    assert not verify_password("not-a-hash", "whatever").ok
    assert not verify_password(hash_password("x" * 12), "x" * (PASSWORD_MAX + 1)).ok


async def test_unknown_account_verifies_against_a_dummy() -> None:
    assert not (await verify_password_async(None, "anything at all")).ok


def test_password_rules_at_the_limits() -> None:
    check_password_rules("x" * PASSWORD_MIN)
    check_password_rules("x" * PASSWORD_MAX)
    with pytest.raises(PasswordError) as short:
        check_password_rules("x" * (PASSWORD_MIN - 1))
    assert short.value.error_id == "password_short"
    with pytest.raises(PasswordError) as long:
        check_password_rules("x" * (PASSWORD_MAX + 1))
    assert long.value.error_id == "password_long"
