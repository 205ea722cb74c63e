"""TURN through Debian's coturn with credentials the server mints (the TURN REST API scheme)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aioice.turn import create_turn_endpoint
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy

import tests.rtc.clients as rtc_clients
from server.live.turn import TURN_CREDENTIAL_TTL_S, client_ice_servers, mint_credential
from server.platform.settings import Settings
from tests.deploy.conftest import SceneFactory
from tests.deploy.coturn import Coturn, running_coturn
from tests.live.client import LiveClient

SECRET = "a-shared-secret-for-tests"


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with running_coturn(tmp_path, SECRET) as turn:
        yield turn


def test_credential_follows_the_rest_api_scheme() -> None:
    cred = mint_credential("s3cret", now=1_700_000_000)
    expiry, _, opaque = cred.username.partition(":")
    assert int(expiry) == 1_700_000_000 + TURN_CREDENTIAL_TTL_S
    assert TURN_CREDENTIAL_TTL_S <= 600
    assert opaque
    expected = hmac.new(b"s3cret", cred.username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(cred.credential) == expected


def test_client_ice_servers_split_stun_and_turn() -> None:
    settings = Settings(
        ice_servers=("stun:turn.example:3478", "turn:turn.example:3478?transport=udp"),
        turn_secret="s",
    )
    stun, turn = client_ice_servers(settings)
    assert stun == {"urls": ["stun:turn.example:3478"]}
    assert turn["urls"] == ["turn:turn.example:3478?transport=udp"]
    assert {"username", "credential"} <= turn.keys()
    assert client_ice_servers(Settings()) == []


class _Sink(asyncio.DatagramProtocol):
    pass


async def _allocate(turn: Coturn, username: str, password: str) -> tuple[str, int]:
    transport, _ = await asyncio.wait_for(
        create_turn_endpoint(_Sink, ("127.0.0.1", turn.port), username, password), 10
    )
    try:
        relayed: tuple[str, int] = transport.get_extra_info("sockname")
        return relayed
    finally:
        transport.close()


async def test_coturn_accepts_minted_credentials_only(coturn: Coturn) -> None:
    good = mint_credential(SECRET)
    host, port = await _allocate(coturn, good.username, good.credential)
    assert host == coturn.relay_ip
    assert coturn.relay_ports[0] <= port <= coturn.relay_ports[1]

    forged = mint_credential("another secret")
    with pytest.raises(Exception, match=r"401|Unauthorized|TransactionFailed"):
        await _allocate(coturn, forged.username, forged.credential)
    expired = mint_credential(SECRET, ttl_s=-60)
    with pytest.raises(Exception, match=r"401|Unauthorized|TransactionFailed"):
        await _allocate(coturn, expired.username, expired.credential)


def _nominated_local_types(client: LiveClient) -> set[str]:
    types = set()
    for transceiver in client.rtc.pc.getTransceivers():
        ice = transceiver.sender.transport.transport
        for pair in ice._connection._nominated.values():
            types.add(pair.local_candidate.type)
    return types


async def test_relay_only_member_reaches_the_room_through_coturn(
    coturn: Coturn, configured_scene: SceneFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    scene = await configured_scene(ice_servers=(coturn.url,), turn_secret=SECRET)
    leader = await scene.leader()
    member = LiveClient(await scene.http(), scene.code, "Ani")  # only its HTTP part is used
    status, entry = await member.join()
    assert status == 200, entry
    servers = [RTCIceServer(**server) for server in entry["ice_servers"]]
    assert servers
    assert servers[0].username
    assert servers[0].credential

    # aiortc's iceTransportPolicy "relay" (RFC 9429 5.1.1): aioice gathers no host or
    # server-reflexive candidates at all, so media can only flow through coturn.
    def relay_only(**_: Any) -> RTCConfiguration:
        return RTCConfiguration(iceServers=servers, iceTransportPolicy=RTCIceTransportPolicy.RELAY)

    monkeypatch.setattr(rtc_clients, "RTCConfiguration", relay_only)
    relayed = LiveClient(member.http, scene.code, "Ani", video=True)
    scene.clients.append(relayed)
    relayed.entry = entry
    await relayed.connect()
    leader.send({"type": "admit", "participant": relayed.id})
    await relayed.wait_message("status", lambda m: m["status"] == "admitted")
    relayed.send({"type": "camera", "on": True})
    await leader.wait_for(lambda: leader.frames_from(relayed.id, "video") >= 3, "relayed video")

    assert _nominated_local_types(relayed) == {"relay"}
    candidates = relayed.rtc.pc.localDescription.sdp
    assert " typ host" not in candidates
    assert " typ relay" in candidates
    assert "ALLOCATE processed, success" in coturn.log.read_text(errors="replace")
