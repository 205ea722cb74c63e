"""Malformed or out-of-order calls get a clear error and change nothing in the room."""

from __future__ import annotations

import pytest

from rtc import NegotiationError, TrackId, UnknownPeer, UnknownTrack
from tests.rtc.clients import Client, PatternTrack, wait_for
from tests.rtc.conftest import Harness


async def test_garbage_offer_is_refused(harness: Harness) -> None:
    room = harness.room
    peer = room.add_peer("x")
    for sdp in ("", "hello", "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", "v=0\r\n" * 10_000):
        with pytest.raises(NegotiationError):
            await peer.accept_offer(sdp)
    assert room.tracks == []
    assert peer.pc.signalingState == "stable"


async def test_out_of_order_signalling_is_refused(harness: Harness) -> None:
    room = harness.room
    publisher = Client("pub", video=PatternTrack(160, 120))
    await harness.join(publisher)
    sub = Client("sub")
    peer = await harness.join(sub)
    with pytest.raises(NegotiationError):
        await peer.accept_answer("v=0\r\n")  # no offer outstanding
    await wait_for(lambda: room.tracks == [TrackId("pub", "video")], what="published")
    with pytest.raises(UnknownTrack):
        room.subscribe("sub", TrackId("nobody", "video"))
    with pytest.raises(UnknownPeer):
        room.subscribe("nobody", TrackId("pub", "video"))
    with pytest.raises(ValueError, match="own track"):
        room.subscribe("pub", TrackId("pub", "video"))
    with pytest.raises(ValueError, match="already"):
        room.add_peer("sub")
    assert room.subscriptions("sub") == []
    # Glare: an offer from the browser while the server's offer is outstanding.
    peer.on_negotiation_needed = None
    room.subscribe("sub", TrackId("pub", "video"))
    await wait_for(lambda: sub.pc.connectionState == "connected", what="connected")
    await peer.create_offer()
    with pytest.raises(NegotiationError):
        await peer.accept_offer(await sub.make_offer())
