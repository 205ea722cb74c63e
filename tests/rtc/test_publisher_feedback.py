"""What the core tells a publisher about its stream: receiver reports, REMB and NACKs.

The core replaces aiortc's per-packet receive handler (rtc/receiving.py); the publisher still
needs these three to pace itself and to repair loss, so each is checked at a real aiortc
publisher's sender.
"""

from __future__ import annotations

from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RTCP_RTPFB_NACK, RtcpRrPacket, unpack_remb_fci

from rtc import TrackId
from tests.rtc.clients import Client, PatternTrack, wait_for
from tests.rtc.conftest import Harness

VIDEO = TrackId("pub", "video")


def _record_rtcp(sender: Any) -> list[Any]:
    seen: list[Any] = []
    original = sender._handle_rtcp_packet

    async def handle(packet: Any) -> None:
        seen.append(packet)
        await original(packet)

    sender._handle_rtcp_packet = handle
    return seen


def _drop_once(client: Client, count: int) -> list[int]:
    """Drop the next ``count`` first transmissions of video packets (payload type 97)."""
    dropped: list[int] = []
    transport = client.pc.getTransceivers()[0].sender.transport
    original = transport._send_rtp

    async def send_rtp(data: bytes) -> None:
        is_rtp = 128 <= data[0] < 192 and not 192 <= data[1] <= 223
        if is_rtp and data[1] & 0x7F == 97 and len(dropped) < count:
            dropped.append(int.from_bytes(data[2:4], "big"))
            return
        await original(data)

    transport._send_rtp = send_rtp
    return dropped


async def test_the_publisher_gets_reports_remb_and_nacks(harness: Harness) -> None:
    publisher = Client("pub", video=PatternTrack(160, 120))
    sender = publisher.pc.getTransceivers()[0].sender
    seen = _record_rtcp(sender)
    await harness.join(publisher)
    await wait_for(lambda: harness.room.tracks == [VIDEO], what="published")

    def reports() -> list[Any]:
        return [
            block
            for packet in seen
            if isinstance(packet, RtcpRrPacket)
            for block in packet.reports
            if block.ssrc == sender._ssrc
        ]

    def rembs() -> list[int]:
        return [
            unpack_remb_fci(packet.fci)[0]
            for packet in seen
            if getattr(packet, "fmt", None) == RTCP_PSFB_APP
            and type(packet).__name__ == "RtcpPsfbPacket"
        ]

    await wait_for(lambda: reports() and rembs(), what="a receiver report and a REMB")
    assert reports()[-1].highest_sequence > 0
    assert rembs()[-1] > 0

    dropped = _drop_once(publisher, 3)
    await wait_for(lambda: len(dropped) == 3, what="packets dropped")

    def nacked() -> set[int]:
        return {
            seq
            for packet in seen
            if getattr(packet, "fmt", None) == RTCP_RTPFB_NACK
            and type(packet).__name__ == "RtcpRtpfbPacket"
            for seq in packet.lost
        }

    await wait_for(lambda: set(dropped) <= nacked(), what="NACKs for the dropped packets")
    assert harness.room.counters.decodes == 0
