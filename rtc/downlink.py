"""One subscriber's downlink: its estimate, its wants, and the layers it gets from them.

Every :data:`~rtc.room.ALLOCATION_INTERVAL_S` the room asks each subscriber's :class:`Downlink`
to allocate. The budget is the lower of the link's estimate (rtc/bandwidth.py) and the cap the
server set (the data saver's hourly budget), less a headroom, less what its audio and its
retransmissions take: audio is never cut by the allocation. What is left goes to video by
rtc/allocation.py's rules. A step down happens at once when the link signals congestion, and
after :data:`PAUSE_AFTER_S` for a video's last layer otherwise; a step up needs the estimate to
have grown (it holds still after each congestion signal, longer when they repeat) and comes at
most every :data:`UPGRADE_SPACING_S`, so the layers follow the link without flapping.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from rtc.allocation import (
    FIRST_CLASS,
    RESUME_MARGIN,
    SCREEN_PRIORITY,
    UPGRADE_MARGIN,
    Option,
    allocate,
)
from rtc.bandwidth import REMB_MIN_VIDEO_BPS, BandwidthEstimate
from rtc.forwarder import Source
from rtc.layers import WIRE_OVERHEAD_BYTES
from rtc.leg import Leg
from rtc.pacer import Pacer
from rtc.trackid import TrackId

# Part of what the link leaves for video kept unused: the estimate is an average, keyframes are
# bursts, and a link run full makes the audio wait behind the video.
HEADROOM = 0.15
# Between two upgrades, time for the estimate to show what the first one did.
UPGRADE_SPACING_S = 2.0
# A video loses its last layer after the budget stayed short this long (unless congested).
PAUSE_AFTER_S = 2.0
# No video unless the link leaves this much beside the audio and the retransmissions: a
# keyframe of the smallest layer (6-12 KB at 240x135) then passes in about a quarter of a
# second instead of holding up the voices behind it. (A 300 kbit/s link with five voices,
# about 125 kbit/s, is then audio only; a 600 kbit/s one keeps the counselor's picture.)
MIN_VIDEO_SPARE_BPS = 220_000
# Loss is judged over at least this many packets reported on (across the subscriber's legs).
LOSS_SAMPLE_PACKETS = 50
# A probe tries this much more than the paused video needs, so that its return has room;
# it proves something only when what was sent reached this share of its rate.
PROBE_MARGIN = 1.25
PROBE_REACHED = 0.9
# The link's capacity for the floor above: the most it delivered (sent, less the loss) over
# this long, or the estimate when that is higher. The estimate itself dips at every
# congestion signal; what a link has carried does not, and a 300 kbit/s link never carries
# 600.
CAPACITY_WINDOW_S = 20.0
# A probe for a step up (the estimate trails what arrives, so a free link never shows room for
# the next layer by itself): at most every this long, doubled after a failure (up to the
# maximum), and never above the rate where the link last failed.
UPGRADE_PROBE_WAIT_S = 10.0
MAX_UPGRADE_PROBE_WAIT_S = 60.0
# A probe for paused video: how long padding is sent, and how long after it a congestion
# signal still counts against it.
PROBE_S = 1.5
PROBE_JUDGE_S = 1.0
# The time between two allocations (rtc/room.py's interval).
ALLOCATION_TURN_S = 0.25
# After video paused for the link, none comes back for this long; doubled (up to the maximum)
# when the probe for its return failed or the last return was paused again within
# RESUME_FAILED_S, back to the base after RESUME_STABLE_S: paused video comes back by itself,
# without flapping. (On a 300 kbit/s link, a failed probe every 10 s cost the voices 1-4 %.)
BASE_RESUME_WAIT_S = 8.0
MAX_RESUME_WAIT_S = 20.0
RESUME_FAILED_S = 20.0
RESUME_STABLE_S = 60.0
# A video below the first class that the budget paused while others play waits this long
# before it may come back; doubled (up to the maximum) when it is paused again within
# RETURN_FAILED_S of coming back: on a link that just fits the leader, the others' thumbnails
# do not come and go every few seconds.
BASE_RETURN_WAIT_S = 10.0
MAX_RETURN_WAIT_S = 60.0
RETURN_FAILED_S = 30.0
# A layer too small for a tile by up to this share still counts as covering it.
SIZE_TOLERANCE = 0.85
# Smoothing of the rates sent to this subscriber (ticks of 0.25 s).
SENT_SMOOTHING = 0.4
# After this subscriber's video was (nearly) stopped, its REMBs are not read as congestion for
# this long.
VIDEO_QUIET_S = 3.0
# Video is paced a little under the estimate, so that its bursts spread below the link's rate.
PACING_SHARE = 0.95
# A subscriber whose link is measured below this gets its video paced (rtc/pacer.py); above,
# bursts are no danger to its audio and pacing would only cost CPU.
PACE_BELOW_BPS = 3_000_000

log = logging.getLogger("lingkar.rtc.bandwidth")

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


@dataclass
class VideoReturn:
    """When a video the budget paused may come back, and how long its next wait is."""

    after: float = float("-inf")
    wait: float = BASE_RETURN_WAIT_S
    returned_at: float = float("-inf")


class ReturnWaits:
    """The waits of one subscriber's videos below the first class: one that loses its last
    layer to the budget while it is shown waits before it comes back, longer each time its
    last return did not last."""

    def __init__(self) -> None:
        self._videos: dict[Hashable, VideoReturn] = {}

    def held(self, now: float) -> list[Hashable]:
        """The videos that may not come back yet."""
        return [key for key, back in self._videos.items() if now < back.after]

    def note(self, options: list[Option], chosen: dict[Hashable, int | None], now: float) -> None:
        """What this turn's allocation gave (``chosen``) against what each had (``options``)."""
        keys = {o.key for o in options}
        for key in [key for key in self._videos if key not in keys]:
            del self._videos[key]
        for option in options:
            back = self._videos.setdefault(option.key, VideoReturn())
            now_on = chosen.get(option.key) is not None
            if option.current is None and now_on:
                back.returned_at = now
            elif (
                option.current is not None
                and not now_on
                and option.rates  # shown: a hidden tile's video stops for another reason
                and option.priority > FIRST_CLASS
            ):
                failed = now - back.returned_at < RETURN_FAILED_S
                back.wait = min(back.wait * 2, MAX_RETURN_WAIT_S) if failed else BASE_RETURN_WAIT_S
                back.after = now + back.wait


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
        self.pacer = Pacer()
        self.cap_bps: float | None = None
        self.wants: dict[TrackId, Want] = {}
        self.congested = False
        self.rtt = 0.0
        self.sent_bps = 0.0
        self.audio_bps = 0.0
        self.retransmit_bps = 0.0
        self._counted: dict[int, tuple[int, int, int]] = {}
        self._measured_at: float | None = None
        self._lost_packets = 0
        self._reported_packets = 0
        self._report_base: dict[int, tuple[int, int, int]] = {}
        self._report_due = False
        self._last_up = float("-inf")
        self._video_quiet_at = float("-inf")
        self._resume_after = float("-inf")
        self._resumed_at = float("-inf")
        self._resume_wait = BASE_RESUME_WAIT_S
        self._showing = False
        self._padding_sent = 0
        self._media_bytes = 0
        self._probe_until = float("-inf")
        self._probe_rate = 0.0
        self._probe_bytes = 0
        self._probe_time = 0.0
        self._probe_start = float("-inf")
        self._probe_cuts = 0
        self._probe_upgrade = False
        self._upgrade_after = float("-inf")
        self._upgrade_wait = UPGRADE_PROBE_WAIT_S
        self._delivered: deque[tuple[float, float]] = deque()
        self._paused: set[TrackId] = set()
        self._short_since: dict[Hashable, float] = {}
        self.returns = ReturnWaits()

    # ---- feedback from the subscriber's RTCP ----

    def on_remb(self, bps: float, now: float) -> None:
        # Chromium's estimator resets when its video stops for a while, and its next REMBs
        # start low: a fall then says nothing about the link.
        quiet = now - self._video_quiet_at < VIDEO_QUIET_S
        video = 0.0 if quiet else self.sent_bps - self.audio_bps - self.retransmit_bps
        self.estimate.on_remb(bps, now, video)

    def on_report(self, leg: Leg, report: Any, now: float) -> None:
        """A receiver report block about ``leg``: the share of what we sent that was lost.

        The report's own fraction counts every sequence number the subscriber did not get,
        including those the publisher's uplink lost before the server (the leg skips them);
        those are taken out, so only this subscriber's link is judged.
        """
        highest, lost = int(report.highest_sequence), int(report.packets_lost)
        previous = self._report_base.get(id(leg))
        self._report_base[id(leg)] = (highest, lost, leg.skipped)
        if previous is None:
            return
        expected = (highest - previous[0]) & 0xFFFFFFFF
        if expected == 0 or expected > 0x7FFFFFFF:
            return
        skipped = max(0, leg.skipped - previous[2])
        really_lost = max(0, lost - previous[1] - skipped)
        sent = max(1, expected - skipped)
        self._lost_packets += min(really_lost, sent)
        self._reported_packets += sent
        self._report_due = self._reported_packets >= LOSS_SAMPLE_PACKETS

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
        self._counted = seen
        self._media_bytes = total  # the last turn's media, without padding
        total += self._padding_sent  # a probe's padding is on the link like video
        self._padding_sent = 0
        for gone in [key for key in self._report_base if key not in seen]:
            del self._report_base[gone]
        if self._measured_at is None:
            self._measured_at = now
            return
        elapsed = now - self._measured_at
        self._measured_at = now
        if elapsed <= 0:
            return
        if self._probe_start <= now - elapsed < self._probe_until:
            # A turn the probe padded: what really left then, all of it, and over how long.
            self._probe_bytes += total
            self._probe_time += elapsed
        for name, value in (
            ("sent_bps", total * 8 / elapsed),
            ("audio_bps", audio * 8 / elapsed),
            ("retransmit_bps", retransmitted * 8 / elapsed),
        ):
            old = getattr(self, name)
            setattr(self, name, value if old == 0.0 else old + SENT_SMOOTHING * (value - old))
        if self.sent_bps - self.audio_bps - self.retransmit_bps < REMB_MIN_VIDEO_BPS:
            self._video_quiet_at = now

    def _loss(self) -> float:
        """The share lost of the packets reported on since the last time (a report is counted
        once: a loss already acted on is not signalled again by the next leg's report)."""
        loss = self._lost_packets / self._reported_packets if self._reported_packets else 0.0
        self._lost_packets = self._reported_packets = 0
        return loss

    def _cap(self, others: float, screen_bps: float) -> float | None:
        """The data budget's rate (all of it, audio included), raised while a screen is shared
        to what the audio and the screen's lowest layer need: a screen is never held back by
        the budget, only by the link (it is what the session is looking at, and brief)."""
        if self.cap_bps is None:
            return None
        if screen_bps <= 0:
            return self.cap_bps
        return max(self.cap_bps, others + screen_bps * RESUME_MARGIN / (1 - HEADROOM))

    def _weak_link(self) -> bool:
        """The floor on video applies to a link that has failed lately (a congestion cut):
        one that never did is not known to be thin, however little it was asked to carry
        (a data saver's subscriber receives little, so its REMB stays low)."""
        return self.estimate.failed_at is not None

    def capacity(self) -> float:
        """What the link is known to carry: the estimate, or what it delivered lately."""
        return max(self.estimate.value(), max((bps for _, bps in self._delivered), default=0.0))

    def _note_delivered(self, now: float) -> None:
        delivered = self.sent_bps * (1 - self.estimate.loss)
        self._delivered.append((now, delivered))
        while self._delivered and now - self._delivered[0][0] > CAPACITY_WINDOW_S:
            self._delivered.popleft()

    def budget(self, now: float, screen_bps: float = 0.0) -> float:
        """Bits per second for video now: what the link (or the cap) leaves after the audio
        and the retransmissions, less a headroom for the video's own bursts.

        ``screen_bps``: the lowest layer of a shared screen this subscriber is shown. A data
        budget never holds that back (the screen is what the session is looking at, and a
        share is brief); only the link does."""
        others = self.audio_bps + self.retransmit_bps
        total = self._cap(others, screen_bps)
        cap = None if total is None else total - others
        if not self.estimate.measured(now):
            # Nothing measured (a client that sends no REMB): nothing is held back on an
            # assumption; only a data budget, when there is one, limits.
            return math.inf if cap is None else cap
        if self._weak_link() and self.capacity() - others < MIN_VIDEO_SPARE_BPS:
            return 0.0
        budget = (self.estimate.value() - others) * (1 - HEADROOM)
        if cap is not None:
            # A data budget counts bytes over the hour, not bursts: no headroom on it.
            budget = min(budget, cap)
        return budget

    def allocate(self, now: float, slots: Iterable[tuple[TrackId, Source, Leg]]) -> None:
        """Choose a layer for each of this subscriber's videos and tell their sources."""
        slots = list(slots)
        self._measure((leg for _, _, leg in slots), now)
        self.rtt = max((_rtt(leg) for _, _, leg in slots), default=0.0)
        if self._report_due:
            self._report_due = False
            self.estimate.on_loss(self._loss(), now)
        self.estimate.update(now, self.sent_bps, self.audio_bps)
        self._note_delivered(now)
        self.congested = self.estimate.congested(now)
        target = self.estimate.value()
        measured = self.estimate.measured(now)
        if now < self._probe_until:
            target = max(target, self._probe_rate)
        paced = measured and target < PACE_BELOW_BPS
        share = 1.0 if now < self._probe_until else PACING_SHARE  # a probe: its full rate
        self.pacer.set_rate(target * share if paced else 0.0)
        # Video the server's rules stop (a stopped camera, a leader's pause) keeps its layer
        # for when it resumes; the allocation only shares the budget among the rest.
        videos = [
            (t, s, leg)
            for t, s, leg in slots
            if leg.kind == "video" and not leg.paused and not s.muted
        ]
        options = []
        for track_id, source, leg in videos:
            want = self.wants.get(track_id, Want())
            leg.urgent = want.priority <= FIRST_CLASS
            options.append(self._option(track_id, source, leg, want, now))
        allow_upgrade = now - self._last_up >= UPGRADE_SPACING_S
        screens = [o.rates[0][1] for o in options if o.priority == SCREEN_PRIORITY and o.rates]
        screen_bps = screens[0] if screens else 0.0
        budget = self.budget(now, screen_bps)
        chosen = allocate(
            budget,
            options,
            allow_upgrade=allow_upgrade,
            allow_resume=now >= self._resume_after,
            held=self.returns.held(now),
        )
        self._debounce_pauses(options, chosen, now)
        self.returns.note(options, chosen, now)
        self._probe_step(options, chosen, videos, screen_bps, now)
        if log.isEnabledFor(logging.DEBUG) and any(
            chosen.get(o.key) is None and o.current is not None for o in options
        ):
            log.debug(
                "pausing [%x]: budget %.0f (audio %.0f, resent %.0f), congested %s, rates %s",
                id(self.estimate) % 4096,
                budget / 1000,
                self.audio_bps / 1000,
                self.retransmit_bps / 1000,
                self.congested,
                [(o.priority, [round(r / 1000) for _, r in o.rates], o.current) for o in options],
            )
        paused: set[TrackId] = set()
        for track_id, source, leg in videos:
            index = chosen.get(track_id)
            current = leg.target.index if leg.target is not None else None
            want = self.wants.get(track_id, Want())
            if index != current:
                if index is not None and (current is None or index > current):
                    self._last_up = now
                down = index is not None and current is not None and index < current
                source.set_target(leg, index, now, at_once=down and self.congested)
            if index is None and want.visible and not leg.paused and source.usable_layers(now):
                paused.add(track_id)
        # The wait before paused video comes back starts when the last video goes (a lower
        # priority's thumbnail coming and going moves it not).
        shown = any(chosen.get(o.key) is not None for o in options if o.rates)
        if paused and not shown and self._showing:
            self._paused_for_link(now)
        elif shown and not self._showing:
            self._resumed_at = now
        self._showing = shown
        self._paused = paused

    def _probe_step(
        self,
        options: list[Option],
        chosen: dict[Hashable, int | None],
        videos: list[tuple[TrackId, Source, Leg]],
        screen_bps: float,
        now: float,
    ) -> None:
        """Find out whether the link would now take paused video back, without risking it.

        The REMB cannot show spare room, and a student who hears one voice sends the estimate
        nothing to grow on: so once the wait after a pause is over, the server sends padding
        (packets that carry nothing, on the paused video's own stream: rtc/leg.py) up to
        :data:`PROBE_MARGIN` times the rate the paused video needs, for :data:`PROBE_S`. If no
        congestion signal follows, the estimate is raised to the probe's rate and the video
        comes back; if one does, the next try waits twice as long.
        """
        if self._probe_until > float("-inf"):
            if self.estimate.cuts != self._probe_cuts:
                log.debug(
                    "probe [%x] failed at %.0f kbit/s",
                    id(self.estimate) % 4096,
                    self._probe_rate / 1000,
                )
                self._probe_until = float("-inf")
                if self._probe_upgrade:  # wait longer before the next try
                    self._upgrade_wait = min(self._upgrade_wait * 2, MAX_UPGRADE_PROBE_WAIT_S)
                    self._upgrade_after = now + self._upgrade_wait
                else:
                    self._paused_for_link(now, probe_failed=True)
            elif now < self._probe_until:
                self._pad(videos, now)
            elif now >= self._probe_until + PROBE_JUDGE_S:
                self._probe_until = float("-inf")
                sent_bps = self._probe_bytes * 8 / max(self._probe_time, 1e-3)
                reached = sent_bps >= self._probe_rate * PROBE_REACHED
                if reached:
                    self.estimate.proven(self._probe_rate)
                    self._upgrade_wait = UPGRADE_PROBE_WAIT_S
                elif not self._probe_upgrade:  # the padding did not get out: it proves nothing
                    self._resume_after = now + self._resume_wait
                self._upgrade_after = now + self._upgrade_wait
                log.debug(
                    "probe [%x] %s at %.0f kbit/s (sent %.0f)",
                    id(self.estimate) % 4096,
                    "passed" if reached else "inconclusive",
                    self._probe_rate / 1000,
                    sent_bps / 1000,
                )
            return
        held = set(self.returns.held(now))
        paused = [o for o in options if o.rates and chosen.get(o.key) is None and o.key not in held]
        measured = self.estimate.measured(now)
        if self.congested or not measured:
            return
        others = self.audio_bps + self.retransmit_bps
        upgrade = False
        if paused:
            if now < self._resume_after:
                return
            shown = _shown_rate(options, chosen)
            if shown and self._weak_link():
                # On a link that failed lately, a probe for one more thumbnail would put the
                # picture already shown at risk: those come back by the estimate's slow growth.
                return
            best = min(paused, key=lambda o: o.priority)
            lowest = best.rates[0][1]
            # The video still shown stays: the probe is for the return on top of it (and the
            # floor of a weak link is for the first video, which it already passed).
            spare = MIN_VIDEO_SPARE_BPS if self._weak_link() and not shown else 0.0
            video = max(shown + lowest * RESUME_MARGIN, spare * (1 - HEADROOM))
            need = others + video / (1 - HEADROOM)
            rate = need * PROBE_MARGIN
        else:
            step = _upgrade_need(options, chosen)
            if step is None or now < self._upgrade_after or now - self._last_up < UPGRADE_SPACING_S:
                return
            need = others + step / (1 - HEADROOM)
            rate = need  # the step's own margin is in it already
            failed = self.estimate.failed_at
            if failed is not None and rate > failed:
                return  # the link failed below that lately: no probing into it
            upgrade = True
        cap = self._cap(others, screen_bps)
        if cap is not None and need > cap:
            return  # the data budget, not the link, holds it back
        if self.estimate.value() >= need:
            return
        self._probe_upgrade = upgrade
        self._probe_until = now + PROBE_S
        self._probe_rate = rate
        self._probe_bytes = 0
        self._probe_time = 0.0
        self._probe_start = now
        self._probe_cuts = self.estimate.cuts
        self._pad(videos, now)

    def _pad(self, videos: list[tuple[TrackId, Source, Leg]], now: float) -> None:
        """Top what is sent up to the probe's rate for the next turn, in padding packets: on
        the stream of a paused video (its receiver reports then count any of them lost), or,
        probing for a step up, on the RTX stream of a video that plays."""
        if self._probe_upgrade:
            leg = next(
                (leg for _, _, leg in videos if leg.layer is not None and leg.params.rtx_ssrc),
                None,
            )
        else:
            leg = next((leg for _, _, leg in videos if leg.layer is None and not leg.paused), None)
        if leg is None:
            self._probe_until = float("-inf")  # nothing to pad with
            return
        pad = leg.rtx_padding if self._probe_upgrade else leg.padding
        # What the media (measured raw over the last turn) leaves of the probe's rate.
        missing = self._probe_rate * ALLOCATION_TURN_S / 8 - self._media_bytes
        while missing > 0:
            data = pad(now)
            if data is None:
                return
            if self.pacer.active:
                if not self.pacer.video(leg, data):
                    return
            elif not leg.wire.send_now(data):
                return
            missing -= len(data)
            self._padding_sent += len(data)  # what really went (or waits in the pacer)

    def _paused_for_link(self, now: float, probe_failed: bool = False) -> None:
        """A video lost its last layer to the link, or a probe for its return failed: none
        comes back before the wait is over; the wait doubles when the probe failed or the last
        return did not last."""
        if probe_failed or now - self._resumed_at < RESUME_FAILED_S:
            self._resume_wait = min(self._resume_wait * 2, MAX_RESUME_WAIT_S)
        elif now - self._resumed_at > RESUME_STABLE_S:
            self._resume_wait = BASE_RESUME_WAIT_S
        self._showing = False
        self._padding_sent = 0
        self._probe_until = float("-inf")
        self._probe_rate = 0.0
        self._probe_cuts = 0
        self._resume_after = now + self._resume_wait

    def _debounce_pauses(
        self, options: list[Option], chosen: dict[Hashable, int | None], now: float
    ) -> None:
        """A video loses its last layer only when the shortfall lasts, or the link is congested
        (then audio is at stake and video goes at once); never on an assumed estimate."""
        measured = self.estimate.measured(now) or self.cap_bps is not None
        for option in options:
            if option.current is not None and chosen[option.key] is None and option.rates:
                since = self._short_since.setdefault(option.key, now)
                if not measured or (not self.congested and now - since < PAUSE_AFTER_S):
                    chosen[option.key] = option.rates[0][0]
            else:
                self._short_since.pop(option.key, None)

    def _option(
        self, track_id: TrackId, source: Source, leg: Leg, want: Want, now: float
    ) -> Option:
        current = leg.target.index if leg.target is not None else None
        priority = want.priority
        if not want.visible:
            return Option(track_id, priority, (), current)
        # Smallest first; a layer whose size is not known yet (no keyframe seen) last. The one
        # it receives stays among them (without it, a weak member set aside from its smallest
        # layer was offered larger ones only, and had no video).
        layers = sorted(
            source.usable_layers(now, keeping=current),
            key=lambda x: (x.width == 0, x.width * x.height, x.index),
        )
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

    # ---- what the server shows ----

    def report(self, now: float, slots: Iterable[tuple[TrackId, Source, Leg]]) -> DownlinkReport:
        videos: dict[TrackId, VideoInfo] = {}
        for track_id, _source, leg in slots:
            if leg.kind != "video":
                continue
            layer = leg.layer
            wanted = self.wants.get(track_id, Want()).visible
            if layer is not None and not leg.paused:
                videos[track_id] = VideoInfo("on", layer.width, layer.height)
            elif track_id in self._paused:
                videos[track_id] = VideoInfo("paused")
            elif not leg.paused and (leg.target is not None or wanted):
                # Waiting for a keyframe, or for the allocation's next turn.
                videos[track_id] = VideoInfo("starting")
            else:
                videos[track_id] = VideoInfo("off")
        estimate = self.estimate.value()
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


