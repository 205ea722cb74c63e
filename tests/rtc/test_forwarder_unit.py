"""The per-leg RTP rewrite, checked by parsing its output with aiortc's own parser."""

from __future__ import annotations

import itertools
from typing import Any

from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtp import HeaderExtensionsMap, RtpPacket, unwrap_rtx

from rtc.counters import Counters
from rtc.forwarder import LEG_BUFFER_LIMIT_BYTES, Leg, LegParams, Source
from rtc.leg import HISTORY_KEEP_S

PARAMS = LegParams(
    payload_type=111,
    rtx_payload_type=None,
    ssrc=0x11223344,
    rtx_ssrc=0x55667788,
    mid="7",
    mid_ext_id=4,
    audio_level_ext_id=1,
)


class _Sender:
    """Stands in for RTCRtpSender: the leg writes sender-report fields onto it."""


def _extensions_map() -> HeaderExtensionsMap:
    extensions = HeaderExtensionsMap()
    extensions.configure(
        RTCRtpParameters(
            headerExtensions=[
                RTCRtpHeaderExtensionParameters(id=4, uri="urn:ietf:params:rtp-hdrext:sdes:mid"),
                RTCRtpHeaderExtensionParameters(
                    id=1, uri="urn:ietf:params:rtp-hdrext:ssrc-audio-level"
                ),
            ]
        )
    )
    return extensions


def _leg(kind: str, params: LegParams = PARAMS, first: int = 1000) -> Leg:
    sender: Any = _Sender()
    return Leg("sub", kind, sender, wire=None, params=params, first_sequence=first)  # type: ignore[arg-type]


def test_audio_packet_carries_mid_and_level() -> None:
    leg = _leg("audio")
    data = leg.build(50, 960, 1, b"opus-payload", level=(1 << 7) | 30, ntp=123)
    assert data is not None
    packet = RtpPacket.parse(data, _extensions_map())
    assert packet.payload_type == 111
    assert packet.ssrc == PARAMS.ssrc
    assert packet.sequence_number == 1000
    assert packet.marker == 1
    assert packet.payload == b"opus-payload"
    assert packet.extensions.mid == "7"
    assert packet.extensions.audio_level == (True, 30)


def test_sequence_stays_continuous_across_a_regate_and_drops_stale_packets() -> None:
    leg = _leg("video")
    first = [leg.build(seq, 9000, 0, b"x", None, None) for seq in (10, 11, 12)]
    assert [RtpPacket.parse(d).sequence_number for d in first if d] == [1000, 1001, 1002]
    leg.regate()  # e.g. paused; the source then skips ahead to a keyframe at seq 40
    after = leg.build(40, 12000, 0, b"k", None, None)
    assert after is not None
    assert RtpPacket.parse(after).sequence_number == 1003
    assert leg.build(39, 12000, 0, b"late", None, None) is None  # older than the new base
    timestamps = [RtpPacket.parse(d).timestamp for d in (first[0], after) if d]
    assert (timestamps[1] - timestamps[0]) % (1 << 32) == 3000  # publisher's spacing kept


def test_nack_is_answered_with_rtx() -> None:
    params = LegParams(
        payload_type=96,
        rtx_payload_type=97,
        ssrc=1,
        rtx_ssrc=2,
        mid="1",
        mid_ext_id=4,
        audio_level_ext_id=None,
    )
    leg = _leg("video", params, first=500)
    original = leg.build(7, 3000, 1, b"frame-data", None, None)
    assert original is not None
    rtx = leg.retransmission(500)
    assert isinstance(rtx, bytes)
    packet = RtpPacket.parse(rtx, _extensions_map())
    assert (packet.payload_type, packet.ssrc) == (97, 2)
    restored = unwrap_rtx(packet, payload_type=96, ssrc=1)
    assert restored.sequence_number == 500
    assert restored.payload == b"frame-data"
    assert leg.retransmission(501) == "missing"  # never sent
    assert leg.retransmission(500) == "repeat"  # answered once only


