"""Counters of the forwarding core: what it forwarded, dropped, and never did (decode/encode)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class CountersSnapshot:
    """A consistent copy of :class:`Counters` at one instant."""

    decodes: int
    "Frames a decoder produced on the server (must stay 0)."
    encodes: int
    "Frames handed to an encoder on the server, plus senders found with an encoder (must stay 0)."
    packets_received: int
    "RTP packets received from publishers (after SRTP, RTX unwrapped)."
    packets_forwarded: int
    "RTP packets sent to subscribers (first transmissions, not retransmissions)."
    bytes_forwarded: int
    "RTP payload bytes sent to subscribers."
    retransmissions: int
    "Packets re-sent to a subscriber from its own history after a NACK."
    keyframe_requests_received: int
    "PLI/FIR received from subscribers plus keyframe needs raised by the core itself."
    keyframe_requests_forwarded: int
    "PLIs actually sent upstream to publishers (after throttling)."
    drops_gated: int
    "Video packets withheld from a subscriber waiting for a keyframe."
    drops_paused: int
    "Packets withheld because the track is paused for that subscriber or muted for everyone."
    drops_congested: int
    "Packets dropped because a subscriber's socket buffer was over its bound."
    upstream_losses: int
    "Upstream video gaps not repaired in time; each re-gates the subscribers of that track."
    frames_withheld_from_decoder: int
    "Encoded frames aiortc's receiver would have decoded and the core discarded instead."
    layer_switches: int
    "Subscribers moved from one simulcast layer of a video to another (at a keyframe)."
    keyframe_requests_limited: int
    "Subscribers' keyframe requests not passed on (too soon after their last, or already waiting)."
    nacks_refused_congested: int
    "Lost packets not resent because the subscriber's link was congested."
    nacks_refused_late: int
    "Lost packets not resent because the copy would arrive too late to be used."
    nacks_refused_repeat: int
    "Lost packets not resent because they had been resent once already."
    packets_unknown_layer: int
    "Simulcast packets dropped: a RID the browser did not offer, or none on a new SSRC."
    layers_without_keyframe: int
    "Times a layer was set aside because its keyframe did not come."
    drops_paced: int
    "Video packets dropped because they would wait too long at a weak link's rate."


@dataclass
class Counters:
    """Mutable counters owned by one :class:`~rtc.room.Room`.

    Plain integer attributes, incremented on the event loop thread only.
    """

    decodes: int = 0
    encodes: int = 0
    packets_received: int = 0
    packets_forwarded: int = 0
    bytes_forwarded: int = 0
    retransmissions: int = 0
    keyframe_requests_received: int = 0
    keyframe_requests_forwarded: int = 0
    drops_gated: int = 0
    drops_paused: int = 0
    drops_congested: int = 0
    upstream_losses: int = 0
    frames_withheld_from_decoder: int = 0
    layer_switches: int = 0
    keyframe_requests_limited: int = 0
    nacks_refused_congested: int = 0
    nacks_refused_late: int = 0
    nacks_refused_repeat: int = 0
    packets_unknown_layer: int = 0
    layers_without_keyframe: int = 0
    drops_paced: int = 0

    def snapshot(self, *, extra_encodes: int = 0) -> CountersSnapshot:
        """Copy the counters; ``extra_encodes`` adds encoders found by inspection."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["encodes"] += extra_encodes
        return CountersSnapshot(**values)
