"""Frames lost between publisher and server re-gate the subscribers to the next keyframe."""

from __future__ import annotations

import time
from typing import Any

from rtc import TrackId
from tests.rtc.clients import Client, PatternTrack, wait_for
from tests.rtc.conftest import Harness

VIDEO = TrackId("pub", "video")


def _lossy(client: Client) -> dict[str, Any]:
    """Drop the publisher's video packets sent while ``until`` is ahead, and every later
    retransmission of them: a loss the server cannot repair."""
    window: dict[str, Any] = {"until": 0.0, "dropped": set()}
    transport = client.pc.getTransceivers()[0].sender.transport
    original = transport._send_rtp

    async def send_rtp(data: bytes) -> None:
        if 128 <= data[0] < 192 and not 192 <= data[1] <= 223:
            pt = data[1] & 0x7F
            header = 12 + 4 * (data[0] & 0x0F)
            if data[0] & 0x10:
                header += 4 + 4 * int.from_bytes(data[header + 2 : header + 4], "big")
            if pt == 97 and time.monotonic() < window["until"]:
                window["dropped"].add(int.from_bytes(data[2:4], "big"))
                return
            if pt == 98 and int.from_bytes(data[header : header + 2], "big") in window["dropped"]:
                return
        await original(data)

    transport._send_rtp = send_rtp
    return window


async def test_unrepaired_upstream_loss_regates_and_recovers(harness: Harness) -> None:
    room = harness.room
    publisher = Client("pub", video=PatternTrack(160, 120))
    await harness.join(publisher)
    sub = Client("sub")
    await harness.join(sub)
    await wait_for(lambda: room.tracks == [VIDEO], what="published")
    room.subscribe("sub", VIDEO)
    await wait_for(lambda: sub.frames[str(VIDEO)] >= 10, what="decoding")
    window = _lossy(publisher)
    before = room.counters

    window["until"] = time.monotonic() + 0.15  # a 150 ms burst, retransmissions included
    await wait_for(lambda: room.counters.upstream_losses > before.upstream_losses, what="loss seen")
    after_loss = room.counters
    assert window["dropped"]
    assert after_loss.keyframe_requests_received > before.keyframe_requests_received
    frames = sub.frames[str(VIDEO)]
    await wait_for(lambda: sub.frames[str(VIDEO)] >= frames + 15, what="decoding again")
    assert room.counters.drops_gated >= after_loss.drops_gated
    assert room.counters.decodes == 0
