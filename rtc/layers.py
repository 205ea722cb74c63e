"""One encoding of a publisher's track: a simulcast layer, or the only layer of ordinary video.

A :class:`~rtc.forwarder.Source` has one :class:`Layer` per RID the browser offered (lowest
first, as it listed them), or a single layer without RID. The layer keeps what the core learns
from its packets: its SSRCs, its resolution (from its keyframes), its bitrate, when it last sent
and last started a keyframe, and the legs currently receiving it or waiting for its next
keyframe to switch to it.
"""

from __future__ import annotations

import statistics
from collections import deque
from typing import Generic, TypeVar

from rtc.keyframes import KeyframeThrottle

# The legs a layer holds (rtc/leg.py's Leg): kept, compared and handed back, never read here.
L = TypeVar("L")

# A layer that sent nothing for this long is off (the browser stopped it: its own bandwidth or
# CPU limit, or a paused encoding); legs are not moved onto it.
LAYER_IDLE_S = 1.5
# Bytes one forwarded packet costs on the wire beyond its payload: IPv4 20 + UDP 8 + RTP 12 +
# header extensions ~12 + SRTP tag 10. Budgets count the wire, as a data plan does.
WIRE_OVERHEAD_BYTES = 62
# A layer's rate is the median of its rates over the last RATE_SECONDS one-second intervals,
# counting its delta frames only: a keyframe, or two a second for as long as subscribers keep
# asking (a weak link that keeps losing them, many subscribers switching at once), is a burst
# the allocation must not mistake for the layer's rate (seen: a 100 kbit/s layer measured at
# 290-400 kbit/s for ten seconds after a weak member joined, which paused the counselor's
# picture for it), while a browser that changes its encoder's rate shows within a few seconds.
# Keyframe bursts are what the allocation's headroom is for.
RATE_INTERVAL_S = 1.0
RATE_SECONDS = 7


class Layer(Generic[L]):
    """What the core knows of one encoding."""

    __slots__ = (
        "_measured_at",
        "_octets_at",
        "_rates",
        "bitrate",
        "height",
        "index",
        "keyframe_octets",
        "keyframe_ts",
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
        self.legs: list[L] = []
        self.pending: list[L] = []
        self.pending_since = 0.0
        self.throttle = KeyframeThrottle()
        self.max_seq: int | None = None
        self.missing: dict[int, float] = {}
        self.octets = 0
        self.packets = 0
        # The bytes on the wire of keyframe packets (those with the RTP timestamp of the last
        # keyframe's first packet), left out of the rate.
        self.keyframe_octets = 0
        self.keyframe_ts: int | None = None
        self.bitrate = 0.0
        self._octets_at = 0
        self._measured_at: float | None = None
        self._rates: deque[float] = deque(maxlen=RATE_SECONDS)
        self.width = 0
        self.height = 0
        self.last_packet = float("-inf")
        self.last_keyframe = float("-inf")

    def active(self, now: float) -> bool:
        return now - self.last_packet < LAYER_IDLE_S

    def measure(self, now: float) -> float:
        """Update and return the layer's rate (bits per second on the wire, delta frames)."""
        wire = self.octets + self.packets * WIRE_OVERHEAD_BYTES - self.keyframe_octets
        if self._measured_at is None:
            self._measured_at, self._octets_at = now, wire
            return self.bitrate
        if not self.active(now):
            self._rates.clear()
            self.bitrate = 0.0
            self._measured_at, self._octets_at = now, wire
            return self.bitrate
        elapsed = now - self._measured_at
        if elapsed < RATE_INTERVAL_S:
            if not self._rates and elapsed >= 0.2:  # a new layer: a first figure at once
                self.bitrate = (wire - self._octets_at) * 8 / elapsed
            return self.bitrate
        self._rates.append((wire - self._octets_at) * 8 / elapsed)
        self._measured_at, self._octets_at = now, wire
        self.bitrate = statistics.median(self._rates)
        return self.bitrate

    def attach(self, leg: L) -> None:
        if leg not in self.legs:
            self.legs.append(leg)

    def detach(self, leg: L) -> None:
        if leg in self.legs:
            self.legs.remove(leg)
        if leg in self.pending:
            self.pending.remove(leg)

    def wait(self, leg: L, now: float) -> None:
        """``leg`` starts this layer at its next keyframe."""
        if leg not in self.pending:
            if not self.pending:
                self.pending_since = now
            self.pending.append(leg)
        self.throttle.want()