class _FakeWire:
    def __init__(self, backlog: int = 0) -> None:
        self.backlog = backlog
        self.sent: list[bytes] = []

    def congested(self, limit: int) -> bool:
        return self.backlog > limit

    def send_now(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    async def send(self, data: bytes) -> bool:
        return self.send_now(data)


async def test_a_congested_subscriber_is_dropped_alone() -> None:
    """Regression guard for 'a stalled subscriber never slows anyone else': its socket
    backlog over the bound drops its packets (and re-gates it), the others get everything."""

    async def no_pli(ssrc: int) -> None:
        return None

    counters = Counters()
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    source = Source("video", [vp8], counters, no_pli)
    healthy, stalled = _FakeWire(), _FakeWire(backlog=LEG_BUFFER_LIMIT_BYTES + 1)
    params = LegParams(96, None, 1, 2, "1", None, None)
    sender: Any = _Sender()
    source.add_leg(Leg("ok", "video", sender, healthy, params))  # type: ignore[arg-type]
    source.add_leg(Leg("slow", "video", sender, stalled, params))  # type: ignore[arg-type]
    keyframe, delta = bytes([0x10, 0x00]), bytes([0x10, 0x01])
    for n in range(30):
        packet = RtpPacket(payload_type=96, sequence_number=n, timestamp=3000 * n)
        packet.ssrc = 9
        packet.payload = keyframe if n == 0 else delta
        await source.on_rtp(packet, 0)
    assert len(healthy.sent) == 30
    assert stalled.sent == []
    assert counters.drops_congested == 1  # then gated: it waits for a keyframe
    assert source.legs["slow"].waiting_keyframe


def _held(leg: Leg) -> set[int]:
    """Sequence numbers the leg's retransmission history still holds."""
    return {d[2] << 8 | d[3] for d in leg._history if d is not None}


def test_the_history_lets_go_of_what_no_nack_can_use() -> None:
    """A phone's small video (15 packets a second) would fill 512 history slots with half a
    minute of packets; those older than HISTORY_KEEP_S are freed as new ones are sent."""
    leg = _leg("video", first=0)
    sent_at = {n: 100.0 + n / 15 for n in range(450)}  # 30 s at 15 packets a second
    for n, at in sent_at.items():
        assert leg.build(n, n * 6000, 1, bytes(1000), None, None, now=at) is not None
    now = sent_at[449]
    assert _held(leg) == {n for n, at in sent_at.items() if now - at <= HISTORY_KEEP_S}
    assert leg.retransmission(0, now) == "missing"  # freed: it could only have been "late"
    assert isinstance(leg.retransmission(440, now), bytes)  # recent: answered as before
    assert sum(len(d) for d in leg._history if d is not None) < 32 * 1100


def test_a_fast_stream_keeps_the_last_seconds() -> None:
    """At 1 Mbit/s (about 100 packets a second) the history holds the last HISTORY_KEEP_S."""
    leg = _leg("video", first=0)
    sent_at = {n: 100.0 + n / 100 for n in range(600)}
    for n, at in sent_at.items():
        leg.build(n, n * 900, 1, b"p" * 1100, None, None, now=at)
    now = sent_at[599]
    assert _held(leg) == {n for n, at in sent_at.items() if now - at <= HISTORY_KEEP_S}
    assert len(_held(leg)) >= 200


def test_a_long_stream_is_forwarded_past_32768_packets() -> None:
    """Audio is 50 packets a second: 32,768 packets are 11 minutes. Every one of 70,000
    packets (the sequence numbers wrapping) is forwarded, continuous; a packet from before a
    later layer switch is still dropped."""
    leg = _leg("audio", first=0)
    out = []
    for n in range(70_000):
        seq = (40_000 + n) & 0xFFFF
        data = leg.build(seq, n * 960, 0, b"opus", None, None)
        assert data is not None, f"packet {n} was not forwarded"
        out.append(RtpPacket.parse(data).sequence_number)
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(out))
    leg.regate()
    after = leg.build((40_000 + 70_010) & 0xFFFF, 0, 0, b"new", None, None)
    assert after is not None
    assert leg.build((40_000 + 70_005) & 0xFFFF, 0, 0, b"old", None, None) is None
