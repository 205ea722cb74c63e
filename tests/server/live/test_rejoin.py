"""Rejoin tokens: signed, bound to one session, short-lived, single use."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from server.live.rejoin import REJOIN_TOKEN_TTL_S, RejoinTokens
from server.platform.errors import LingkarError

NOW = 1_800_000_000.0


def _mint(tokens: RejoinTokens, admitted: bool = True) -> str:
    live: Any = SimpleNamespace(code="ABC-DEF")
    person: Any = SimpleNamespace(
        id="p-ani", name="Ani Wijaya", in_room=admitted, is_observer=False
    )
    return tokens.mint(live, person, now=NOW)


def test_a_token_carries_the_member_back() -> None:
    tokens = RejoinTokens(b"k" * 32)
    claim = tokens.check(_mint(tokens), "ABC-DEF", now=NOW + 5)
    assert (claim.person, claim.name, claim.admitted) == ("p-ani", "Ani Wijaya", True)
    assert tokens.check(_mint(tokens, admitted=False), "ABC-DEF", now=NOW).admitted is False


@pytest.mark.parametrize(
    "case", ["other_session", "expired", "tampered", "other_key", "garbage", "used", "restored"]
)
def test_bad_tokens_are_refused(case: str) -> None:
    tokens = RejoinTokens(b"k" * 32)
    token = _mint(tokens)
    code, now = "ABC-DEF", NOW
    if case == "other_session":
        code = "XYZ-XYZ"
    elif case == "expired":
        now = NOW + REJOIN_TOKEN_TTL_S + 1
    elif case == "tampered":
        body, _, signature = token.partition(".")
        token = body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature
    elif case == "other_key":
        token = _mint(RejoinTokens(b"j" * 32))
    elif case == "garbage":
        token = "not a token"
    elif case == "used":
        tokens.spend(tokens.check(token, code, now=now))
    elif case == "restored":
        # Spent in a process that died: its session's snapshot brings the nonce back.
        spent = RejoinTokens(b"k" * 32).check(token, code, now=now)
        tokens.remember({spent.nonce: spent.expires})
    with pytest.raises(LingkarError) as refused:
        tokens.check(token, code, now=now)
    assert refused.value.error.value == "unauthorized"