def _shown_rate(options: list[Option], chosen: dict[Hashable, int | None]) -> float:
    """The video rate of the layers chosen this turn."""
    total = 0.0
    for option in options:
        index = chosen.get(option.key)
        total += next((rate for i, rate in option.rates if i == index), 0.0)
    return total


def _upgrade_need(options: list[Option], chosen: dict[Hashable, int | None]) -> float | None:
    """The video rate the next step up would take (in priority order, the first video not yet
    at the best layer it may have), with the upgrade margin on the step; None: none to take."""
    for option in sorted(options, key=lambda o: o.priority):
        index = chosen.get(option.key)
        order = [i for i, _ in option.rates]
        if index is None or index not in order:
            continue
        position = order.index(index)
        if position + 1 < len(order):
            current, following = option.rates[position][1], option.rates[position + 1][1]
            return _shown_rate(options, chosen) - current + following * UPGRADE_MARGIN
    return None


def _fitting(layers: list[Any], want: Want) -> list[Any]:
    """The layers no larger than the tile needs: up to the smallest one that covers it (a
    layer whose size is not known yet counts as not covering it)."""
    if want.width is None or not layers:
        return layers
    needed_w = want.width * SIZE_TOLERANCE
    needed_h = (want.height or 0) * SIZE_TOLERANCE
    fitting = []
    for layer in layers:
        fitting.append(layer)
        if layer.width and layer.width >= needed_w and layer.height >= needed_h:
            break
    return fitting


# aiortc 1.16 RTCRtpSender's smoothed round-trip time from receiver reports (None until one).
SENDER_RTT = "_RTCRtpSender__rtt"


def _rtt(leg: Leg) -> float:
    value = getattr(leg.sender, SENDER_RTT, None)
    return float(value) if isinstance(value, int | float) else 0.0
