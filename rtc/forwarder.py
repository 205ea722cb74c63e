"""Fan-out of one publisher track's RTP packets to its subscribers, without decoding.

One :class:`Source` per publisher track, one :class:`Leg` per (source, subscriber). Packets are
forwarded as they arrive (no jitter buffer): the payload is untouched, the RTP header is
rewritten per leg (payload type, sequence number, timestamp, SSRC, header extensions) so each
subscriber sees one continuous stream per SSRC even across pauses, keyframe gates and upstream
loss.

Why there is no per-subscriber task or queue: the send path is synchronous (SRTP protect and a
non-blocking UDP sendto on the subscriber's own socket), so a slow or stalled subscriber cannot
hold up the loop. The only place packets could pile up is asyncio's user-space datagram buffer
when the kernel refuses a send; that buffer is bounded per leg (:data:`LEG_BUFFER_LIMIT_BYTES`):
over it, the leg's packets are dropped and its video re-gated to the next keyframe.
"""

from __future__ import annotations

import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiortc.rtp import RTCP_PSFB_APP, RTCP_PSFB_FIR, RTCP_PSFB_PLI, RTCP_RTPFB_NACK, unwrap_rtx
from aiortc.utils import random16, random32

from rtc.audiolevel import AudioLevelMeter
from rtc.counters import Counters
from rtc.keyframes import KeyframeThrottle, starts_keyframe
from rtc.ntpclock import current_ms, current_ntp_time
from rtc.passthrough import Wire, note_sent

# Packets kept per leg for NACK retransmission: ~5 s of 1 Mbit/s video.
HISTORY_SIZE = 512
# asyncio keeps datagrams the kernel refused in a per-socket buffer; past this, drop.
LEG_BUFFER_LIMIT_BYTES = 256 * 1024
# An upstream video gap not repaired by retransmission within this time means the subscribers
# got a broken frame: re-gate them and ask the publisher for a keyframe. 0.5 s leaves a
# retransmission two round trips of a poor mobile link (~200 ms RTT) before giving up.
UPSTREAM_LOSS_REGATE_S = 0.5
# A gap this large (in packets) is not worth waiting for.
UPSTREAM_GAP_REGATE = 64
# Forwarding delays kept per source for the median/p95 the room reports.
DELAY_SAMPLES = 2048

_HEADER = struct.Struct("!BBHII")
_BYTES = [bytes([i]) for i in range(256)]


@dataclass(frozen=True)
class LegParams:
    """What a subscriber negotiated for one of its sending transceivers."""

    payload_type: int
    rtx_payload_type: int | None
    ssrc: int
    rtx_ssrc: int
    mid: str | None
    mid_ext_id: int | None
    audio_level_ext_id: int | None


def _one_byte_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """RFC 8285 one-byte header extension block (profile 0xBEDE), padded to 32 bits."""
    body = b"".join(bytes([(ext_id << 4) | (len(value) - 1)]) + value for ext_id, value in elements)
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", 0xBEDE, len(body) // 4) + body


