"""A cheap publisher for the load benches: a person's recording sent as RTP by one pacer per
client process, instead of aiortc's sender loop.

aiortc's sender runs a coroutine per track that wakes for every frame, builds an ``RtpPacket``
object per packet and serialises its header extensions through a map: tens of microseconds of
Python per packet, and one wake-up per frame per track per person. Here, once a person is
connected, the RTP task of each of their aiortc senders is stopped (its RTCP task goes on:
sender reports, and the server's receiver reports and keyframe requests are still read) and a
:class:`Pacer` shared by the whole process sends every person's frames when due, in one wake-up
every :data:`TICK_S`:

- the same pre-encoded VP8 and Opus as bench/replay.py (the frame's count in its last 4 bytes),
  VP8 packetised as aiortc does (its payload descriptor with a 15-bit picture id);
- the same header extensions aiortc's sender writes (mid and abs-send-time, by the negotiated
  ids), built once per frame, the sequence number and marker patched per packet;
- the same SRTP (the connection's own session) and the same socket (ICE's nominated pair).

What it does not do: retransmit (a NACK finds no history) or answer a keyframe request at once
(the recording has a keyframe every second, as with bench/replay.py).
"""

from __future__ import annotations

import asyncio
import random
import struct
import time
from typing import Any

from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtp import RtpPacket

from bench.replay import AUDIO_FRAME, AUDIO_RATE, VIDEO_CLOCK, Recording

TICK_S = 0.01
# Behind by more than this (a stalled process), a stream skips ahead rather than burst.
MAX_BEHIND_S = 0.5


def _last_sent(sender: Any) -> RtpPacket | None:
    """The newest packet in the sender's retransmission history (its last 128 packets)."""
    history: list[RtpPacket] = list(sender._RTCRtpSender__rtp_history.values())
    if not history:
        return None
    base = history[0].sequence_number - 0x4000
    return max(history, key=lambda p: (p.sequence_number - base) & 0xFFFF)


class _Stream:
    """One sender's frames, their pace and numbering."""

    def __init__(
        self, sender: Any, payload_type: int, frames: list[bytes], video: bool, fps: int
    ) -> None:
        self.sender = sender
        self.dtls = sender.transport
        self.payload_type = payload_type
        self.frames = frames
        self.video = video
        self.step = VIDEO_CLOCK // fps if video else AUDIO_FRAME
        self.clock = VIDEO_CLOCK if video else AUDIO_RATE
        self.seq = random.randrange(1 << 16)
        self.origin = random.randrange(1 << 32)
        last = _last_sent(sender)
        if last is not None:  # go on from aiortc's numbering: SRTP refuses an index gone back
            self.seq = (last.sequence_number + 1) & 0xFFFF
            self.origin = (last.timestamp + self.step) & 0xFFFFFFFF
        self.index = 0
        self.start = time.monotonic()
        self.extensions = sender._RTCRtpSender__rtp_header_extensions_map
        self.mid = sender._RTCRtpSender__mid

    def period(self) -> float:
        return self.step / self.clock

    def header(self, timestamp: int) -> bytearray:
        """The frame's RTP header with its extensions (sequence number and marker patched per
        packet)."""
        packet = RtpPacket(payload_type=self.payload_type, timestamp=timestamp, ssrc=0)
        packet.ssrc = self.sender._ssrc
        packet.extensions.mid = self.mid
        packet.extensions.abs_send_time = (int(time.time() * (1 << 18)) + (2208988800 << 18)) & (
            0xFFFFFF
        )
        return bytearray(packet.serialize(self.extensions))

    def payloads(self) -> list[bytes]:
        data = bytearray(self.frames[self.index % len(self.frames)])
        data[-4:] = self.index.to_bytes(4, "big")
        if self.video:
            return Vp8Encoder._packetize(bytes(data), self.index % (1 << 15))
        return [bytes(data)]

    def send_due(self, now: float) -> None:
        period = self.period()
        behind = now - (self.start + self.index * period)
        if behind > MAX_BEHIND_S:
            self.index += int(behind / period)
        while self.start + self.index * period <= now:
            self._send_frame()
            self.index += 1

    def _send_frame(self) -> None:
        connection = self.dtls.transport._connection
        pair = connection._nominated.get(1)
        srtp = getattr(self.dtls, "_tx_srtp", None)
        if pair is None or srtp is None:
            return
        timestamp = (self.origin + self.index * self.step) & 0xFFFFFFFF
        header = self.header(timestamp)
        payloads = self.payloads()
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            header[1] = self.payload_type | (0x80 if i == last else 0)
            struct.pack_into("!H", header, 2, self.seq)
            self.seq = (self.seq + 1) & 0xFFFF
            pair.protocol.transport.sendto(srtp.protect(bytes(header) + payload), pair.remote_addr)


class Pacer:
    """Sends every added person's media when due, for the whole process, in one task."""

    def __init__(self) -> None:
        self._streams: dict[int, list[_Stream]] = {}  # id(person) -> their streams
        self._task: asyncio.Task[None] | None = None

    def add(self, person: Any, recording: Recording) -> None:
        """Stop aiortc's RTP loop of each of the person's senders and send their recording."""
        streams = []
        for transceiver in person.rtc.pc.getTransceivers():
            sender = transceiver.sender
            task = sender._RTCRtpSender__rtp_task
            if sender.track is None or not transceiver._codecs or task is None:
                continue
            video = sender.track.kind == "video"
            task.cancel()
            frames = recording.frames if video else recording.sound
            payload_type = transceiver._codecs[0].payloadType
            streams.append(_Stream(sender, payload_type, frames, video, recording.fps))
        self._streams[id(person)] = streams
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    def remove(self, person: Any) -> None:
        self._streams.pop(id(person), None)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            for streams in list(self._streams.values()):
                for stream in streams:
                    stream.send_due(now)
