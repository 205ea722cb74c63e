"""1 -> N and N -> N forwarding with real aiortc peers: decoded frames, zero decode/encode."""

from __future__ import annotations

from rtc import TrackId
from rtc.keyframes import vp8_starts_keyframe
from tests.rtc.clients import Client, DecodeErrors, PatternTrack, ToneTrack, wait_for
from tests.rtc.conftest import Harness


async def test_one_publisher_to_three_subscribers(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    room = harness.room
    await harness.join(Client("alice", audio=ToneTrack(), video=PatternTrack()))
    subscribers = [Client(f"sub{i}") for i in range(3)]
    for sub in subscribers:
        await harness.join(sub)
    await wait_for(lambda: len(room.tracks) == 2, what="alice's tracks published")
    assert room.tracks == [TrackId("alice", "audio"), TrackId("alice", "video")]
    for sub in subscribers:
        for track_id in room.tracks:
            room.subscribe(sub.name, track_id)

    await wait_for(
        lambda: all(
            s.frames["alice:video"] >= 30 and s.frames["alice:audio"] >= 50 for s in subscribers
        ),
        what="frames decoded at every subscriber",
    )
    for sub in subscribers:
        assert vp8_starts_keyframe(sub.first_video_payload["alice:video"])
    counters = room.counters
    assert counters.decodes == 0
    assert counters.encodes == 0
    assert counters.packets_forwarded > 0
    assert decode_errors.count == 0
    # Audio is forwarded from the packet path, not after aiortc's ~80 ms audio jitter buffer;
    # the figures themselves are measured by bench/forwarding.py (docs/performance.md).
    delay = room.forwarding_delay()
    assert set(delay) == {"audio", "video"}
    assert 0 <= delay["audio"][0] <= delay["audio"][1]
    # The server only sends on a subscriber's forwarding transceivers: no receive-side
    # estimator is kept for them (about 100 KB each); the publisher's video keeps its own.
    estimator = "_RTCRtpReceiver__remote_bitrate_estimator"
    for sub in subscribers:
        forwarding = [
            t for t in room.peer(sub.name).pc.getTransceivers() if t.direction == "sendonly"
        ]
        assert len(forwarding) == 2
        assert all(getattr(t.receiver, estimator) is None for t in forwarding)
    publishing = [t for t in room.peer("alice").pc.getTransceivers() if t.kind == "video"]
    assert getattr(publishing[0].receiver, estimator) is not None


async def test_every_participant_receives_every_other(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    """N -> N: each of three participants publishes audio and video and receives the others."""
    room = harness.room
    names = ["ana", "budi", "citra"]
    for name in names:
        await harness.join(Client(name, audio=ToneTrack(), video=PatternTrack(160, 120)))
    await wait_for(lambda: len(room.tracks) == 6, what="all tracks published")
    for name in names:
        for track_id in room.tracks:
            if track_id.peer_id != name:
                room.subscribe(name, track_id)

    def everyone_sees_everyone() -> bool:
        return all(
            harness.clients[name].frames[f"{other}:video"] >= 20
            and harness.clients[name].frames[f"{other}:audio"] >= 25
            for name in names
            for other in names
            if other != name
        )

    await wait_for(everyone_sees_everyone, what="every pair decoding")
    counters = room.counters
    assert (counters.decodes, counters.encodes) == (0, 0)
    assert decode_errors.count == 0
    assert room.subscriptions("ana") == [
        TrackId("budi", "audio"),
        TrackId("budi", "video"),
        TrackId("citra", "audio"),
        TrackId("citra", "video"),
    ]