class Leg:
    """One subscriber's copy of one publisher track."""

    # Attribute reads on the packet path (K legs per packet) are cheaper with slots.
    __slots__ = (
        "_base_in",
        "_ext",
        "_ext_level",
        "_history",
        "_next_out",
        "_payload_type",
        "_rebase",
        "_rtx_seq",
        "_seq_offset",
        "_ssrc",
        "_ts_offset",
        "kind",
        "octets",
        "packets",
        "params",
        "paused",
        "sender",
        "subscriber_id",
        "waiting_keyframe",
        "wire",
    )

    def __init__(
        self,
        subscriber_id: str,
        kind: str,
        sender: Any,
        wire: Wire,
        params: LegParams,
        *,
        paused: bool = False,
        first_sequence: int | None = None,
    ) -> None:
        self.subscriber_id = subscriber_id
        self.kind = kind
        self.sender = sender
        self.wire = wire
        self.params = params
        self.paused = paused
        self.waiting_keyframe = kind == "video"
        self._rebase = True
        self._seq_offset = 0
        self._base_in = 0
        self._ts_offset: int | None = None
        self._next_out = random16() % 32768 if first_sequence is None else first_sequence
        self._rtx_seq = random16() % 32768
        self._history: list[bytes | None] = [None] * HISTORY_SIZE
        self.packets = 0
        self.octets = 0
        self._payload_type = params.payload_type
        self._ssrc = params.ssrc
        # Header extensions: mid (so BUNDLE demuxes by mid as well as SSRC) and, for audio,
        # the level byte copied from the publisher. Prebuilt around the one changing byte.
        elements: list[tuple[int, bytes]] = []
        if params.mid_ext_id is not None and params.mid:
            elements.append((params.mid_ext_id, params.mid.encode()))
        self._ext = _one_byte_extensions(elements) if elements else b""
        self._ext_level: tuple[bytes, bytes] | None = None
        if kind == "audio" and params.audio_level_ext_id is not None:
            block = _one_byte_extensions([*elements, (params.audio_level_ext_id, b"\x00")])
            at = 4 + sum(1 + len(value) for _, value in elements) + 1
            self._ext_level = (block[:at], block[at + 1 :])

    @property
    def next_sequence(self) -> int:
        """The next outgoing sequence number (a recycled sender continues from here)."""
        return self._next_out

    def regate(self) -> None:
        """Hold video back until the next keyframe; restart the sequence mapping."""
        if self.kind == "video":
            self.waiting_keyframe = True
        self._rebase = True

    def build(
        self,
        seq: int,
        timestamp: int,
        marker: int,
        payload: bytes,
        level: int | None,
        ntp: int | None,
    ) -> bytes | None:
        """The packet for this leg, or None if it must not be sent (stale after a rebase).

        ``level`` is the audio-level extension byte (V bit and level) to copy; ``ntp`` the
        send time for the sender report, passed on frame ends and audio packets only.
        """
        if self._rebase:
            self._rebase = False
            self._seq_offset = (self._next_out - seq) & 0xFFFF
            self._base_in = seq
            if self._ts_offset is None:
                self._ts_offset = (random32() - timestamp) & 0xFFFFFFFF
        elif (seq - self._base_in) & 0xFFFF >= 0x8000:
            return None
        out_seq = (seq + self._seq_offset) & 0xFFFF
        if (out_seq - self._next_out) & 0xFFFF < 0x8000:
            self._next_out = (out_seq + 1) & 0xFFFF
        out_ts = (timestamp + (self._ts_offset or 0)) & 0xFFFFFFFF
        ext = self._ext
        if level is not None and self._ext_level is not None:
            prefix, suffix = self._ext_level
            ext = prefix + _BYTES[level] + suffix
        data = (
            _HEADER.pack(
                0x90 if ext else 0x80,
                (marker << 7) | self._payload_type,
                out_seq,
                out_ts,
                self._ssrc,
            )
            + ext
            + payload
        )
        self._history[out_seq % HISTORY_SIZE] = data
        self.packets += 1
        self.octets += len(payload)
        if ntp is not None:
            note_sent(self.sender, ntp, out_ts, self.packets, self.octets)
        return data

    def retransmission(self, seq: int) -> bytes | None:
        """The packet to send for a NACKed sequence number (RTX-wrapped when negotiated)."""
        data = self._history[seq % HISTORY_SIZE]
        if data is None or (data[2] << 8 | data[3]) != seq:
            return None
        rtx_pt = self.params.rtx_payload_type
        if rtx_pt is None:
            return data
        header_len = 12
        if data[0] & 0x10:
            header_len += 4 + 4 * ((data[14] << 8) | data[15])
        rtx_seq = self._rtx_seq
        self._rtx_seq = (rtx_seq + 1) & 0xFFFF
        return (
            _HEADER.pack(
                data[0],
                (data[1] & 0x80) | rtx_pt,
                rtx_seq,
                (data[4] << 24) | (data[5] << 16) | (data[6] << 8) | data[7],
                self.params.rtx_ssrc,
            )
            + data[12:header_len]
            + data[2:4]
            + data[header_len:]
        )


