"""A keyed sliding-window rate limiter: at most ``limit`` events per key in ``window`` seconds.

Used for failed logins (per account and address, per address, per account) and reusable for
anything counted per key. Synchronous and single-threaded (one event loop); the clock is
injectable for tests. Memory is bounded: past ``max_keys`` keys, expired ones are dropped, then
the least recently used, so a flood of made-up keys cannot grow it without end.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Protocol

from aiohttp import web

Clock = Callable[[], float]


class KeyedRateLimiter:
    def __init__(
        self,
        limit: int,
        window: float,
        *,
        clock: Clock = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit and max_keys must be at least 1, window above 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._max_keys = max_keys
        # key -> times of its recent events, oldest first; the dict's order is least recently used.
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str, now: float) -> deque[float] | None:
        events = self._events.get(key)
        if events is None:
            return None
        horizon = now - self.window
        while events and events[0] <= horizon:
            events.popleft()
        if not events:
            del self._events[key]
            return None
        return events

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False (and not counted) when it is over the limit."""
        now = self._clock()
        events = self._recent(key, now)
        if events is not None and len(events) >= self.limit:
            return False
        if events is None:
            self._make_room(now)
            events = self._events[key] = deque()
        events.append(now)
        self._events.move_to_end(key)
        return True

    def would_allow(self, key: str) -> bool:
        """Whether one more event would be allowed, without counting it."""
        events = self._recent(key, self._clock())
        return events is None or len(events) < self.limit

    def count(self, key: str) -> int:
        """The events of ``key`` in the window."""
        events = self._recent(key, self._clock())
        return 0 if events is None else len(events)

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may have one more event (0 when it may now)."""
        now = self._clock()
        events = self._recent(key, now)
        if events is None or len(events) < self.limit:
            return 0.0
        return max(0.0, events[0] + self.window - now)

    def reset(self, key: str) -> None:
        self._events.pop(key, None)

    def __len__(self) -> int:
        return len(self._events)

    def _make_room(self, now: float) -> None:
        if len(self._events) < self._max_keys:
            return
        for key in list(self._events):
            self._recent(key, now)
        while len(self._events) >= self._max_keys:
            self._events.popitem(last=False)


class Limiter(Protocol):
    """A keyed limiter as the application uses it: in this process (``LocalLimiter``), or
    shared by every node of a cluster in Redis (server/platform/shared_limits.py)."""

    async def allow(self, key: str) -> bool: ...
    async def would_allow(self, key: str) -> bool: ...
    async def count(self, key: str) -> int: ...
    async def retry_after(self, key: str) -> float: ...
    async def reset(self, key: str) -> None: ...


class LocalLimiter:
    """A ``KeyedRateLimiter`` of this process behind the ``Limiter`` interface."""

    def __init__(self, limit: int, window: float, clock: Clock = time.monotonic) -> None:
        self.keyed = KeyedRateLimiter(limit, window, clock=clock)

    async def allow(self, key: str) -> bool:
        return self.keyed.allow(key)

    async def would_allow(self, key: str) -> bool:
        return self.keyed.would_allow(key)

    async def count(self, key: str) -> int:
        return self.keyed.count(key)

    async def retry_after(self, key: str) -> float:
        return self.keyed.retry_after(key)

    async def reset(self, key: str) -> None:
        self.keyed.reset(key)


# Makes the application's limiters: (name, limit, window in seconds) -> Limiter.
LimiterFactory = Callable[[str, int, float], Limiter]


def local_limiters(name: str, limit: int, window: float) -> Limiter:
    return LocalLimiter(limit, window)


# How this application's limiters are made (set by server/app.py: shared in a cluster).
LIMITERS: web.AppKey[LimiterFactory] = web.AppKey("limiters")


# Failed logins in a window of LOGIN_WINDOW_S (issue 14: nobody else's failures may lock a
# counselor out). From one address for one account: 5, then that pair waits; from one address
# over all accounts: 20; for one account over every address: 50, after which only the addresses
# that have already failed for it wait (a distributed guess), never one with a clean record.
LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = 5
LOGIN_FAILURES_PER_ADDRESS = 20
LOGIN_FAILURES_PER_ACCOUNT = 50
LOGIN_WINDOW_S = 15 * 60


def _pair(account: str, address: str) -> str:
    return f"{address}\n{account}"


class LoginLimits:
    """The failed-login counters of one application (or of a whole cluster)."""

    def __init__(self, make: LimiterFactory = local_limiters) -> None:
        window = LOGIN_WINDOW_S
        self.per_pair = make("login_pair", LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, window)
        self.per_address = make("login_address", LOGIN_FAILURES_PER_ADDRESS, window)
        self.per_account = make("login_account", LOGIN_FAILURES_PER_ACCOUNT, window)

    async def _clean(self, account: str, address: str) -> bool:
        """Whether this address has no recent failure for this account."""
        return await self.per_pair.count(_pair(account, address)) == 0

    async def _account_blocks(self, account: str, address: str) -> bool:
        if await self.per_account.would_allow(account):
            return False
        return not await self._clean(account, address)

    async def blocked(self, account: str, address: str) -> bool:
        if not await self.per_pair.would_allow(_pair(account, address)):
            return True
        if not await self.per_address.would_allow(address):
            return True
        return await self._account_blocks(account, address)

    async def retry_after(self, account: str, address: str) -> float:
        waits = [await self.per_pair.retry_after(_pair(account, address))]
        if not await self.per_address.would_allow(address):
            waits.append(await self.per_address.retry_after(address))
        if await self._account_blocks(account, address):
            waits.append(await self.per_account.retry_after(account))
        return max(waits)

    async def failed(self, account: str, address: str) -> None:
        await self.per_pair.allow(_pair(account, address))
        await self.per_address.allow(address)
        await self.per_account.allow(account)

    async def succeeded(self, account: str, address: str) -> None:
        await self.per_pair.reset(_pair(account, address))
