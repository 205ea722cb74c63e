"""Cheap media for the benches' clients: a few seconds encoded once, then replayed.

An aiortc peer that encodes its camera and microphone costs a share of a core per person; 16 of
them and the server are more than this 2-core machine has (docs/reliability.md). A replayed
track hands aiortc's sender pre-encoded packets instead of pictures and sound: the sender only
packs them into RTP (aiortc's ``RTCRtpSender`` takes an ``av.Packet`` as already encoded), so a
publisher costs its packets and no encoder.

The video loops a few seconds of the synthetic camera, encoded once by libvpx (PyAV) with a
keyframe every second: a keyframe request is never answered at once (the sender cannot encode
one) but the next keyframe is at most a second away, which is what the server's layer switches
wait for anyway. The audio loops one second of the tone, encoded once by aiortc's Opus encoder.
The last 4 bytes of every replayed frame carry its count, so that no two payloads are the same
(the benches match a packet's send and arrival by its payload): a replayed stream is never
decoded, by the benches' receivers nor by the server, which reads only the payload's start.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
from aiortc.codecs.opus import OpusEncoder
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from tests.rtc.clients import PatternTrack, ToneTrack

AUDIO_RATE = 48_000
AUDIO_FRAME = 960  # 20 ms
VIDEO_CLOCK = 90_000


def encoded_video(
    source: PatternTrack, width: int, height: int, fps: int, seconds: int, bitrate: int
) -> list[bytes]:
    """``seconds`` of the source's pictures as VP8 frames, a keyframe first and every second."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuv420p"
    codec.time_base = fractions.Fraction(1, fps)
    codec.framerate = fractions.Fraction(fps, 1)
    codec.bit_rate = bitrate
    codec.gop_size = fps
    codec.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
    frames: list[bytes] = []
    for index in range(fps * seconds):
        picture = source.picture()
        picture.pts = index
        frames += [bytes(packet) for packet in codec.encode(picture)]
    frames += [bytes(packet) for packet in codec.encode(None)]
    if not frames or frames[0][0] & 0x01:  # VP8: bit 0 of byte 0 clear on a keyframe
        raise RuntimeError("libvpx did not start the replay with a keyframe")
    return frames


def encoded_audio(source: ToneTrack, seconds: int = 1) -> list[bytes]:
    """``seconds`` of the tone as 20 ms Opus packets."""
    encoder = OpusEncoder()
    wave = source._wave
    packets: list[bytes] = []
    for index in range(seconds * AUDIO_RATE // AUDIO_FRAME):
        frame = av.AudioFrame(format="s16", layout="mono", samples=AUDIO_FRAME)
        frame.sample_rate = AUDIO_RATE
        frame.pts = index * AUDIO_FRAME
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        start = (index * AUDIO_FRAME) % AUDIO_RATE * 2  # bytes of 16-bit samples
        frame.planes[0].update(wave[start : start + AUDIO_FRAME * 2])
        payloads, _ = encoder.encode(frame)
        packets += payloads
    return packets


class Replay(MediaStreamTrack):
    """A track that loops pre-encoded packets at their pace (``step`` clock ticks each)."""

    def __init__(self, kind: str, packets: list[bytes], clock_rate: int, step: int) -> None:
        if min(map(len, packets)) < 8:
            raise ValueError("a replayed packet is too short to carry its count")
        super().__init__()
        self.kind = kind
        self._packets = packets
        self._time_base = fractions.Fraction(1, clock_rate)
        self._clock_rate = clock_rate
        self._step = step
        self._index = 0
        self._start = 0.0
        self._timestamp = -step

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        self._timestamp += self._step
        if self._index == 0:
            self._start = time.time()
        else:
            await asyncio.sleep(self._start + self._timestamp / self._clock_rate - time.time())
        # The last 4 bytes carry the count: every payload differs, so the benches' delay
        # matching (by payload) works; nobody decodes a replayed stream.
        data = bytearray(self._packets[self._index % len(self._packets)])
        data[-4:] = self._index.to_bytes(4, "big")
        packet = av.Packet(bytes(data))
        self._index += 1
        packet.pts = self._timestamp
        packet.time_base = self._time_base
        return packet


class Recording:
    """A person's camera and microphone, encoded once; each connection replays them anew."""

    def __init__(self, source: PatternTrack, width: int, height: int, fps: int, bitrate: int):
        self.frames = encoded_video(source, width, height, fps, seconds=3, bitrate=bitrate)
        self.fps = fps
        self.sound = encoded_audio(ToneTrack())

    def camera(self) -> Replay:
        return Replay("video", self.frames, VIDEO_CLOCK, VIDEO_CLOCK // self.fps)

    def microphone(self) -> Replay:
        return Replay("audio", self.sound, AUDIO_RATE, AUDIO_FRAME)
