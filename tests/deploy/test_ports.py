"""media_ports: the server's media sockets bind within the configured UDP range, and the
start-up self-test refuses to serve when the hook does not apply."""

from __future__ import annotations

import asyncio
import re

import pytest

from rtc import ports
from tests.deploy.conftest import SceneFactory
from tests.deploy.coturn import free_udp_range, non_loopback_ipv4


def _candidate_ports(sdp: str) -> list[int]:
    return [int(m.group(1)) for m in re.finditer(r"a=candidate:\S+ \d+ udp \d+ \S+ (\d+) ", sdp)]


async def test_server_candidates_use_the_media_range(configured_scene: SceneFactory) -> None:
    low, high = free_udp_range(non_loopback_ipv4(), 10)
    scene = await configured_scene(media_ports=(low, high))
    leader = await scene.leader()
    member = await scene.member("Ani Wijaya")
    for person in (leader, member):
        server_side = _candidate_ports(person.rtc.pc.remoteDescription.sdp)
        assert server_side
        assert all(low <= port <= high for port in server_side), (server_side, low, high)
    # Only the server's side: the clients here (on the same event loop) are not constrained.
    clients_side = _candidate_ports(leader.rtc.pc.localDescription.sdp)
    assert clients_side
    assert not all(low <= port <= high for port in clients_side)


async def test_a_full_range_is_a_clear_error() -> None:
    low, high = free_udp_range("127.0.0.1", 1)
    ports.install(asyncio.get_running_loop())
    loop = asyncio.get_running_loop()
    held, _ = await loop.create_datagram_endpoint(
        asyncio.DatagramProtocol, local_addr=("127.0.0.1", low)
    )
    try:
        with pytest.raises(ports.PortRangeError, match=f"media_ports: cannot bind in {low}-{high}"):
            await ports.self_test(low, high)
    finally:
        held.close()


async def test_self_test_fails_when_the_hook_does_not_apply() -> None:
    """Regression guard: if aioice stopped binding through loop.create_datagram_endpoint, the
    range would silently not hold; the self-test must say so instead."""
    low, high = free_udp_range("127.0.0.1", 5)
    # This test's own event loop was never hooked: it stands for an aioice that binds
    # another way than the hook expects.
    assert "create_datagram_endpoint" not in vars(asyncio.get_running_loop())
    with pytest.raises(ports.PortRangeError, match="does not apply"):
        await ports.self_test(low, high)
