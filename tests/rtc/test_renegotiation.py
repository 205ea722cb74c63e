"""Subscriptions coming and going, publishers leaving, screen sharing, stable numbering."""

from __future__ import annotations

import asyncio
import re

from aiortc import sdp

from rtc import TrackId
from tests.rtc.clients import Client, DecodeErrors, PatternTrack, ToneTrack, wait_for
from tests.rtc.conftest import Harness


async def test_unsubscribe_then_resubscribe_recycles_the_m_line(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    room = harness.room
    video = TrackId("pub", "video")
    await harness.join(Client("pub", video=PatternTrack(160, 120)))
    sub = Client("sub")
    await harness.join(sub)
    await wait_for(lambda: room.tracks == [video], what="published")
    room.subscribe("sub", video)
    await wait_for(lambda: sub.frames[str(video)] >= 10, what="decoding")
    m_lines = len(sub.pc.getTransceivers())

    room.unsubscribe("sub", video)
    await harness.settle()
    await wait_for(
        lambda: all(t.currentDirection == "inactive" for t in sub.pc.getTransceivers()),
        what="m-line inactive at the subscriber",
    )
    await asyncio.sleep(0.2)
    packets = sub.rtp_packets[str(video)]
    await asyncio.sleep(0.4)
    assert sub.rtp_packets[str(video)] == packets

    room.subscribe("sub", video)
    await harness.settle()
    await wait_for(lambda: room.subscribers(video) == ["sub"], what="leg back")
    frames = sub.frames[str(video)]
    await wait_for(lambda: sub.frames[str(video)] >= frames + 10, what="decoding again")
    assert len(sub.pc.getTransceivers()) == m_lines  # recycled, not grown
    assert decode_errors.count == 0


async def test_publisher_leaving_unpublishes_and_renegotiates(harness: Harness) -> None:
    room = harness.room
    gone: list[TrackId] = []
    room.on_track_unpublished = gone.append
    await harness.join(Client("pub", audio=ToneTrack(), video=PatternTrack(160, 120)))
    sub = Client("sub")
    await harness.join(sub)
    await wait_for(lambda: len(room.tracks) == 2, what="published")
    for track_id in room.tracks:
        room.subscribe("sub", track_id)
    await wait_for(lambda: sub.frames["pub:video"] >= 5, what="decoding")

    await room.remove_peer("pub")
    await harness.clients.pop("pub").close()
    assert sorted(gone) == [TrackId("pub", "audio"), TrackId("pub", "video")]
    assert room.tracks == []
    assert room.subscriptions("sub") == []
    await harness.settle()
    await wait_for(
        lambda: all(t.currentDirection == "inactive" for t in sub.pc.getTransceivers()),
        what="subscriber's m-lines inactive",
    )


async def test_camera_and_screen_are_two_tracks(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    room = harness.room
    presenter = Client("guru", audio=ToneTrack(), video=PatternTrack(160, 120))
    await harness.join(presenter)
    viewer = Client("murid")
    await harness.join(viewer)
    await wait_for(lambda: len(room.tracks) == 2, what="camera and audio published")

    # The browser starts sharing its screen: a new sendonly m-line and a re-offer.
    presenter.add_screen_transceiver(PatternTrack(320, 240))
    await harness.client_reoffer(presenter)
    screen = TrackId("guru", "screen")
    await wait_for(lambda: screen in room.tracks, what="screen published")
    room.subscribe("murid", TrackId("guru", "video"))
    await wait_for(lambda: viewer.frames["guru:video"] >= 5, what="camera decoding")
    room.subscribe("murid", screen)
    await wait_for(
        lambda: viewer.frames["guru:video"] >= 10 and viewer.frames["guru:screen"] >= 10,
        what="camera and screen decoding",
    )
    assert room.counters.decodes == 0
    assert decode_errors.count == 0


def _chrome_numbering(offer: str) -> str:
    """Renumber an aiortc offer the way Chrome numbers its own (Opus 111, VP8 96, ...)."""
    pts = {"audio": {"96": "111"}, "video": {"97": "96", "98": "97"}}
    ext_ids = {"1": "4", "2": "1", "3": "2"}  # mid, audio-level, abs-send-time
    out, kind = [], ""
    for line in offer.split("\r\n"):
        if line.startswith("m="):
            kind = line[2:].split(" ")[0]
            if kind in pts:
                head, fmts = line.split(" ")[:3], line.split(" ")[3:]
                line = " ".join(head + [pts[kind].get(f, f) for f in fmts])
        elif kind in pts and (m := re.match(r"a=(rtpmap|fmtp|rtcp-fb):(\d+)(.*)", line)):
            table = pts[kind]
            rest = re.sub(r"apt=(\d+)", lambda a, t=table: "apt=" + t.get(a[1], a[1]), m[3])
            line = f"a={m[1]}:{table.get(m[2], m[2])}{rest}"
        elif m := re.match(r"a=extmap:(\d+) (.*)", line):
            line = f"a=extmap:{ext_ids.get(m[1], m[1])} {m[2]}"
        out.append(line)
    return "\r\n".join(out)


def _numbering(description: str) -> dict[str, tuple[dict[int, str], dict[str, int]]]:
    parsed = sdp.SessionDescription.parse(description)
    return {
        m.rtp.muxId: (
            {c.payloadType: c.mimeType.lower() for c in m.rtp.codecs},
            {e.uri: e.id for e in m.rtp.headerExtensions},
        )
        for m in parsed.media
        if m.kind in ("audio", "video")
    }


async def test_reoffer_keeps_the_browsers_numbering(
    harness: Harness, decode_errors: DecodeErrors
) -> None:
    """Regression: aiortc's createOffer renumbers every m-line to its own defaults, which
    Chrome rejects (extension id reassignment, payload types colliding in the BUNDLE)."""
    room = harness.room
    chrome = Client(
        "chrome", audio=ToneTrack(), video=PatternTrack(160, 120), offer_filter=_chrome_numbering
    )
    await harness.join(chrome)
    await harness.join(Client("other", audio=ToneTrack(), video=PatternTrack(160, 120)))
    await wait_for(lambda: len(room.tracks) == 4, what="published")
    before = _numbering(chrome.pc.remoteDescription.sdp)

    offers: list[str] = []
    peer = room.peer("chrome")
    original = peer.create_offer

    async def spy() -> str:
        offers.append(await original())
        return offers[-1]

    peer.create_offer = spy  # type: ignore[method-assign]
    room.subscribe("chrome", TrackId("other", "audio"))
    room.subscribe("chrome", TrackId("other", "video"))
    room.subscribe("other", TrackId("chrome", "video"))
    await wait_for(
        lambda: (
            chrome.frames["other:video"] >= 10
            and harness.clients["other"].frames["chrome:video"] >= 10
        ),
        what="both directions decoding after the re-offer",
    )
    after = _numbering(offers[-1])
    for mid, numbering in before.items():
        assert after[mid] == numbering
    meaning: dict[int, str] = {}
    uri_ids: dict[str, int] = {}
    for codecs, extensions in after.values():
        for pt, name in codecs.items():
            assert meaning.setdefault(pt, name) == name, f"payload type {pt} reused"
        for uri, ext_id in extensions.items():
            assert uri_ids.setdefault(uri, ext_id) == ext_id, f"{uri} renumbered"
    assert decode_errors.count == 0
