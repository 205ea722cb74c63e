from __future__ import annotations

import pytest

from server.platform.ratelimit import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
    LOGIN_FAILURES_PER_ADDRESS,
    LOGIN_WINDOW_S,
    KeyedRateLimiter,
    LocalLimiter,
    LoginLimits,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allows_up_to_the_limit_and_refuses_one_past_it() -> None:
    clock = FakeClock()
    limiter = KeyedRateLimiter(3, 10.0, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b"), "another key has its own count"
    assert not limiter.would_allow("a")
    assert limiter.retry_after("a") == pytest.approx(10.0)


def test_the_window_slides() -> None:
    clock = FakeClock()
    limiter = KeyedRateLimiter(2, 10.0, clock=clock)
    assert limiter.allow("a")
    clock.now += 6
    assert limiter.allow("a")
    assert not limiter.allow("a")
    clock.now += 4  # the first event is now exactly one window old
    assert limiter.allow("a")
    assert not limiter.allow("a")


def test_refused_events_are_not_counted_and_reset_clears() -> None:
    clock = FakeClock()
    limiter = KeyedRateLimiter(1, 10.0, clock=clock)
    assert limiter.allow("a")
    for _ in range(5):
        assert not limiter.allow("a")
    clock.now += 10
    assert limiter.allow("a"), "refusals did not extend the wait"
    limiter.reset("a")
    assert limiter.would_allow("a")


def test_memory_is_bounded_by_max_keys() -> None:
    clock = FakeClock()
    limiter = KeyedRateLimiter(1, 10.0, clock=clock, max_keys=100)
    for i in range(1000):
        limiter.allow(f"key{i}")
    assert len(limiter) <= 100
    clock.now += 11
    limiter.allow("fresh")
    assert limiter.would_allow("key999")


@pytest.mark.parametrize(("limit", "window", "max_keys"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_rejects_nonsense_parameters(limit: int, window: float, max_keys: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        KeyedRateLimiter(limit, window, max_keys=max_keys)


async def test_login_limits_never_lock_out_a_clean_address() -> None:
    """An attacker failing for Ani's account (from one address, then from many) blocks
    themselves, never Ani logging in from an address with no failures (issue 14)."""
    clock = FakeClock()
    limits = LoginLimits(lambda name, limit, window: LocalLimiter(limit, window, clock=clock))
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert not await limits.blocked("ani", "10.0.0.66")
        await limits.failed("ani", "10.0.0.66")
    assert await limits.blocked("ani", "10.0.0.66"), "the guessing address waits"
    assert await limits.retry_after("ani", "10.0.0.66") > 0
    assert not await limits.blocked("ani", "10.0.0.9"), "Ani's own address is not blocked"
    assert not await limits.blocked("budi", "10.0.0.66"), (
        "nor a colleague behind the attacker's NAT"
    )

    # A distributed guess: many addresses, a few tries each, far over the account's limit.
    for i in range(LOGIN_FAILURES_PER_ACCOUNT):
        await limits.failed("ani", f"172.16.{i // 250}.{i % 250}")
    assert await limits.blocked("ani", "172.16.0.1"), "an address that already failed waits"
    assert not await limits.blocked("ani", "10.0.0.9"), "a clean address still logs in"

    # One address trying many accounts is slowed as a whole.
    for i in range(LOGIN_FAILURES_PER_ADDRESS):
        await limits.failed(f"user{i}", "10.0.0.77")
    assert await limits.blocked("someone", "10.0.0.77")
    assert await limits.retry_after("someone", "10.0.0.77") > 0

    # The window passes; a success clears that address's count for the account.
    clock.now += LOGIN_WINDOW_S
    assert not await limits.blocked("ani", "10.0.0.66")
    await limits.failed("ani", "10.0.0.2")
    await limits.succeeded("ani", "10.0.0.2")
    assert await limits.per_pair.count("10.0.0.2\nani") == 0
