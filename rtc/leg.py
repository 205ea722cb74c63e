"""One subscriber's copy of one publisher track: the per-leg RTP rewrite and its history.

The payload is never touched except for VP8's picture ids after a layer switch (rtc/vp8.py);
the RTP header is rewritten per leg (payload type, sequence number, timestamp, SSRC, header
extensions), so each subscriber sees one continuous stream per SSRC even across pauses,
keyframe gates, upstream loss and simulcast layer switches.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiortc.utils import random16, random32

from rtc.keyframes import KeyframeThrottle
from rtc.pacer import Pacer
from rtc.passthrough import Wire, note_sent
from rtc.vp8 import Descriptor

# Packets kept per leg for NACK retransmission: ~5 s of 1 Mbit/s video.
HISTORY_SIZE = 512
# A retransmission is worth sending only while the subscriber can still use it: after about a
# second its decoder has frozen on the gap and asked for a keyframe, which repairs it instead
# (and the late copy would only eat the bandwidth the link lacks).
RETRANSMIT_DEADLINE_S = 1.0
# Packets older than this are dropped from the history as new ones are sent: no NACK can use
# them (RETRANSMIT_DEADLINE_S, plus margin for a late report), and a slow stream's 512 packets
# would otherwise hold half a minute of a phone's video per leg (docs/performance.md, "Memory").
HISTORY_KEEP_S = 2.0
# A subscriber's keyframe requests for one video reach the publisher at most this often:
# Chromium asks again every ~0.3-1 s while it cannot decode, and on a lossy link that made
# every publisher send a keyframe every few seconds for everyone.
LEG_KEYFRAME_MIN_INTERVAL_S = 2.0
# Keyframe requests within this window that show a subscriber keeps losing sync on a video,
# and how many make the allocation move it one layer down (or off) for a while.
SYNC_LOSS_WINDOW_S = 20.0
SYNC_LOSSES_TO_STEP_DOWN = 3


class LegLayer(Protocol):
    """What a leg's users read of the encoding it forwards (rtc/layers.py's Layer)."""

    index: int
    width: int
    height: int
    throttle: KeyframeThrottle

    def wait(self, leg: Leg, now: float) -> None: ...

    def detach(self, leg: Leg) -> None: ...


class LegDownlink(Protocol):
    """What a leg's forwarding asks of its subscriber's downlink (rtc/downlink.py's Downlink):
    the pacer, whether the link is congested, its round trip, and the feedback to pass on."""

    pacer: Pacer
    congested: bool
    rtt: float

    def on_report(self, leg: Leg, report: Any, now: float) -> None: ...

    def on_remb(self, bps: float, now: float) -> None: ...


_HEADER = struct.Struct("!BBHII")
# RTP padding is counted in one byte (RFC 3550 section 5.1).
MAX_PADDING = 255
_BYTES = [bytes([i]) for i in range(256)]
_MASK32 = 0xFFFFFFFF
NOT_SENT = "missing"

Refusal = Literal["missing", "repeat", "late"]


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
    abs_send_time_ext_id: int | None = None


def one_byte_extensions(elements: list[tuple[int, bytes]]) -> bytes:
    """RFC 8285 one-byte header extension block (profile 0xBEDE), padded to 32 bits."""
    body = b"".join(bytes([(ext_id << 4) | (len(value) - 1)]) + value for ext_id, value in elements)
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", 0xBEDE, len(body) // 4) + body


def abs_send_time(now: float) -> bytes:
    """The abs-send-time extension's 3 bytes: seconds in 6.18 fixed point, 24 bits wide
    (webrtc.org's abs-send-time; the receiver only uses differences)."""
    value = int(now * 262144) & 0xFFFFFF
    return bytes(((value >> 16) & 0xFF, (value >> 8) & 0xFF, value & 0xFF))


class _Extensions:
    """The leg's header extension block, prebuilt around its two changing parts.

    Elements in order: mid (fixed), audio level (1 byte, audio only), abs-send-time (3 bytes).
    ``parts`` holds the fixed bytes before, between and after the changing ones.
    """

    __slots__ = ("fixed", "level", "parts", "send_time", "send_time_at")

    def __init__(self, kind: str, params: LegParams) -> None:
        elements: list[tuple[int, bytes, bool]] = []
        if params.mid_ext_id is not None and params.mid:
            elements.append((params.mid_ext_id, params.mid.encode(), False))
        self.level = kind == "audio" and params.audio_level_ext_id is not None
        self.send_time = params.abs_send_time_ext_id is not None
        if params.audio_level_ext_id is not None and self.level:
            elements.append((params.audio_level_ext_id, b"\x00", True))
        if params.abs_send_time_ext_id is not None:
            elements.append((params.abs_send_time_ext_id, b"\x00\x00\x00", True))
        block = one_byte_extensions([(i, v) for i, v, _ in elements]) if elements else b""
        self.fixed = block
        # Split the block at each changing value: parts[0] + v0 + parts[1] (+ v1 + parts[2]).
        parts: list[bytes] = []
        previous = 0
        at = 4
        # Where the abs-send-time value sits in the packet (retransmissions are stamped anew).
        self.send_time_at: int | None = None
        for _ext_id, value, changing in elements:
            at += 1
            if changing:
                parts.append(block[previous:at])
                previous = at + len(value)
                if len(value) == 3:
                    self.send_time_at = 12 + at
            at += len(value)
        parts.append(block[previous:])
        self.parts = tuple(parts)

    def build(self, level: int | None, send_time: bytes) -> bytes:
        parts = self.parts
        if self.level:
            level_byte = _BYTES[0x7F if level is None else level]
            if self.send_time:
                return parts[0] + level_byte + parts[1] + send_time + parts[2]
            return parts[0] + level_byte + parts[1]
        if self.send_time:
            return parts[0] + send_time + parts[1]
        return self.fixed


class Leg:
    """One subscriber's copy of one publisher track.

    ``layer`` is the encoding forwarded now (None: nothing, e.g. waiting for a keyframe);
    ``target`` the one the allocation chose (the switch happens at its next keyframe).
    """

    # Attribute reads on the packet path (K legs per packet) are cheaper with slots.
    __slots__ = (
        "_base_in",
        "_ext",
        "_history",
        "_last_ask",
        "_last_pid",
        "_last_tl0",
        "_last_ts",
        "_last_wall",
        "_next_out",
        "_payload_type",
        "_pid_off",
        "_rebase",
        "_resent",
        "_rtx_seq",
        "_sent_at",
        "_seq_offset",
        "_ssrc",
        "_stream",
        "_sweep",
        "_tl0_off",
        "_ts_offset",
        "downlink",
        "keyframe_asks",
        "kind",
        "layer",
        "octets",
        "packets",
        "params",
        "paused",
        "retransmitted_octets",
        "sender",
        "skipped",
        "subscriber_id",
        "switches",
        "target",
        "urgent",
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
        downlink: LegDownlink | None = None,
    ) -> None:
        self.subscriber_id = subscriber_id
        self.kind = kind
        self.sender = sender
        self.wire = wire
        self.params = params
        self.paused = paused
        self.downlink = downlink
        # A first-class video (a screen, the counselor): ahead of the others in the pacer.
        self.urgent = False
        self.layer: LegLayer | None = None
        self.target: LegLayer | None = None
        self._stream: LegLayer | None = None
        self._rebase = True
        self._seq_offset = 0
        self._base_in = 0
        self._ts_offset: int | None = None
        self._next_out = random16() % 32768 if first_sequence is None else first_sequence
        self._rtx_seq = random16() % 32768
        self._history: list[bytes | None] = [None] * HISTORY_SIZE
        self._sent_at = [0.0] * HISTORY_SIZE
        self._resent = bytearray(HISTORY_SIZE)
        self._sweep = 0  # the oldest history slot that may still hold a useful packet
        self._pid_off = 0
        self._tl0_off = 0
        self._last_pid = -1
        self._last_tl0 = -1
        self._last_ts = 0
        self._last_wall: float | None = None
        self._last_ask = float("-inf")
        self.keyframe_asks: list[float] = []
        self.packets = 0
        self.octets = 0
        self.retransmitted_octets = 0
        # Sequence numbers this leg jumped over (the publisher's packets lost before the
        # server): the subscriber counts them lost, but its own link did not lose them.
        self.skipped = 0
        self.switches = 0
        self._payload_type = params.payload_type
        self._ssrc = params.ssrc
        self._ext = _Extensions(kind, params)

    @property
    def next_sequence(self) -> int:
        """The next outgoing sequence number (a recycled sender continues from here)."""
        return self._next_out

    def restamp(self, data: bytes, now: float) -> bytes:
        """``data`` with its abs-send-time set to ``now``: a packet that waited at the server
        (the pacer, a retransmission) must not look to the subscriber's estimator as if it had
        waited in the network."""
        at = self._ext.send_time_at
        if at is None or len(data) < at + 3:
            return data
        return data[:at] + abs_send_time(now) + data[at + 3 :]

    @property
    def waiting_keyframe(self) -> bool:
        """Video that forwards nothing until a keyframe starts a layer for it."""
        return self.kind == "video" and self.layer is None

    @property
    def rewrites_picture_ids(self) -> bool:
        return self._pid_off != 0 or self._tl0_off != 0

    def regate(self) -> None:
        """Restart the sequence mapping (video then waits for a keyframe: see Source)."""
        self._rebase = True

    def switch_to(
        self, layer: LegLayer, timestamp: int, clock_rate: int, now: float, found: Descriptor
    ) -> None:
        """Start forwarding ``layer`` at this packet, the first of one of its keyframes.

        Sequence numbers continue where they were. A different encoding than the last one sent
        has its own timestamp base and picture ids: the timestamp moves on by the wall-clock
        time since the last packet sent, and the picture ids by one, so the subscriber's
        decoder sees the next picture of one stream.
        """
        self._rebase = True
        if layer is not self._stream:
            if self._stream is not None:
                self.switches += 1
            if self._last_wall is not None:
                step = max(1, int((now - self._last_wall) * clock_rate))
                self._ts_offset = (self._last_ts + step - timestamp) & _MASK32
            mask = found.picture_id_mask
            if found.picture_id >= 0 and self._last_pid >= 0:
                self._pid_off = (self._last_pid + 1 - found.picture_id) & mask
            else:
                self._pid_off = 0
            if found.tl0 >= 0 and self._last_tl0 >= 0:
                self._tl0_off = (self._last_tl0 + 1 - found.tl0) & 0xFF
            else:
                self._tl0_off = 0
            self._stream = layer
        self.layer = layer

    def picture_ids(self, found: Descriptor) -> tuple[int, int]:
        """This leg's PictureID and TL0PICIDX for a packet (remembered for the next switch)."""
        picture_id = tl0 = -1
        if found.picture_id >= 0:
            picture_id = (found.picture_id + self._pid_off) & found.picture_id_mask
            self._last_pid = picture_id
        if found.tl0 >= 0:
            tl0 = (found.tl0 + self._tl0_off) & 0xFF
            self._last_tl0 = tl0
        return picture_id, tl0

    def build(
        self,
        seq: int,
        timestamp: int,
        marker: int,
        payload: bytes,
        level: int | None,
        ntp: int | None,
        now: float = 0.0,
        send_time: bytes = b"\x00\x00\x00",
    ) -> bytes | None:
        """The packet for this leg, or None if it must not be sent (stale after a rebase).

        ``level`` is the audio-level extension byte (V bit and level) to copy; ``ntp`` the
        send time for the sender report, passed on frame ends and audio packets only;
        ``send_time`` the abs-send-time bytes (the subscriber's bandwidth estimate uses them).
        """
        if self._rebase:
            self._rebase = False
            self._seq_offset = (self._next_out - seq) & 0xFFFF
            self._base_in = seq
            if self._ts_offset is None:
                self._ts_offset = (random32() - timestamp) & _MASK32
        else:
            since = (seq - self._base_in) & 0xFFFF
            if since >= 0x8000:
                return None  # from before the rebase (a late packet of the old layer)
            if since >= 0x4000:
                # Keep the floor within half the sequence space of the stream: 32,768 packets
                # past it every packet read as older and the leg went silent for good (audio
                # after about 11 minutes, found by bench/session_soak.py). A packet 8,192
                # behind the newest is of no use to anyone anyway.
                self._base_in = (seq - 0x2000) & 0xFFFF
        out_seq = (seq + self._seq_offset) & 0xFFFF
        ahead = (out_seq - self._next_out) & 0xFFFF
        if ahead < 0x8000:
            self.skipped += ahead
            self._next_out = (out_seq + 1) & 0xFFFF
        elif self.skipped:
            self.skipped -= 1  # a late packet filled one of the holes
        out_ts = (timestamp + (self._ts_offset or 0)) & _MASK32
        ext = self._ext.build(level, send_time)
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
        index = out_seq % HISTORY_SIZE
        history = self._history
        sent_at = self._sent_at
        history[index] = data
        sent_at[index] = now
        self._resent[index] = 0
        # Free what no NACK can use any more: at most the packets that went stale since the
        # last one, so about one step per packet.
        sweep = self._sweep
        while sweep != index and (history[sweep] is None or now - sent_at[sweep] > HISTORY_KEEP_S):
            history[sweep] = None
            sweep = (sweep + 1) % HISTORY_SIZE
        self._sweep = sweep
        self._last_ts = out_ts
        self._last_wall = now
        self.packets += 1
        self.octets += len(payload)
        if ntp is not None:
            note_sent(self.sender, ntp, out_ts, self.packets, self.octets)
        return data

    def ask_keyframe(self, now: float) -> bool:
        """Note the subscriber's keyframe request; False when it comes too soon after the last."""
        if now - self._last_ask < LEG_KEYFRAME_MIN_INTERVAL_S:
            return False
        self._last_ask = now
        asks = [t for t in self.keyframe_asks if now - t < SYNC_LOSS_WINDOW_S]
        asks.append(now)
        self.keyframe_asks = asks
        return True

    def losing_sync(self, now: float) -> bool:
        """Whether the subscriber keeps asking for keyframes of this video (it cannot keep up)."""
        recent = sum(1 for t in self.keyframe_asks if now - t < SYNC_LOSS_WINDOW_S)
        return recent >= SYNC_LOSSES_TO_STEP_DOWN

    def rtx_padding(self, now: float, size: int = MAX_PADDING) -> bytes | None:
        """A padding-only packet on this leg's RTX stream (RFC 4588): nothing for the decoder,
        bytes for the subscriber's estimator to time, while the leg forwards its layer (a
        probe for an upgrade). None without RTX."""
        rtx_pt, rtx_ssrc = self.params.rtx_payload_type, self.params.rtx_ssrc
        if rtx_pt is None or rtx_ssrc is None:
            return None
        seq = self._rtx_seq
        self._rtx_seq = (seq + 1) & 0xFFFF
        return self._padding_packet(now, size, rtx_pt, seq, rtx_ssrc)

    def padding(self, now: float, size: int = MAX_PADDING) -> bytes | None:
        """A padding-only packet on this leg's own stream: nothing for the decoder, bytes for
        the subscriber's estimator to time and to report lost (a probe). Only while the leg
        forwards nothing (it takes the next sequence number; the next layer it starts
        continues after it). None otherwise."""
        if self.layer is not None or not self._rebase:
            return None
        seq = self._next_out
        self._next_out = (seq + 1) & 0xFFFF
        return self._padding_packet(now, size, self._payload_type, seq, self._ssrc)

    def _padding_packet(
        self, now: float, size: int, payload_type: int, seq: int, ssrc: int
    ) -> bytes:
        """RTP padding only (RFC 3550 5.1: the last byte counts the padding), stamped with the
        abs-send-time extension so the subscriber's estimator times it."""
        size = max(1, min(size, MAX_PADDING))
        ext = self._ext.build(None, abs_send_time(now))
        header = _HEADER.pack(0xA0 | (0x10 if ext else 0), payload_type, seq, self._last_ts, ssrc)
        return header + ext + bytes(size - 1) + bytes([size])

    def retransmission(
        self, seq: int, now: float = 0.0, rtt: float = 0.0, *, once: bool = True
    ) -> bytes | Refusal:
        """The packet to send for a NACKed sequence number (RTX-wrapped when negotiated).

        Refused when it is not in the history, was already resent (``once``), or would reach
        the subscriber after :data:`RETRANSMIT_DEADLINE_S`.
        """
        index = seq % HISTORY_SIZE
        data = self._history[index]
        if data is None or (data[2] << 8 | data[3]) != seq:
            return "missing"
        if once and self._resent[index]:
            return "repeat"
        if now and now - self._sent_at[index] + rtt / 2 > RETRANSMIT_DEADLINE_S:
            return "late"
        self._resent[index] = 1
        if now:
            data = self.restamp(data, now)
        rtx_pt = self.params.rtx_payload_type
        if rtx_pt is None:
            self.retransmitted_octets += len(data)
            return data
        header_len = 12
        if data[0] & 0x10:
            header_len += 4 + 4 * ((data[14] << 8) | data[15])
        rtx_seq = self._rtx_seq
        self._rtx_seq = (rtx_seq + 1) & 0xFFFF
        packet = (
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
        self.retransmitted_octets += len(packet)
        return packet
