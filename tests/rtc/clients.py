"""Real aiortc peers acting as browsers for the forwarding-core tests (and the benchmark)."""

from __future__ import annotations

import array
import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from aiortc import (
    AudioStreamTrack,
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
    VideoStreamTrack,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

AUDIO_RATE = 48000
AUDIO_PTIME = 0.02


class ToneTrack(AudioStreamTrack):
    """A 440 Hz sine at about -13 dBov, paced like a microphone (20 ms frames)."""

    def __init__(self, frequency: float = 440.0, amplitude: float = 0.3) -> None:
        super().__init__()
        one_second = array.array(
            "h",
            (
                int(math.sin(2 * math.pi * frequency * i / AUDIO_RATE) * amplitude * 32767)
                for i in range(AUDIO_RATE)
            ),
        )
        self._wave = one_second.tobytes() * 2
        self._offset = 0

    async def recv(self) -> AudioFrame:
        frame = await super().recv()  # silence with the right pacing and timestamps
        n = frame.samples
        start = self._offset * 2
        frame.planes[0].update(self._wave[start : start + n * 2])
        self._offset = (self._offset + n) % AUDIO_RATE
        return frame


class PatternTrack(VideoStreamTrack):
    """Synthetic camera: a scrolling textured gradient, so every frame differs."""

    def __init__(self, width: int = 320, height: int = 240) -> None:
        super().__init__()
        self._width = width
        self._height = height
        self._count = 0
        rows = bytearray()
        for y in range(height * 2):
            rows += bytes(((x * 3 + y * 2 + (x * y) % 7 * 9) & 0xFF) for x in range(width))
        self._luma = bytes(rows)
        self._chroma = bytes([128]) * (width * height // 4)

    async def recv(self) -> VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = self.picture()
        frame.pts = pts
        frame.time_base = time_base
        return frame

    def picture(self) -> VideoFrame:
        """The next picture of the scroll (no timestamp)."""
        w, h = self._width, self._height
        shift = (self._count * 2) % h
        self._count += 1
        frame = VideoFrame(w, h, "yuv420p")
        frame.planes[0].update(self._luma[shift * w : (shift + h) * w])
        frame.planes[1].update(self._chroma)
        frame.planes[2].update(self._chroma)
        return frame


class DecodeErrors(logging.Handler):
    """Counts aiortc receiver warnings about frames that failed to decode."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "failed to decode" in record.getMessage():
            self.count += 1


class Client:
    """An aiortc peer shaped like the web client: one connection, a ``control`` channel."""

    def __init__(
        self,
        name: str,
        *,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | None = None,
        screen: MediaStreamTrack | None = None,
        offer_filter: Callable[[str], str] | None = None,
        remb: bool = False,
    ) -> None:
        self.name = name
        # aiortc's receive-side estimator, in the same process (and GIL) as the server and the
        # other clients' decoders, reads event-loop stalls as queueing and reports a falling
        # REMB on loopback. Tests of forwarding switch it off; the adaptation is tested with
        # Chromium behind a real rate limit (tests/browser/test_adaptive_media.py).
        self._remb = remb
        # aiortc quirk (client side only): with its default "balanced" bundle policy, two
        # m-lines of one kind added by the same re-offer to a peer that had none of that kind
        # land on a transport the BUNDLE then discards; tests add them one offer at a time.
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.control = self.pc.createDataChannel("control")
        self.frames: Counter[str] = Counter()
        self.first_video_payload: dict[str, bytes] = {}
        self.rtp_packets: Counter[str] = Counter()
        self.tracks: dict[str, MediaStreamTrack] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._offer_filter = offer_filter
        self.pc.on("track", self._on_track)
        for track in (audio, video):
            if track is not None:
                self.pc.addTrack(track)
        self.screen = screen
        if screen is not None:
            self.add_screen_transceiver(screen)

    def add_screen_transceiver(self, track: MediaStreamTrack) -> Any:
        transceiver = self.pc.addTransceiver(track, direction="sendonly")
        transceiver.sender._stream_id = "screen-" + self.name
        return transceiver

    def _on_track(self, track: MediaStreamTrack) -> None:
        self.tracks[track.id] = track
        receiver = next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)
        if not self._remb:
            receiver._RTCRtpReceiver__remote_bitrate_estimator = None
        original = receiver._handle_rtp_packet

        async def handle(packet: Any, arrival_time_ms: int) -> None:
            # Test instrumentation: what the server actually sent this subscriber.
            self.rtp_packets[track.id] += 1
            if track.kind == "video" and packet.payload:
                self.first_video_payload.setdefault(track.id, packet.payload)
            await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle
        task = asyncio.ensure_future(self._consume(track))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _consume(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                await track.recv()
                self.frames[track.id] += 1
        except MediaStreamError:
            pass

    async def make_offer(self) -> str:
        offer = await self.pc.createOffer()
        sdp = offer.sdp if self._offer_filter is None else self._offer_filter(offer.sdp)
        await self.pc.setLocalDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        return str(self.pc.localDescription.sdp)

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, offer_sdp: str) -> str:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        answer = await self.pc.createAnswer()
        await self.pc.setLocalDescription(answer)
        return str(self.pc.localDescription.sdp)

    def receiver_for(self, track_id: str) -> Any:
        track = self.tracks[track_id]
        return next(t.receiver for t in self.pc.getTransceivers() if t.receiver.track is track)

    async def packets_received(self, track_id: str) -> int:
        stats = await self.receiver_for(track_id).getStats()
        return sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp")

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.pc.close()


async def wait_for(
    condition: Callable[[], bool], deadline_s: float = 15.0, what: str = "condition"
) -> None:
    """Poll ``condition`` until true; fail after ``deadline_s`` seconds."""
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        await asyncio.sleep(0.02)


def silence_track() -> AudioStreamTrack:
    return AudioStreamTrack()
