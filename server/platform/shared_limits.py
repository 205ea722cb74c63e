"""Rate limits shared by every node of a cluster, in Redis: the same counts wherever a request
lands (failed logins, wrong session passwords, joins, unknown codes).

Each limiter key is a sorted set of event times (wall-clock milliseconds: the nodes' clocks are
kept by NTP), trimmed to the window and counted in one Lua script, so that two nodes counting at
once cannot both pass the limit. Keys are hashed: Redis never holds an account name or an
address, and each expires with its window.

When Redis cannot be reached, each node counts on its own (a ``KeyedRateLimiter``) until it is
back: the limits still hold per node, never fall open.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from typing import Any

from server.platform.ratelimit import KeyedRateLimiter, Limiter, LimiterFactory

log = logging.getLogger("lingkar.limits")

_PREFIX = "lingkar:limit:"
# KEYS[1]: the set; ARGV: now (ms), window (ms), limit, a unique member, "1" to count one
# event (when under the limit) or "0" to only look. Returns {allowed, count, oldest (ms)}.
_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local n = redis.call('ZCARD', KEYS[1])
local allowed = 0
if n < tonumber(ARGV[3]) then
  allowed = 1
  if ARGV[5] == '1' then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    n = n + 1
  end
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, n, oldest[2] or '0'}
"""


class RedisLimiter:
    def __init__(self, client: Any, name: str, limit: int, window: float) -> None:
        self._client = client  # a redis.asyncio.Redis
        self._name = name
        self.limit = limit
        self.window = window
        # Counts on its own while Redis is away.
        self._local = KeyedRateLimiter(limit, window)
        self._away = False

    def _key(self, key: str) -> str:
        digest = hashlib.sha256(f"{self._name}\n{key}".encode()).hexdigest()[:32]
        return f"{_PREFIX}{self._name}:{digest}"

    async def _run(self, key: str, add: bool) -> tuple[bool, int, float] | None:
        now = int(time.time() * 1000)
        member = f"{now}-{secrets.token_hex(4)}"
        args = (now, int(self.window * 1000), self.limit, member, "1" if add else "0")
        try:
            allowed, count, oldest = await self._client.eval(_SCRIPT, 1, self._key(key), *args)
        except Exception as exc:  # redis' errors, OSError, timeouts: count here meanwhile
            if not self._away:
                log.warning("shared limits: Redis is not reachable (%s); counting locally", exc)
            self._away = True
            return None
        self._away = False
        left = float(oldest) / 1000 + self.window - now / 1000 if int(count) else 0.0
        return bool(allowed), int(count), max(0.0, left)

    async def allow(self, key: str) -> bool:
        found = await self._run(key, add=True)
        return self._local.allow(key) if found is None else found[0]

    async def would_allow(self, key: str) -> bool:
        found = await self._run(key, add=False)
        return self._local.would_allow(key) if found is None else found[0]

    async def count(self, key: str) -> int:
        found = await self._run(key, add=False)
        return self._local.count(key) if found is None else found[1]

    async def retry_after(self, key: str) -> float:
        found = await self._run(key, add=False)
        if found is None:
            return self._local.retry_after(key)
        allowed, _, left = found
        return 0.0 if allowed else left

    async def reset(self, key: str) -> None:
        self._local.reset(key)
        try:
            await self._client.delete(self._key(key))
        except Exception:
            self._away = True


def shared_limiters(client: Any) -> LimiterFactory:
    def make(name: str, limit: int, window: float) -> Limiter:
        return RedisLimiter(client, name, limit, window)

    return make


def open_redis(url: str) -> Any:
    """A Redis client (redis-py's asyncio one) with short timeouts: a Redis that does not
    answer must not hold a request for long. Imported here only: a single machine without
    ``redis_url`` never loads it."""
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
