"""Rate limits shared in Redis (a cluster's nodes count together), against a real Redis from
Debian's redis-server: two limiters with one name are two nodes; keys are hashed; when Redis
goes away each node goes on counting on its own, never letting everything through."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.platform.ratelimit import LoginLimits
from server.platform.shared_limits import RedisLimiter, open_redis, shared_limiters
from tests.redisserver import RedisServer


@pytest.fixture
async def clients(redis: RedisServer) -> AsyncIterator[list[object]]:
    made = [open_redis(redis.url), open_redis(redis.url)]
    yield made
    for client in made:
        await client.aclose()  # type: ignore[attr-defined]


async def test_two_nodes_count_together(redis: RedisServer, clients: list[object]) -> None:
    one = RedisLimiter(clients[0], "joins", 3, 60)
    two = RedisLimiter(clients[1], "joins", 3, 60)
    assert await one.allow("10.0.0.5")
    assert await two.allow("10.0.0.5")
    assert await one.allow("10.0.0.5")
    assert not await two.allow("10.0.0.5"), "the third join counted on the other node"
    assert not await one.would_allow("10.0.0.5")
    assert await two.count("10.0.0.5") == 3
    assert 0 < await one.retry_after("10.0.0.5") <= 60
    assert await two.allow("10.0.0.6"), "another address has its own count"
    await one.reset("10.0.0.5")
    assert await two.would_allow("10.0.0.5")
    # Redis holds no address: the keys are hashes.
    keys = [k.decode() for k in await clients[0].keys("*")]  # type: ignore[attr-defined]
    assert keys
    assert not any("10.0.0" in k for k in keys)


async def test_login_limits_hold_across_nodes(clients: list[object]) -> None:
    nodes = [LoginLimits(shared_limiters(client)) for client in clients]
    for i in range(5):
        await nodes[i % 2].failed("ani", "10.0.0.66")  # failures land on either node
    assert await nodes[0].blocked("ani", "10.0.0.66")
    assert await nodes[1].blocked("ani", "10.0.0.66")
    assert not await nodes[1].blocked("ani", "10.0.0.9")


async def test_without_redis_each_node_counts_on_its_own(redis: RedisServer) -> None:
    client = open_redis(redis.url)
    try:
        limiter = RedisLimiter(client, "codes", 2, 60)
        assert await limiter.allow("10.0.0.7")
        redis.stop()
        assert await limiter.allow("10.0.0.7")  # counted here now (the shared one is away)
        assert await limiter.allow("10.0.0.7")
        assert not await limiter.allow("10.0.0.7"), "the limit still holds, on this node"
        assert not await limiter.would_allow("10.0.0.7")
        redis.start()  # empty again (no persistence): the shared count starts afresh
        assert await limiter.allow("10.0.0.7")
    finally:
        await client.aclose()
