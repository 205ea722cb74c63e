"""A keyed sliding-window rate limiter: at most ``limit`` events per key in ``window`` seconds.

Used for failed logins (per client address and per account) and reusable for anything counted
per key. Synchronous and single-threaded (one event loop); the clock is injectable for tests.
Memory is bounded: past ``max_keys`` keys, expired ones are dropped, then the least recently
used, so a flood of made-up keys cannot grow it without end.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

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


# Failed logins: a counselor mistyping gets 5 tries per 15 minutes. A school's counselors often
# share one public address (one NAT), so the per-address limit is higher than the per-account one.
LOGIN_FAILURES_PER_ACCOUNT = 5
LOGIN_FAILURES_PER_ADDRESS = 20
LOGIN_WINDOW_S = 15 * 60


@dataclass
class LoginLimits:
    """The failed-login counters of one application."""

    clock: Clock = time.monotonic
    per_account: KeyedRateLimiter = field(init=False)
    per_address: KeyedRateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.per_account = KeyedRateLimiter(
            LOGIN_FAILURES_PER_ACCOUNT, LOGIN_WINDOW_S, clock=self.clock
        )
        self.per_address = KeyedRateLimiter(
            LOGIN_FAILURES_PER_ADDRESS, LOGIN_WINDOW_S, clock=self.clock
        )

    def blocked(self, account: str, address: str) -> bool:
        return not (self.per_account.would_allow(account) and self.per_address.would_allow(address))

    def failed(self, account: str, address: str) -> None:
        self.per_account.allow(account)
        self.per_address.allow(address)

    def succeeded(self, account: str) -> None:
        self.per_account.reset(account)
