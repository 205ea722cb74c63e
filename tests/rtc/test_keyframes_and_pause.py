"""Keyframe gating for late joiners, PLI forwarding, pause/resume and server-side mute."""

from __future__ import annotations

import asyncio

from rtc import TrackId
from rtc.keyframes import h264_starts_keyframe, vp8_starts_keyframe
from tests.rtc.clients import Client, DecodeErrors, PatternTrack, ToneTrack, wait_for
from tests.rtc.conftest import Harness

VIDEO = TrackId("guru", "video")
AUDIO = TrackId("guru", "audio")


async def _publisher_and(harness: Harness, *names: str) -> list[Client]:
    await harness.join(Client("guru", audio=ToneTrack(), video=PatternTrack(160, 120)))
    subscribers = [Client(name) for name in names]
    for sub in subscribers:
        await harness.join(sub)
    await wait_for(lambda: len(harness.room.tracks) == 2, what="tracks published")
    return subscribers


async def test_late_joiner_starts_at_a_keyframe(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    """A subscriber joining mid-stream gets nothing before a keyframe, which it asks for.

    aiortc's VP8 encoder makes a keyframe only every 3000 frames unless asked, so the late
    joiner decoding at all proves the keyframe request reached the publisher.
    """
    room = harness.room
    (early,) = await _publisher_and(harness, "early")
    room.subscribe("early", VIDEO)
    await wait_for(lambda: early.frames[str(VIDEO)] >= 30, what="early subscriber decoding")
    requests_before = room.counters.keyframe_requests_forwarded

    late = Client("late")
    await harness.join(late)
    room.subscribe("late", VIDEO)
    await wait_for(lambda: late.frames[str(VIDEO)] >= 10, what="late subscriber decoding")
    assert vp8_starts_keyframe(late.first_video_payload[str(VIDEO)])
    counters = room.counters
    assert counters.keyframe_requests_forwarded > requests_before
    assert counters.decodes == 0
    assert decode_errors.count == 0


async def test_subscriber_pli_reaches_the_publisher_throttled(harness: Harness) -> None:
    """A burst of keyframe requests from one subscriber reaches the publisher as one PLI: the
    rest are refused per subscriber (LEG_KEYFRAME_MIN_INTERVAL_S), not passed on to make the
    publisher encode keyframe after keyframe for everyone."""
    room = harness.room
    (sub,) = await _publisher_and(harness, "sub")
    room.subscribe("sub", VIDEO)
    await wait_for(lambda: sub.frames[str(VIDEO)] >= 10, what="subscriber decoding")
    before = room.counters
    receiver = sub.receiver_for(str(VIDEO))
    ssrc = next(iter(receiver._RTCRtpReceiver__remote_streams))
    for _ in range(20):  # a burst of PLIs within one throttle window
        await receiver._send_rtcp_pli(ssrc)
    await wait_for(
        lambda: room.counters.keyframe_requests_forwarded > before.keyframe_requests_forwarded,
        what="a PLI forwarded upstream",
    )
    await asyncio.sleep(0.3)
    after = room.counters
    assert after.keyframe_requests_received - before.keyframe_requests_received == 1
    assert after.keyframe_requests_limited - before.keyframe_requests_limited == 19
    assert after.keyframe_requests_forwarded - before.keyframe_requests_forwarded == 1


async def test_pause_for_one_subscriber_stops_its_packets_only(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    room = harness.room
    paused, other = await _publisher_and(harness, "paused", "other")
    for sub in (paused, other):
        room.subscribe(sub.name, VIDEO)
        room.subscribe(sub.name, AUDIO)
    await wait_for(
        lambda: all(
            s.frames[str(VIDEO)] >= 10 and s.frames[str(AUDIO)] >= 10 for s in (paused, other)
        ),
        what="both decoding",
    )
    room.pause(VIDEO, "paused")
    room.pause(AUDIO, "paused")
    assert room.is_paused(VIDEO, "paused")
    assert not room.is_paused(VIDEO, "other")
    # Packets already on the wire may still land: take the count after one round trip.
    await asyncio.sleep(0.2)
    video_packets = paused.rtp_packets[str(VIDEO)]
    audio_packets = paused.rtp_packets[str(AUDIO)]
    other_frames = other.frames[str(VIDEO)]
    await wait_for(lambda: other.frames[str(VIDEO)] >= other_frames + 20, what="other keeps going")
    assert paused.rtp_packets[str(VIDEO)] == video_packets
    assert paused.rtp_packets[str(AUDIO)] == audio_packets

    room.resume(VIDEO, "paused")
    room.resume(AUDIO, "paused")
    frames = paused.frames[str(VIDEO)]
    await wait_for(lambda: paused.frames[str(VIDEO)] >= frames + 10, what="video back after resume")
    await wait_for(
        lambda: paused.rtp_packets[str(AUDIO)] > audio_packets + 10, what="audio back after resume"
    )
    assert room.counters.drops_paused > 0
    assert decode_errors.count == 0


async def test_server_side_mute_reaches_nobody(harness: Harness) -> None:
    room = harness.room
    subs = await _publisher_and(harness, "a", "b")
    for sub in subs:
        room.subscribe(sub.name, AUDIO)
    await wait_for(lambda: all(s.rtp_packets[str(AUDIO)] > 10 for s in subs), what="audio flowing")
    room.pause(AUDIO)  # everyone
    await asyncio.sleep(0.2)
    counts = [s.rtp_packets[str(AUDIO)] for s in subs]
    forwarded = room.counters.packets_forwarded
    await asyncio.sleep(0.5)
    assert [s.rtp_packets[str(AUDIO)] for s in subs] == counts
    assert room.counters.packets_forwarded == forwarded
    # A subscriber added while muted gets nothing either.
    late = Client("late")
    await harness.join(late)
    room.subscribe("late", AUDIO)
    await wait_for(lambda: room.subscribers(AUDIO) == ["a", "b", "late"], what="late leg up")
    await asyncio.sleep(0.3)
    assert late.rtp_packets[str(AUDIO)] == 0
    room.resume(AUDIO)
    await wait_for(lambda: late.rtp_packets[str(AUDIO)] > 10, what="audio after unmute")


async def test_lobby_peer_is_connected_and_receives_nothing(harness: Harness) -> None:
    room = harness.room
    (lobby,) = await _publisher_and(harness, "lobby")
    await wait_for(lambda: lobby.pc.connectionState == "connected", what="lobby connected")
    await wait_for(lambda: lobby.control.readyState == "open", what="control channel open")
    await asyncio.sleep(0.5)
    assert room.subscriptions("lobby") == []
    assert not lobby.tracks
    assert room.peer("lobby").control is not None


def test_keyframe_detection_on_handmade_payloads() -> None:
    # VP8: X=1, S=1, PID=0; I=1 with a 15-bit picture id; payload header P=0 (keyframe).
    assert vp8_starts_keyframe(bytes([0x90, 0x80, 0x81, 0x23, 0x10, 0x02, 0x00]))
    assert not vp8_starts_keyframe(bytes([0x90, 0x80, 0x81, 0x23, 0x11, 0x02, 0x00]))
    assert not vp8_starts_keyframe(bytes([0x80, 0x80, 0x81, 0x23, 0x10]))  # not a start
    assert vp8_starts_keyframe(bytes([0x10, 0x10]))  # no extension
    for cut in range(4):  # truncated descriptors never raise
        assert not vp8_starts_keyframe(bytes([0x90, 0x80, 0x81, 0x23])[:cut])
    # H.264: STAP-A carrying SPS; FU-A start of an IDR; a non-IDR slice.
    assert h264_starts_keyframe(bytes([0x18, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xCE]))
    assert h264_starts_keyframe(bytes([0x7C, 0x85, 0x00]))
    assert not h264_starts_keyframe(bytes([0x7C, 0x05, 0x00]))  # FU-A continuation
    assert not h264_starts_keyframe(bytes([0x41, 0x9A]))
    assert not h264_starts_keyframe(b"")
