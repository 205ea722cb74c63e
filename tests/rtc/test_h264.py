"""H.264 is forwarded as-is when that is all the publisher's browser offers (Safari, some
hardware encoders); subscribers are offered only that codec, and decode it."""

from __future__ import annotations

from aiortc import RTCRtpSender

from rtc import TrackId
from rtc.keyframes import h264_starts_keyframe
from tests.rtc.clients import Client, DecodeErrors, PatternTrack, wait_for
from tests.rtc.conftest import Harness


async def test_h264_only_publisher(harness: Harness, decode_errors: DecodeErrors) -> None:
    room = harness.room
    publisher = Client("safari", video=PatternTrack(160, 120))
    h264 = [
        c
        for c in RTCRtpSender.getCapabilities("video").codecs
        if c.mimeType == "video/H264" and c.parameters.get("profile-level-id") == "42e01f"
    ]
    rtx = [c for c in RTCRtpSender.getCapabilities("video").codecs if c.mimeType == "video/rtx"]
    publisher.pc.getTransceivers()[0].setCodecPreferences(h264 + rtx)
    await harness.join(publisher)
    viewer = Client("viewer")
    await harness.join(viewer)
    video = TrackId("safari", "video")
    await wait_for(lambda: room.tracks == [video], what="published")
    room.subscribe("viewer", video)
    await wait_for(lambda: viewer.frames[str(video)] >= 15, what="H.264 decoding at the viewer")

    receiver = viewer.receiver_for(str(video))
    negotiated = {c.mimeType for c in receiver._RTCRtpReceiver__codecs.values()}
    assert "video/H264" in negotiated
    assert "video/VP8" not in negotiated
    assert h264_starts_keyframe(viewer.first_video_payload[str(video)])
    assert (room.counters.decodes, room.counters.encodes) == (0, 0)
    assert decode_errors.count == 0