class Source:
    """One publisher track and its legs.

    :param send_pli: coroutine function sending a PLI upstream for a media SSRC.
    """

    def __init__(
        self,
        kind: str,
        codecs: list[Any],
        counters: Counters,
        send_pli: Callable[[int], Any],
        throttle: KeyframeThrottle | None = None,
    ) -> None:
        self.kind = kind
        self.counters = counters
        self.legs: dict[str, Leg] = {}
        self.muted = False
        self.meter = AudioLevelMeter() if kind == "audio" else None
        self.throttle = throttle or KeyframeThrottle()
        self._send_pli = send_pli
        self._codec_names: dict[int, str] = {}
        self._rtx_apt: dict[int, int] = {}
        for codec in codecs:
            name = codec.mimeType.split("/")[1]
            if name.lower() == "rtx":
                apt = codec.parameters.get("apt")
                if isinstance(apt, int):
                    self._rtx_apt[codec.payloadType] = apt
            else:
                self._codec_names[codec.payloadType] = name
        self.codecs = [c for c in codecs if c.mimeType.split("/")[1].lower() != "rtx"]
        self.media_ssrc: int | None = None
        self._max_seq: int | None = None
        self._missing: dict[int, float] = {}
        self._legs_list: list[Leg] = []
        self.delays_ms: deque[float] = deque(maxlen=DELAY_SAMPLES)

    # ---- subscription management (called by the room) ----

    def add_leg(self, leg: Leg) -> None:
        self.legs[leg.subscriber_id] = leg
        self._legs_list = list(self.legs.values())
        if self.kind == "video":
            self.request_keyframe()

    def remove_leg(self, subscriber_id: str) -> Leg | None:
        leg = self.legs.pop(subscriber_id, None)
        self._legs_list = list(self.legs.values())
        return leg

    def set_paused(self, subscriber_id: str, paused: bool) -> None:
        leg = self.legs.get(subscriber_id)
        if leg is None or leg.paused == paused:
            return
        leg.paused = paused
        if not paused:
            leg.regate()
            if self.kind == "video":
                self.request_keyframe()

    def set_muted(self, muted: bool) -> None:
        if self.muted == muted:
            return
        self.muted = muted
        if not muted:
            for leg in self._legs_list:
                leg.regate()
            if self.kind == "video":
                self.request_keyframe()

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe (sent, throttled, with the next packet)."""
        self.counters.keyframe_requests_received += 1
        self.throttle.want()

    def _regate_all(self) -> None:
        for leg in self._legs_list:
            leg.regate()
        self.request_keyframe()

    # ---- the packet path ----

    async def on_rtp(self, packet: Any, arrival_ms: int) -> None:
        """Forward one packet from the publisher (the receiver hook).

        ``arrival_ms`` is aiortc's NTP-epoch millisecond clock when the datagram was read.
        """
        counters = self.counters
        counters.packets_received += 1
        now = time.monotonic()
        pt = packet.payload_type
        retransmitted = False
        apt = self._rtx_apt.get(pt)
        if apt is not None:
            if self.media_ssrc is None or len(packet.payload) < 2:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=self.media_ssrc)
            pt = apt
            retransmitted = True
        else:
            self.media_ssrc = packet.ssrc
        payload = packet.payload
        if not payload:
            return  # padding-only probe
        seq = packet.sequence_number
        level_byte = None
        if self.kind == "video":
            self._track_loss(seq, now, retransmitted)
        else:
            level = packet.extensions.audio_level
            if level is not None:
                vad, value = level
                level_byte = ((vad & 1) << 7) | (value & 0x7F)
                if self.meter is not None:
                    self.meter.update(value, now)

        legs = self._legs_list
        if self.muted:
            counters.drops_paused += len(legs)
        elif legs:
            keyframe: bool | None = None
            timestamp = packet.timestamp
            marker = packet.marker
            # aiortc's sender reports are fed once per frame (video) or packet (audio).
            ntp = current_ntp_time() if marker or self.kind == "audio" else None
            # Counted locally and added once: the loop runs K times per packet.
            forwarded = paused = gated = 0
            for leg in legs:
                if leg.paused:
                    paused += 1
                    continue
                if leg.waiting_keyframe:
                    if keyframe is None:
                        keyframe = starts_keyframe(self._codec_names.get(pt, ""), payload)
                    if not keyframe:
                        gated += 1
                        continue
                    leg.waiting_keyframe = False
                    leg._rebase = True
                wire = leg.wire
                if wire.congested(LEG_BUFFER_LIMIT_BYTES):
                    counters.drops_congested += 1
                    leg.regate()
                    continue
                data = leg.build(seq, timestamp, marker, payload, level_byte, ntp)
                if data is None:
                    continue
                if wire.send_now(data) or await wire.send(data):
                    forwarded += 1
                elif leg.kind == "video":
                    leg.regate()  # the subscriber missed part of a frame
            if paused:
                counters.drops_paused += paused
            if gated:
                counters.drops_gated += gated
            if forwarded:
                counters.packets_forwarded += forwarded
                counters.bytes_forwarded += forwarded * len(payload)
                # Datagram read by aiortc's DTLS transport -> last subscriber's sendto done.
                self.delays_ms.append(current_ms() - arrival_ms)

        throttle = self.throttle
        if self.kind == "video" and self.media_ssrc is not None and not throttle.quiet(now):
            waiting = any(leg.waiting_keyframe and not leg.paused for leg in legs)
            if throttle.due(now, waiting=waiting and not self.muted):
                counters.keyframe_requests_forwarded += 1
                await self._send_pli(self.media_ssrc)

    def _track_loss(self, seq: int, now: float, retransmitted: bool) -> None:
        missing = self._missing
        if retransmitted or self._max_seq is None:
            if self._max_seq is None:
                self._max_seq = seq
            missing.pop(seq, None)
            return
        delta = (seq - self._max_seq) & 0xFFFF
        if 0 < delta < 0x8000:
            if delta > UPSTREAM_GAP_REGATE:
                missing.clear()
                self._upstream_loss()
            elif delta > 1:
                for lost in range(self._max_seq + 1, self._max_seq + delta):
                    missing[lost & 0xFFFF] = now
            self._max_seq = seq
        elif missing:
            missing.pop(seq, None)
        if missing and now - next(iter(missing.values())) > UPSTREAM_LOSS_REGATE_S:
            missing.clear()
            self._upstream_loss()

    def _upstream_loss(self) -> None:
        self.counters.upstream_losses += 1
        self._regate_all()

    async def on_leg_rtcp(self, leg: Leg, packet: Any) -> bool:
        """RTCP from a subscriber about ``leg``; True when consumed here."""
        fmt = getattr(packet, "fmt", None)
        kind = type(packet).__name__
        if kind == "RtcpPsfbPacket":
            if fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                if self.kind == "video":
                    self.request_keyframe()
                return True
            # REMB only steers a local encoder in aiortc; there is none here.
            return fmt == RTCP_PSFB_APP
        if kind == "RtcpRtpfbPacket" and fmt == RTCP_RTPFB_NACK:
            if leg.paused or self.muted or leg.waiting_keyframe:
                return True
            for seq in packet.lost:
                data = leg.retransmission(seq)
                if data is not None and (leg.wire.send_now(data) or await leg.wire.send(data)):
                    self.counters.retransmissions += 1
            return True
        return False
