"""One subscriber's downlink: its estimate, its wants, and the layers it gets from them.

Every :data:`~rtc.room.ALLOCATION_INTERVAL_S` the room asks each subscriber's :class:`Downlink`
to allocate. The budget is the lower of the link's estimate (rtc/bandwidth.py) and the cap the
server set (the data saver's hourly budget), less a headroom, less what its audio and its
retransmissions take: audio is never cut by the allocation. What is left goes to video by
rtc/allocation.py's rules. A step down happens at once; a step up waits while the last step
down is recent (the wait doubles when an upgrade had to be undone soon after, up to
:data:`MAX_HOLD_S`), so the layers follow the link without flapping.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rtc.allocation import Option, allocate
from rtc.bandwidth import BandwidthEstimate
from rtc.layers import WIRE_OVERHEAD_BYTES

if TYPE_CHECKING:
    from rtc.forwarder import Source
    from rtc.leg import Leg
    from rtc.peer import TrackId

# Part of the estimate left unused: the estimate is an average, keyframes are bursts.
HEADROOM = 0.15
# The first hold after a step down, and its ceiling when upgrades keep failing.
BASE_HOLD_S = 3.0
MAX_HOLD_S = 40.0
# An upgrade undone within this time doubles the hold; this long without a step down resets it.
FAILED_UPGRADE_S = 8.0
STABLE_S = 30.0
# Between two upgrades, time for the estimate to show what the first one did.
UPGRADE_SPACING_S = 2.0
# A layer too small for a tile by up to this share still counts as covering it.
SIZE_TOLERANCE = 0.85
# Smoothing of the rates sent to this subscriber (ticks of ~0.5 s).
SENT_SMOOTHING = 0.4
# Below this budget for video, none is sent: a thumbnail at a few frames a second is not
# worth what its keyframes do to the audio of a link this thin.
MIN_VIDEO_BPS = 100_000
# A video loses its last layer after the budget stayed short this long (unless congested).
PAUSE_AFTER_S = 2.0
# A paused video's trial: how long it runs, what loss ends it, and the waits between trials.
TRIAL_S = 4.0
LOSS_TRIAL_FAIL = 0.05
BASE_TRIAL_BACKOFF_S = 5.0
MAX_TRIAL_BACKOFF_S = 60.0

Quality = Literal["good", "weak", "very_weak"]
VideoState = Literal["on", "starting", "paused", "off"]


@dataclass(frozen=True)
class Want:
    """What a subscriber asks of one video: its priority (0 first) and whether and how large
    it is shown (device pixels; None: not known, any layer)."""

    priority: int = 2
    visible: bool = True
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class VideoInfo:
    """What one video is for this subscriber now."""

    state: VideoState
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class DownlinkReport:
    estimate_bps: int
    sent_bps: int
    audio_bps: int
    loss: float
    rtt_ms: int | None
    quality: Quality
    videos: dict[TrackId, VideoInfo]


class Downlink:
    """The allocation state of one subscriber."""

    def __init__(self) -> None:
        self.estimate = BandwidthEstimate()
        self.cap_bps: float | None = None
        self.wants: dict[TrackId, Want] = {}
        self.congested = False
        self.rtt = 0.0
        self.sent_bps = 0.0
        self.audio_bps = 0.0
        self.retransmit_bps = 0.0
        self._counted: dict[int, tuple[int, int, int]] = {}
        self._measured_at: float | None = None
        self._reports: dict[int, tuple[float, Leg]] = {}
        self._report_due = False
        self._leg_packets: dict[int, int] = {}
        self._hold = BASE_HOLD_S
        self._hold_until = 0.0
        self._last_down = float("-inf")
        self._last_up = float("-inf")
        self._stable_since = 0.0
        self._paused: set[TrackId] = set()
        self._short_since: dict[Hashable, float] = {}
        self._trial: tuple[Hashable, float, float | None] | None = None
        self._trial_at = 0.0
        self._trial_backoff = BASE_TRIAL_BACKOFF_S
        self.urgent = False

    # ---- feedback from the subscriber's RTCP ----

    def on_remb(self, bps: float, now: float) -> None:
        before = self.estimate.value(now, self.sent_bps)
        self.estimate.on_remb(bps, now)
        if self.estimate.value(now, self.sent_bps) < min(before, self.sent_bps) * 0.9:
            self.urgent = True  # the room re-allocates at its next turn

    def on_report(self, leg: Leg, fraction_lost: float, now: float) -> None:
        self._reports[id(leg)] = (fraction_lost, leg)
        self._report_due = True

    # ---- the allocation ----

    def _measure(self, legs: Iterable[Leg], now: float) -> None:
        """Rates sent to this subscriber since the last turn: all, audio, retransmissions."""
        total = audio = retransmitted = 0
        seen: dict[int, tuple[int, int, int]] = {}
        for leg in legs:
            counts = (leg.octets, leg.packets, leg.retransmitted_octets)
            before = self._counted.get(id(leg), counts)
            seen[id(leg)] = counts
            wire = counts[0] - before[0] + (counts[1] - before[1]) * WIRE_OVERHEAD_BYTES
            resent = counts[2] - before[2]
            total += wire + resent
            retransmitted += resent
            if leg.kind == "audio":
                audio += wire
            self._leg_packets[id(leg)] = counts[1] - before[1]
        self._counted = seen
        if self._measured_at is None:
            self._measured_at = now
            return
        elapsed = now - self._measured_at
        self._measured_at = now
        if elapsed <= 0:
            return
        for name, value in (
            ("sent_bps", total * 8 / elapsed),
            ("audio_bps", audio * 8 / elapsed),
            ("retransmit_bps", retransmitted * 8 / elapsed),
        ):
            old = getattr(self, name)
            setattr(self, name, value if old == 0.0 else old + SENT_SMOOTHING * (value - old))

    def _loss(self) -> float:
        """Loss over the legs that reported, weighted by the packets each was sent."""
        weight = total = 0.0
        for fraction, leg in self._reports.values():
            packets = max(1, self._leg_packets.get(id(leg), 0))
            weight += packets
            total += fraction * packets
        return total / weight if weight else 0.0

    def budget(self, now: float) -> float:
        """Bits per second for video now."""
        link = self.estimate.value(now, self.sent_bps)
        if self.cap_bps is not None:
            link = min(link, self.cap_bps)
        return link * (1 - HEADROOM) - self.audio_bps - self.retransmit_bps

    def allocate(self, now: float, slots: Iterable[tuple[TrackId, Source, Leg]]) -> None:
        """Choose a layer for each of this subscriber's videos and tell their sources."""
        slots = list(slots)
        self._measure((leg for _, _, leg in slots), now)
        self.rtt = max((_rtt(leg) for _, _, leg in slots), default=0.0)
        if self._report_due:
            self._report_due = False
            self.estimate.on_loss(self._loss(), self.sent_bps, now)
        self.congested = self.estimate.congested(self.sent_bps, now)
        self.urgent = False
        videos = [(t, s, leg) for t, s, leg in slots if leg.kind == "video"]
        options = []
        for track_id, source, leg in videos:
            want = self.wants.get(track_id, Want())
            options.append(self._option(track_id, source, leg, want, now))
        allow_upgrade = now >= self._hold_until and now - self._last_up >= UPGRADE_SPACING_S
        budget = self.budget(now)
        chosen = allocate(
            budget if budget >= MIN_VIDEO_BPS else 0.0, options, allow_upgrade=allow_upgrade
        )
        self._debounce_pauses(options, chosen, now)
        self._trial_step(options, chosen, now)
        went_down = went_up = False
        paused: set[TrackId] = set()
        for track_id, source, leg in videos:
            index = chosen.get(track_id)
            current = leg.target.index if leg.target is not None else None
            if index != current:
                if current is not None and (index is None or index < current):
                    went_down = True
                elif index is not None:
                    went_up = True
                source.set_target(leg, index, now)
            want = self.wants.get(track_id, Want())
            if index is None and want.visible and not leg.paused and source.usable_layers(now):
                paused.add(track_id)
        self._paused = paused
        self._update_hold(now, went_down, went_up)

    def _debounce_pauses(
        self, options: list[Option], chosen: dict[Hashable, int | None], now: float
    ) -> None:
        """A video loses its last layer only when the shortfall lasts, or the link is congested
        (then audio is at stake and video goes at once)."""
        for option in options:
            if option.current is not None and chosen[option.key] is None and option.rates:
                since = self._short_since.setdefault(option.key, now)
                measured = self.estimate.measured(now) or self.cap_bps is not None
                if not measured or (not self.congested and now - since < PAUSE_AFTER_S):
                    chosen[option.key] = option.rates[0][0]
            else:
                self._short_since.pop(option.key, None)

    def _trial_step(
        self, options: list[Option], chosen: dict[Hashable, int | None], now: float
    ) -> None:
        """Bring paused video back on trial.

        A paused video cannot prove the link would take it: REMB grows to at most ~1.5 times
        what the link carries, and a subscriber hearing one speaker gets ~50 kbit/s. So, while
        the link shows no loss, the most important paused video is resumed at its lowest layer
        for :data:`TRIAL_S`; if loss or a falling REMB follows, it is paused again and the next
        trial waits twice as long (up to :data:`MAX_TRIAL_BACKOFF_S`).
        """
        trial = self._trial
        if trial is not None:
            key, until, remb_before = trial
            option = next((o for o in options if o.key == key and o.rates), None)
            remb = self.estimate.remb_bps
            failed = self.estimate.loss > LOSS_TRIAL_FAIL or (
                remb is not None and remb_before is not None and remb < remb_before * 0.9
            )
            if option is None or failed or now >= until:
                self._trial = None
                if option is None or failed or chosen.get(key) is None:
                    self._trial_backoff = min(self._trial_backoff * 2, MAX_TRIAL_BACKOFF_S)
                    self._trial_at = now + self._trial_backoff
                    if failed and option is not None:
                        chosen[key] = None
                else:
                    self._trial_backoff = BASE_TRIAL_BACKOFF_S
            elif chosen.get(key) is None:
                chosen[key] = option.rates[0][0]
            return
        if now < self._trial_at or self.estimate.loss > LOSS_TRIAL_FAIL or self.congested:
            return
        paused = [o for o in options if o.rates and chosen.get(o.key) is None]
        if not paused:
            return
        best = min(paused, key=lambda o: o.priority)
        chosen[best.key] = best.rates[0][0]
        self._trial = (best.key, now + TRIAL_S, self.estimate.remb_bps)
        self._trial_at = now + self._trial_backoff

    def _option(
        self, track_id: TrackId, source: Source, leg: Leg, want: Want, now: float
    ) -> Option:
        current = leg.target.index if leg.target is not None else None
        priority = want.priority
        if not want.visible or leg.paused or source.muted:
            return Option(track_id, priority, (), current)
        layers = sorted(source.usable_layers(now), key=lambda x: (x.width * x.height, x.index))
        allowed = _fitting(layers, want)
        if leg.losing_sync(now) and current is not None:
            # It keeps losing frames on this layer: one layer less for a while (none if lowest).
            allowed = [x for x in allowed if x.index < current]
        rates: list[tuple[int, float]] = []
        floor = 0.0
        for layer in allowed:
            floor = max(floor, layer.bitrate, 30_000.0)
            rates.append((layer.index, floor))
        return Option(track_id, priority, rates, current)

    def _update_hold(self, now: float, went_down: bool, went_up: bool) -> None:
        if went_down:
            if now - self._last_up < FAILED_UPGRADE_S:
                self._hold = min(self._hold * 2, MAX_HOLD_S)
            self._last_down = now
            self._hold_until = now + self._hold
            self._stable_since = now
        elif now - self._stable_since > STABLE_S:
            self._hold = BASE_HOLD_S
            self._stable_since = now
        if went_up:
            self._last_up = now

    # ---- what the server shows ----

    def report(self, now: float, slots: Iterable[tuple[TrackId, Source, Leg]]) -> DownlinkReport:
        videos: dict[TrackId, VideoInfo] = {}
        for track_id, _source, leg in slots:
            if leg.kind != "video":
                continue
            layer = leg.layer
            if layer is not None and not leg.paused:
                videos[track_id] = VideoInfo("on", layer.width, layer.height)
            elif track_id in self._paused:
                videos[track_id] = VideoInfo("paused")
            elif leg.target is not None and not leg.paused:
                videos[track_id] = VideoInfo("starting")
            else:
                videos[track_id] = VideoInfo("off")
        estimate = self.estimate.value(now, self.sent_bps)
        loss = self.estimate.loss
        states = [v.state for v in videos.values() if v.state != "off"]
        if (states and all(s == "paused" for s in states)) or loss > 0.15:
            quality: Quality = "very_weak"
        elif "paused" in states or loss > 0.05 or self.congested:
            quality = "weak"
        else:
            quality = "good"
        return DownlinkReport(
            estimate_bps=int(estimate),
            sent_bps=int(self.sent_bps),
            audio_bps=int(self.audio_bps),
            loss=round(loss, 3),
            rtt_ms=round(self.rtt * 1000) if self.rtt else None,
            quality=quality,
            videos=videos,
        )


def _fitting(layers: list[Any], want: Want) -> list[Any]:
    """The layers no larger than the tile needs: up to the smallest one that covers it."""
    if want.width is None or not layers or any(x.width == 0 for x in layers):
        return layers
    needed_w = want.width * SIZE_TOLERANCE
    needed_h = (want.height or 0) * SIZE_TOLERANCE
    fitting = []
    for layer in layers:
        fitting.append(layer)
        if layer.width >= needed_w and layer.height >= needed_h:
            break
    return fitting


# aiortc 1.16 RTCRtpSender's smoothed round-trip time from receiver reports (None until one).
SENDER_RTT = "_RTCRtpSender__rtt"


def _rtt(leg: Leg) -> float:
    value = getattr(leg.sender, SENDER_RTT, None)
    return float(value) if isinstance(value, int | float) else 0.0
