"""One encoding of a publisher's track: a simulcast layer, or the only layer of ordinary video.

A :class:`~rtc.forwarder.Source` has one :class:`Layer` per RID the browser offered (lowest
first, as it listed them), or a single layer without RID. The layer keeps what the core learns
from its packets: its SSRCs, its resolution (from its keyframes), its bitrate, when it last sent
and last started a keyframe, and the legs currently receiving it or waiting for its next
keyframe to switch to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rtc.keyframes import KeyframeThrottle

if TYPE_CHECKING:
    from rtc.forwarder import Leg

# A layer that sent nothing for this long is off (the browser stopped it: its own bandwidth or
# CPU limit, or a paused encoding); legs are not moved onto it.
LAYER_IDLE_S = 1.5
# Bytes one forwarded packet costs on the wire beyond its payload: IPv4 20 + UDP 8 + RTP 12 +
# header extensions ~12 + SRTP tag 10. Budgets count the wire, as a data plan does.
WIRE_OVERHEAD_BYTES = 62
# Weight of the newest interval in a layer's smoothed bitrate (intervals of ~0.5 s): about two
# seconds of memory, so one keyframe does not look like a new rate.
RATE_SMOOTHING = 0.3


class Layer:
    """What the core knows of one encoding."""

    __slots__ = (
        "_measured_at",
        "_octets_at",
        "bitrate",
        "height",
        "index",
        "last_keyframe",
        "last_packet",
        "legs",
        "max_seq",
        "missing",
        "octets",
        "packets",
        "pending",
        "pending_since",
        "rid",
        "rtx_ssrc",
        "ssrc",
        "throttle",
        "width",
    )

    def __init__(self, index: int, rid: str | None) -> None:
        self.index = index
        self.rid = rid
        self.ssrc: int | None = None
        self.rtx_ssrc: int | None = None
        # Legs forwarded this layer now, and legs waiting for its next keyframe to start it.
        self.legs: list[Leg] = []
        self.pending: list[Leg] = []
        self.pending_since = 0.0
        self.throttle = KeyframeThrottle()
        self.max_seq: int | None = None
        self.missing: dict[int, float] = {}
        self.octets = 0
        self.packets = 0
        self.bitrate = 0.0
        self._octets_at = 0
        self._measured_at: float | None = None
        self.width = 0
        self.height = 0
        self.last_packet = float("-inf")
        self.last_keyframe = float("-inf")

    def active(self, now: float) -> bool:
        return now - self.last_packet < LAYER_IDLE_S

    def measure(self, now: float) -> float:
        """Update and return the smoothed bitrate (bits per second on the wire)."""
        wire = self.octets + self.packets * WIRE_OVERHEAD_BYTES
        if self._measured_at is None:
            self._measured_at, self._octets_at = now, wire
            return self.bitrate
        elapsed = now - self._measured_at
        if elapsed < 0.1:
            return self.bitrate
        rate = (wire - self._octets_at) * 8 / elapsed
        self._measured_at, self._octets_at = now, wire
        if not self.active(now):
            self.bitrate = 0.0
        elif self.bitrate == 0.0:
            self.bitrate = rate
        else:
            self.bitrate += RATE_SMOOTHING * (rate - self.bitrate)
        return self.bitrate

    def attach(self, leg: Leg) -> None:
        if leg not in self.legs:
            self.legs.append(leg)

    def detach(self, leg: Leg) -> None:
        if leg in self.legs:
            self.legs.remove(leg)
        if leg in self.pending:
            self.pending.remove(leg)

    def wait(self, leg: Leg, now: float) -> None:
        """``leg`` starts this layer at its next keyframe."""
        if leg not in self.pending:
            if not self.pending:
                self.pending_since = now
            self.pending.append(leg)
        self.throttle.want()
