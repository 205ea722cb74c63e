"""Fan-out of one publisher track's RTP packets to its subscribers, without decoding.

One :class:`Source` per publisher track, one :class:`~rtc.leg.Leg` per (source, subscriber).
A track is one encoding, or several (simulcast): each is a :class:`~rtc.layers.Layer`, told
apart by SSRC, learnt from the RID header extension on its first packets. Every leg receives
exactly one layer or none; it moves to another only at a keyframe of that layer, and its header
(and VP8's picture ids) are rewritten so the subscriber sees one continuous stream.

Packets are forwarded as they arrive (no jitter buffer). Why there is no per-subscriber task or
queue: the send path is synchronous (SRTP protect and a non-blocking UDP sendto on the
subscriber's own socket), so a slow or stalled subscriber cannot hold up the loop. The only
place packets could pile up is asyncio's user-space datagram buffer when the kernel refuses a
send; that buffer is bounded per leg (:data:`LEG_BUFFER_LIMIT_BYTES`): over it, the leg's video
is dropped and re-gated to the next keyframe, and its audio only past twice the bound.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    unpack_remb_fci,
    unwrap_rtx,
)

from rtc.audiolevel import AudioLevelMeter
from rtc.counters import Counters
from rtc.keyframes import starts_keyframe
from rtc.layers import WIRE_OVERHEAD_BYTES, Layer
from rtc.leg import Leg, LegParams, abs_send_time
from rtc.ntpclock import current_ms, current_ntp_time
from rtc.vp8 import NO_DESCRIPTOR, Descriptor, descriptor, keyframe_size, rewrite

__all__ = ["LEG_BUFFER_LIMIT_BYTES", "Leg", "LegParams", "Source"]

# A simulcast encoding of this core, holding its legs.
VideoLayer = Layer[Leg]

log = logging.getLogger("lingkar.rtc")

# asyncio keeps datagrams the kernel refused in a per-socket buffer; past this, drop video.
LEG_BUFFER_LIMIT_BYTES = 256 * 1024
# Audio is dropped only past twice that: when a link chokes, video goes first.
AUDIO_BUFFER_LIMIT_BYTES = 2 * LEG_BUFFER_LIMIT_BYTES
# An upstream video gap not repaired by retransmission within this time means the subscribers
# got a broken frame: re-gate them and ask the publisher for a keyframe. 0.5 s leaves a
# retransmission two round trips of a poor mobile link (~200 ms RTT) before giving up.
UPSTREAM_LOSS_REGATE_S = 0.5
# A gap this large (in packets) is not worth waiting for.
UPSTREAM_GAP_REGATE = 64
# Forwarding delays kept per source for the median/p95 the room reports.
DELAY_SAMPLES = 2048
# A layer whose keyframe does not come this long after legs started waiting for it (keyframe
# requests sent every second) is not used for a while: a browser that stopped it or never
# encodes keyframes on it must not leave anyone without video.
KEYFRAME_WAIT_S = 4.0
LAYER_SUSPECT_S = 15.0


def _forget_queued(leg: Leg) -> None:
    if leg.downlink is not None:
        leg.downlink.pacer.forget(leg)


class Source:
    """One publisher track, its layers and its legs.

    :param send_pli: coroutine function sending a PLI upstream for a media SSRC.
    :param rids: the simulcast layers the browser offered, lowest first (empty: one layer).
    """

    def __init__(
        self,
        kind: str,
        codecs: list[Any],
        counters: Counters,
        send_pli: Callable[[int], Any],
        rids: tuple[str, ...] = (),
    ) -> None:
        self.kind = kind
        self.counters = counters
        self.legs: dict[str, Leg] = {}
        self.muted = False
        self.meter = AudioLevelMeter() if kind == "audio" else None
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
        self.clock_rate = int(self.codecs[0].clockRate) if self.codecs else 90000
        self.simulcast = len(rids) > 1
        self.layers: list[VideoLayer] = (
            [Layer(i, rid) for i, rid in enumerate(rids)] if self.simulcast else []
        )
        if not self.layers:
            self.layers = [Layer(0, None)]
        self._by_rid = {layer.rid: layer for layer in self.layers if layer.rid is not None}
        self._by_ssrc: dict[int, VideoLayer] = {}
        self._by_rtx: dict[int, VideoLayer] = {}
        self.suspect_until: dict[int, float] = {}
        self._unknown_rids_logged = False
        self.delays_ms: deque[float] = deque(maxlen=DELAY_SAMPLES)

    # ---- subscription management (called by the room and the allocation) ----

    def add_leg(self, leg: Leg, now: float | None = None) -> None:
        self.legs[leg.subscriber_id] = leg
        now = time.monotonic() if now is None else now
        if self.kind == "audio":
            leg.layer = leg.target = self.layers[0]
            self.layers[0].attach(leg)
        else:
            # Start on the lowest layer that is sending: cheap on any link, and the first
            # picture comes soonest. The allocation raises it once the link is known.
            start = next((x for x in self.layers if x.active(now)), self.layers[0])
            self.set_target(leg, start.index, now)

    def remove_leg(self, subscriber_id: str) -> Leg | None:
        leg = self.legs.pop(subscriber_id, None)
        if leg is not None:
            for layer in self.layers:
                layer.detach(leg)
            leg.layer = leg.target = None
            _forget_queued(leg)
        return leg

    def set_target(self, leg: Leg, index: int | None, now: float, *, at_once: bool = False) -> None:
        """Make ``leg`` receive layer ``index`` (None: no video), from that layer's next keyframe
        on; until then it keeps the layer it has, unless ``at_once`` (a congested link: the
        old layer stops now, and the picture waits for the new one's keyframe)."""
        if self.kind != "video":
            return
        layer = self.layers[index] if index is not None and 0 <= index < len(self.layers) else None
        if layer is leg.target and (layer is None or leg.layer is layer or leg in layer.pending):
            return
        if leg.target is not None and leg.target is not leg.layer:
            leg.target.detach(leg)
        leg.target = layer
        if layer is None:
            if leg.layer is not None:
                leg.layer.detach(leg)
                leg.layer = None
                leg.regate()  # what comes next (padding, a layer) continues the sequence
            return
        if leg.layer is not layer:
            if at_once and leg.layer is not None:
                leg.layer.detach(leg)
                leg.layer = None
                leg.regate()
            layer.wait(leg, now)

    def set_paused(self, subscriber_id: str, paused: bool) -> None:
        leg = self.legs.get(subscriber_id)
        if leg is None or leg.paused == paused:
            return
        leg.paused = paused
        if paused:
            _forget_queued(leg)
        else:
            self._regate(leg, time.monotonic())

    def set_muted(self, muted: bool) -> None:
        if self.muted == muted:
            return
        self.muted = muted
        if muted:
            for leg in self.legs.values():
                _forget_queued(leg)
        else:
            now = time.monotonic()
            for leg in list(self.legs.values()):
                self._regate(leg, now)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe on every layer someone receives (throttled)."""
        self.counters.keyframe_requests_received += 1
        for layer in self.layers:
            if layer.legs or layer.pending:
                layer.throttle.want()

    def _regate(self, leg: Leg, now: float) -> None:
        """Hold the leg's video back until the next keyframe of its layer."""
        leg.regate()
        if self.kind != "video":
            return
        current = leg.layer
        if current is not None:
            current.detach(leg)
            leg.layer = None
        target = leg.target or current
        leg.target = target
        if target is not None:
            target.wait(leg, now)

    def _regate_layer(self, layer: VideoLayer, now: float) -> None:
        for leg in list(layer.legs):
            self._regate(leg, now)
        layer.throttle.want()
        self.counters.keyframe_requests_received += 1

    # ---- what the allocation reads ----

    def usable_layers(self, now: float, keeping: int | None = None) -> list[VideoLayer]:
        """Layers a leg may be moved to now: sending, and not stalled on keyframes; and the
        layer ``keeping`` (the one the leg receives) while it sends, even when set aside for
        moves (its keyframe did not come for another leg: a rate-limited request, a lost PLI):
        staying on it needs no keyframe."""
        return [
            x
            for x in self.layers
            if x.active(now) and (x.index == keeping or self.suspect_until.get(x.index, 0.0) <= now)
        ]

    def measure(self, now: float) -> None:
        """Update each layer's bitrate; give up on layers whose keyframe never comes."""
        for layer in self.layers:
            layer.measure(now)
            if (
                layer.pending
                and now - layer.pending_since > KEYFRAME_WAIT_S
                and layer.last_keyframe < layer.pending_since
            ):
                self.suspect_until[layer.index] = now + LAYER_SUSPECT_S
                self.counters.layers_without_keyframe += 1
                log.info(
                    "a %s layer sent no keyframe in %.0f s; not used for now",
                    self.kind,
                    KEYFRAME_WAIT_S,
                )
                for leg in list(layer.pending):
                    layer.detach(leg)
                    leg.target = leg.layer

    # ---- the packet path ----

    def _learn(self, packet: Any) -> VideoLayer | None:
        """The layer of a media packet whose SSRC is new (from its RID when simulcast)."""
        ssrc = packet.ssrc
        layer = self._by_rid.get(packet.extensions.rtp_stream_id) if self.simulcast else None
        if not self.simulcast:
            layer = self.layers[0]
        if layer is None:
            self.counters.packets_unknown_layer += 1
            if not self._unknown_rids_logged:
                self._unknown_rids_logged = True
                log.info("dropping simulcast packets with a RID not offered, or none")
            return None
        if layer.ssrc is not None:
            self._by_ssrc.pop(layer.ssrc, None)
        layer.ssrc = ssrc
        layer.max_seq = None
        layer.missing.clear()
        self._by_ssrc[ssrc] = layer
        return layer

    def _rtx_layer(self, packet: Any) -> VideoLayer | None:
        layer = self._by_rtx.get(packet.ssrc)
        if layer is not None:
            return layer
        if not self.simulcast:
            layer = self.layers[0]
        else:
            layer = self._by_rid.get(packet.extensions.repaired_rtp_stream_id)
            if layer is None:
                self.counters.packets_unknown_layer += 1
                return None
        if layer.rtx_ssrc is not None:
            self._by_rtx.pop(layer.rtx_ssrc, None)
        layer.rtx_ssrc = packet.ssrc
        self._by_rtx[packet.ssrc] = layer
        return layer

    def media_ssrc_for_rtx(self, rtx_ssrc: int) -> int | None:
        """The media SSRC an RTX stream repairs, once learnt (for the NACKs we send upstream)."""
        layer = self._by_rtx.get(rtx_ssrc)
        return layer.ssrc if layer is not None else None

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
            layer = self._rtx_layer(packet)
            if layer is None or layer.ssrc is None or len(packet.payload) < 2:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=layer.ssrc)
            pt = apt
            retransmitted = True
        else:
            layer = self._by_ssrc.get(packet.ssrc) or self._learn(packet)
            if layer is None:
                return
        payload = packet.payload
        if not payload:
            return  # padding-only probe
        layer.octets += len(payload)
        layer.packets += 1
        layer.last_packet = now
        seq = packet.sequence_number
        level_byte = None
        keyframe = False
        found = NO_DESCRIPTOR
        if self.kind == "video":
            self._track_loss(layer, seq, now, retransmitted)
            codec = self._codec_names.get(pt, "")
            keyframe = starts_keyframe(codec, payload)
            if keyframe:
                layer.last_keyframe = now
                layer.keyframe_ts = packet.timestamp
                if codec == "VP8":
                    size = keyframe_size(payload)
                    if size is not None:
                        layer.width, layer.height = size
            if packet.timestamp == layer.keyframe_ts:
                layer.keyframe_octets += len(payload) + WIRE_OVERHEAD_BYTES
            if self.simulcast and codec == "VP8":
                found = descriptor(payload)
            if keyframe and layer.pending and not self.muted:
                self._switch(layer, packet.timestamp, now, found)
        else:
            level = packet.extensions.audio_level
            if level is not None:
                vad, value = level
                level_byte = ((vad & 1) << 7) | (value & 0x7F)
                if self.meter is not None:
                    self.meter.update(value, now)

        legs = layer.legs
        if self.muted:
            counters.drops_paused += len(legs)
        elif legs:
            await self._forward(layer, packet, payload, level_byte, found, now, arrival_ms)
        if layer.pending and not self.muted:
            counters.drops_gated += len(layer.pending)

        throttle = layer.throttle
        if self.kind == "video" and layer.ssrc is not None and not throttle.quiet(now):
            waiting = bool(layer.pending) and not self.muted
            if throttle.due(now, waiting=waiting):
                counters.keyframe_requests_forwarded += 1
                await self._send_pli(layer.ssrc)

    async def _forward(
        self,
        layer: VideoLayer,
        packet: Any,
        payload: bytes,
        level_byte: int | None,
        found: Descriptor,
        now: float,
        arrival_ms: int,
    ) -> None:
        counters = self.counters
        seq = packet.sequence_number
        timestamp = packet.timestamp
        marker = packet.marker
        video = self.kind == "video"
        # aiortc's sender reports are fed once per frame (video) or packet (audio).
        ntp = current_ntp_time() if marker or not video else None
        send_time = abs_send_time(now)
        limit = LEG_BUFFER_LIMIT_BYTES if video else AUDIO_BUFFER_LIMIT_BYTES
        rewriting = found.picture_id >= 0 or found.tl0 >= 0
        # Counted locally and added once: the loop runs K times per packet.
        forwarded = paused = 0
        dropped: list[Leg] | None = None
        for leg in layer.legs:
            if leg.paused:
                paused += 1
                continue
            wire = leg.wire
            if wire.congested(limit):
                counters.drops_congested += 1
                dropped = dropped or []
                dropped.append(leg)
                continue
            body = payload
            if rewriting:
                picture_id, tl0 = leg.picture_ids(found)
                if leg.rewrites_picture_ids:
                    body = rewrite(payload, found, picture_id, tl0)
            data = leg.build(seq, timestamp, marker, body, level_byte, ntp, now, send_time)
            if data is None:
                continue
            pacer = leg.downlink.pacer if leg.downlink is not None else None
            if pacer is not None and pacer.active:
                if not video:
                    pacer.spend(len(data))
                elif pacer.video(leg, data):
                    forwarded += 1
                    continue
                else:
                    counters.drops_paced += 1
                    dropped = dropped or []
                    dropped.append(leg)  # waited too long at the link's rate: re-gate
                    continue
            if wire.send_now(data) or await wire.send(data):
                forwarded += 1
            elif video:
                dropped = dropped or []
                dropped.append(leg)  # the subscriber missed part of a frame
        if dropped:
            for leg in dropped:
                self._regate(leg, now)
        if paused:
            counters.drops_paused += paused
        if forwarded:
            counters.packets_forwarded += forwarded
            counters.bytes_forwarded += forwarded * len(payload)
            # Datagram read by aiortc's DTLS transport -> last subscriber's sendto done.
            self.delays_ms.append(current_ms() - arrival_ms)

    def _switch(self, layer: VideoLayer, timestamp: int, now: float, found: Descriptor) -> None:
        """A keyframe starts on ``layer``: every leg waiting for it moves onto it now."""
        for leg in layer.pending:
            previous = leg.layer
            if previous is not None and previous is not layer:
                previous.detach(leg)
                self.counters.layer_switches += 1
            leg.switch_to(layer, timestamp, self.clock_rate, now, found)
            layer.attach(leg)
        layer.pending.clear()

    def _track_loss(self, layer: VideoLayer, seq: int, now: float, retransmitted: bool) -> None:
        missing = layer.missing
        if retransmitted or layer.max_seq is None:
            if layer.max_seq is None:
                layer.max_seq = seq
            missing.pop(seq, None)
            return
        delta = (seq - layer.max_seq) & 0xFFFF
        if 0 < delta < 0x8000:
            if delta > UPSTREAM_GAP_REGATE:
                missing.clear()
                self._upstream_loss(layer, now)
            elif delta > 1:
                for lost in range(layer.max_seq + 1, layer.max_seq + delta):
                    missing[lost & 0xFFFF] = now
            layer.max_seq = seq
        elif missing:
            missing.pop(seq, None)
        if missing and now - next(iter(missing.values())) > UPSTREAM_LOSS_REGATE_S:
            missing.clear()
            self._upstream_loss(layer, now)

    def _upstream_loss(self, layer: VideoLayer, now: float) -> None:
        self.counters.upstream_losses += 1
        self._regate_layer(layer, now)

    # ---- RTCP from subscribers ----

    async def on_leg_rtcp(self, leg: Leg, packet: Any) -> bool:
        """RTCP from a subscriber about ``leg``; True when consumed here."""
        fmt = getattr(packet, "fmt", None)
        kind = type(packet).__name__
        now = time.monotonic()
        if kind == "RtcpPsfbPacket":
            if fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                if self.kind == "video":
                    self._keyframe_asked(leg, now)
                return True
            if fmt == RTCP_PSFB_APP:
                self._remb(leg, packet, now)
                return True
            return False
        if kind == "RtcpRtpfbPacket" and fmt == RTCP_RTPFB_NACK:
            await self._nack(leg, packet.lost, now)
            return True
        if kind in ("RtcpRrPacket", "RtcpSrPacket") and leg.downlink is not None:
            for report in packet.reports:
                if report.ssrc == leg.params.ssrc:
                    leg.downlink.on_report(leg, report, now)
        return False  # aiortc keeps its statistics and round-trip time

    def _keyframe_asked(self, leg: Leg, now: float) -> None:
        """A subscriber cannot decode: ask for a keyframe of its layer, at most so often."""
        layer = leg.layer
        if layer is None or leg.paused or self.muted:
            self.counters.keyframe_requests_limited += 1
            return  # already waiting for one (or receiving nothing)
        if not leg.ask_keyframe(now):
            self.counters.keyframe_requests_limited += 1
            return
        self.counters.keyframe_requests_received += 1
        layer.throttle.want()

    def _remb(self, leg: Leg, packet: Any, now: float) -> None:
        if leg.downlink is None:
            return
        try:
            bitrate, _ssrcs = unpack_remb_fci(packet.fci)
        except ValueError:
            return
        leg.downlink.on_remb(bitrate, now)

    async def _nack(self, leg: Leg, lost: list[int], now: float) -> None:
        """Resend what a subscriber lost: once per packet, while still useful, and never while
        its link is congested (a retransmission then only adds to the queue that lost it)."""
        counters = self.counters
        if leg.paused or self.muted or leg.layer is None:
            return
        downlink = leg.downlink
        if downlink is not None and downlink.congested:
            counters.nacks_refused_congested += len(lost)
            return
        rtt = downlink.rtt if downlink is not None else 0.0
        for seq in lost:
            data = leg.retransmission(seq, now, rtt)
            if data == "late":
                counters.nacks_refused_late += 1
            elif data == "repeat":
                counters.nacks_refused_repeat += 1
            elif isinstance(data, bytes) and (leg.wire.send_now(data) or await leg.wire.send(data)):
                counters.retransmissions += 1
