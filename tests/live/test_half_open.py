"""Half-open peers and an exhausted media port range (issue 14): offers whose ICE never
completes leave no sockets behind, and an offer the server cannot give a media port is refused
with 503 server_busy (counted in /metrics), never answered with an answer that cannot connect."""

from __future__ import annotations

import asyncio
import contextlib
import socket

import psutil
from aiortc import RTCPeerConnection

from server.platform.limits import ICE_DEADLINE_S
from tests.live.client import LiveClient
from tests.live.conftest import Scene, SceneFactory


def udp_sockets() -> int:
    return len(psutil.Process().net_connections(kind="udp"))


async def half_open(scene: Scene, name: str) -> tuple[int, dict[str, object]]:
    """Join, send a real offer, take the answer and never go on: no ICE, no DTLS."""
    client = LiveClient(await scene.http(), scene.code, name)
    status, entry = await client.join()
    assert status == 200, entry
    pc = RTCPeerConnection()
    pc.createDataChannel("control")
    await pc.setLocalDescription(await pc.createOffer())
    offer = pc.localDescription.sdp
    await pc.close()  # the client's own sockets go; the server's wait for ICE that never comes
    return await client.post(
        f"/api/sessions/{scene.code}/participants/{entry['participant']}/offer",
        {"type": "offer", "sdp": offer},
        Authorization=f"Bearer {entry['token']}",
    )


async def test_half_open_peers_leave_no_sockets(scene: Scene) -> None:
    leader = await scene.leader()
    await asyncio.sleep(1.0)
    baseline = udp_sockets()
    for i in range(10):
        status, answer = await half_open(scene, f"Setengah {i}")
        assert status == 200, answer
    assert udp_sockets() >= baseline + 10, "each answered offer holds server sockets"
    live = scene.live
    assert live is not None
    await leader.wait_for(
        lambda: not live.waiting(), "the half-open entries gone", deadline=ICE_DEADLINE_S + 8
    )
    await leader.wait_for(lambda: udp_sockets() <= baseline, "the sockets back to the baseline")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("0.0.0.0", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_an_exhausted_port_range_is_refused_clearly(scene_factory: SceneFactory) -> None:
    port = free_udp_port()
    scene = await scene_factory(media_ports=(port, port))
    # The range has one port: the leader's peer takes it on every interface it gathers on; a
    # socket of ours takes whatever address is left. Ani's offer then finds no free port.
    await scene.leader()
    holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with contextlib.suppress(OSError):  # the leader's peer may hold it already
            holder.bind(("0.0.0.0", port))
        status, reply = await half_open(scene, "Ani")
        assert status == 503, reply
        assert reply["error"] == "server_busy"
        metrics = await (await scene.http()).get("/metrics")
        text = await metrics.text()
        assert "lingkar_offers_refused_no_media_port_total 1.0" in text, text[-2000:]
    finally:
        holder.close()
