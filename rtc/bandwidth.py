"""One subscriber's downlink: how many bits per second can reach it, from what its browser says.

Chromium, receiving from the server, sends two kinds of feedback the core can use (checked in
this project with Chromium 156 through the real server; docs/architecture.md has the figures):

- **REMB** (``goog-remb``, negotiated on every video m-line the server offers). Chromium's
  receive-side estimator measures the delay of the packets carrying the abs-send-time header
  extension, which every forwarded video packet carries (audio m-lines do not negotiate it, so
  the REMB covers the video alone). Its value trails what arrives (about 1.08 times it: it
  cannot see spare capacity), and it *falls*, to 0.85 times what arrives, when it sees a queue
  build up. That fall is the congestion signal used here.
- **receiver reports**: the fraction of packets lost on each SSRC since the last report.

Transport-wide congestion control (transport-cc) would need the server to number every packet
and run a sender-side estimator itself; aiortc does not negotiate it.

So the estimate is the server's own target rate, driven like an AIMD controller: it grows by
:data:`GROWTH_PER_S` a second (up to 1.5 times what is sent, so it never runs far ahead of what
has been tried), and on a congestion signal (a falling REMB, or loss over 10 %: the loss rule of
draft-ietf-rmcat-gcc-02 section 6) it drops to the REMB, or to what was sent less half the
loss, and holds still for a while, longer each time a cut follows soon after the last.
"""

from __future__ import annotations

import logging

log = logging.getLogger("lingkar.rtc.bandwidth")

# Before the first feedback: a link most phones on 4G have. Too high for a weak link for the
# second or two until it says so; the target is cut then.
INITIAL_ESTIMATE_BPS = 500_000
# Floor of the estimate: enough for audio from a few speakers.
MIN_ESTIMATE_BPS = 60_000
# A REMB older than this no longer counts (the browser stopped sending it).
REMB_STALE_S = 3.0
# A REMB this much below the highest of the last REMB_PEAK_S is Chromium seeing a queue (it
# never lowers it otherwise: it holds, or it grows; on a queue it drops towards 0.85 times what
# arrives, often in two or three smaller steps).
REMB_FALL = 0.95
REMB_PEAK_S = 2.0
# The REMB covers the video only: with less video than this on the way, its value says nothing.
REMB_MIN_VIDEO_BPS = 50_000
REMB_PLAUSIBLE_SHARE = 0.4
# The target grows only while the REMB is at least this share of the video sent, or while
# Chromium's estimator is climbing back after a restart (below).
REMB_KEEPS_UP = 0.9
# The most one congestion episode takes off the target (of what it, or what is sent, was)...
DECREASE_FLOOR = 0.7
# ... and when it began with a falling REMB and no loss (a queue seen, nothing dropped yet),
# GCC's own decrease: 0.85 times what was received (draft-ietf-rmcat-gcc-02 section 5.5).
# Deeper, a 600 kbit/s link with five voices lost the counselor's picture at every such cut.
DELAY_DECREASE_FLOOR = 0.85
# Loss below this is no loss (GCC's lower threshold, section 6).
LOSS_LOW = 0.02
# ... unless loss over LOSS_HIGH goes on this long into it.
LOSS_GOES_ON_S = 1.0
# GCC's loss thresholds (draft-ietf-rmcat-gcc-02 section 6).
LOSS_HIGH = 0.10
# Growth of the target while nothing says congested: a rate from 300 kbit/s to 1.2 Mbit/s in
# about ten seconds, a layer step every two or three.
GROWTH_PER_S = 1.15
# Near the rate the link last failed at, the target grows by this much a second instead (the
# "link capacity" of Google Congestion Control's AIMD, draft-ietf-rmcat-gcc-02 section 5.5):
# a weak link is approached, not overrun again every few seconds.
NEAR_LIMIT = 0.85
ADDITIVE_BPS_PER_S = 15_000
# The target never grows past this multiple of what is actually sent (plus a little).
MAX_OVER_SENT = 1.5
GROWTH_ALLOWANCE_BPS = 50_000
# A probe that carried this multiple of the rate where the link last failed shows that the link
# has changed (the weak link is gone): that failure is forgotten.
LINK_CHANGED = 1.25
# Congested for this long after a signal: retransmissions stop, video steps down at once.
CONGESTION_MEMORY_S = 1.5
# After a cut the target holds still; the hold doubles when a cut follows the last within
# REPEAT_CUT_S, up to MAX_HOLD_S, and is back to BASE_HOLD_S after STABLE_S without one.
BASE_HOLD_S = 3.0
MAX_HOLD_S = 20.0
REPEAT_CUT_S = 30.0
STABLE_S = 30.0


class BandwidthEstimate:
    """The downlink estimate of one subscriber, fed by its RTCP, updated on each allocation."""

    def __init__(self, initial_bps: int = INITIAL_ESTIMATE_BPS) -> None:
        self.target = float(initial_bps)
        self.remb_bps: float | None = None
        self.remb_at = float("-inf")
        # Chromium's estimator started over (after its video stopped for a while, its first
        # REMBs are far below the video sent) and climbs back: about 8 % a second from where
        # it restarted, whatever the link could take.
        self._restarted = False
        self._may_restart = False  # at the start it has not stopped yet
        self.rembs = 0
        self._remb_peak = 0.0
        self._remb_peak_at = float("-inf")
        self.loss = 0.0
        self.loss_at = float("-inf")
        self.cuts = 0
        self._signal_at = float("-inf")
        self._cut_due = False
        self._why = ""
        self._updated_at: float | None = None
        self._hold = BASE_HOLD_S
        self._hold_until = float("-inf")
        self._last_cut = float("-inf")
        # What got through when the link last failed (None: no failure remembered).
        self._failed_at: float | None = None
        self._episode_floor = 0.0
        self._episode_at = float("-inf")

    def on_remb(self, bps: float, now: float, video_bps: float = REMB_MIN_VIDEO_BPS) -> None:
        """A REMB from the subscriber, while ``video_bps`` of video goes to it."""
        previous = self.remb_bps
        self.remb_bps = max(float(bps), float(MIN_ESTIMATE_BPS))
        self.remb_at = now
        self.rembs += 1
        if self.remb_bps >= self._remb_peak or now - self._remb_peak_at > REMB_PEAK_S:
            self._remb_peak, self._remb_peak_at = self.remb_bps, now
        falling = self.remb_bps < self._remb_peak * REMB_FALL
        # A fall to a small part of the video sent is Chromium's estimator starting over
        # (after its video stopped for a while), not its reaction to a queue (0.85 times what
        # arrived).
        plausible = self.remb_bps >= video_bps * REMB_PLAUSIBLE_SHARE
        log.debug(
            "remb %.0f kbit/s, video sent %.0f [%x]",
            self.remb_bps / 1000,
            video_bps / 1000,
            id(self) % 4096,
        )
        if video_bps < REMB_MIN_VIDEO_BPS:
            self._may_restart = True  # the video (nearly) stopped: its estimator may restart
        elif self._may_restart:  # the first REMB with video again: lagging, it restarted
            self._restarted = self.remb_bps < video_bps * REMB_KEEPS_UP
            self._may_restart = False
        elif self.remb_bps >= video_bps * REMB_KEEPS_UP:
            self._restarted = False  # caught up: the usual rule again
        elif self._restarted and previous is not None and self.remb_bps < previous:
            # No longer climbing: it judges the link again, and a fall while it climbed back
            # is a queue it saw.
            self._restarted = False
            plausible = True
        if falling and plausible and video_bps >= REMB_MIN_VIDEO_BPS:
            self._signal(now, "remb")
            self._remb_peak, self._remb_peak_at = self.remb_bps, now

    def on_loss(self, loss: float, now: float) -> None:
        """Receiver reports: ``loss`` (0..1) over the legs that reported."""
        self.loss = loss
        self.loss_at = now
        if loss > LOSS_HIGH:
            self._signal(now, "loss")

    def _signal(self, now: float, why: str) -> None:
        self._signal_at = now
        self._cut_due = True
        self._why = why

    def remb_fresh(self, now: float) -> bool:
        return self.remb_bps is not None and now - self.remb_at <= REMB_STALE_S

    def measured(self, now: float) -> bool:
        """Whether the link has shown a limit (a REMB, or heavy loss), rather than the estimate
        being an assumption."""
        return self.remb_fresh(now) or self.cuts > 0

    def congested(self, now: float) -> bool:
        return now - self._signal_at < CONGESTION_MEMORY_S

    def update(self, now: float, sent_bps: float, unmeasured_bps: float = 0.0) -> float:
        """Move the target for the time since the last update; return it.

        ``unmeasured_bps``: what is sent without abs-send-time (the audio), which Chromium's
        REMB does not cover: it is added to the REMB to compare with the total.

        The target grows only while the REMB keeps up with the video sent: on a free link
        Chromium's REMB runs ahead of what it receives (up to 1.5 times), while on a full one
        it cannot pass what gets through. Growing past a REMB that lags would only fill the
        link's buffer until it drops packets.
        """
        elapsed = 0.0 if self._updated_at is None else max(0.0, now - self._updated_at)
        self._updated_at = now
        remb = None if self.remb_bps is None else self.remb_bps + unmeasured_bps
        if self._cut_due:
            self._cut_due = False
            self._cut(now, sent_bps, remb)
        elif (
            now >= self._hold_until
            and not self.congested(now)
            and self._keeps_up(now, sent_bps - unmeasured_bps)
        ):
            ceiling = max(sent_bps, remb or 0.0) * MAX_OVER_SENT + GROWTH_ALLOWANCE_BPS
            if self.target < ceiling:
                failed = self._failed_at
                if failed is not None and self.target >= failed * NEAR_LIMIT:
                    grown = self.target + ADDITIVE_BPS_PER_S * elapsed
                else:
                    grown = self.target * GROWTH_PER_S**elapsed
                self.target = min(ceiling, grown)
        if now - self._last_cut > STABLE_S:
            self._hold = BASE_HOLD_S
            # A long time without failing: the link may have changed.
            self._failed_at = None
        return self.target

    def _keeps_up(self, now: float, video_bps: float) -> bool:
        if not self.remb_fresh(now) or self.remb_bps is None or video_bps < REMB_MIN_VIDEO_BPS:
            return True  # nothing to compare: the REMB says nothing of this
        if self.remb_bps >= video_bps * REMB_KEEPS_UP:
            return True
        # After video came back from a pause, Chromium's REMB restarts low and needs 15 s or
        # more to climb back to what it receives. While it only climbs it sees no queue: it
        # lags because it started over, not because the link is full.
        return self._restarted

    def _cut(self, now: float, sent_bps: float, remb: float | None) -> None:
        if now >= self._hold_until:  # the first cut of an episode: remember where it failed
            delivered = sent_bps * (1 - self.loss) if self.loss > LOSS_HIGH else sent_bps
            delivered = max(delivered, float(MIN_ESTIMATE_BPS))
            failed = self._failed_at
            self._failed_at = delivered if failed is None else min(failed, delivered)
        limits = [self.target]
        if self.remb_fresh(now) and remb is not None:
            limits.append(remb)
        if now - self.loss_at < CONGESTION_MEMORY_S and self.loss > LOSS_HIGH and sent_bps > 0:
            limits.append(sent_bps * (1 - self.loss / 2))
        before = self.target
        # One congestion episode takes off at most 30 % (of the target, or what was sent, when
        # it began), unless loss goes on: Chromium's REMB covers the video alone and falls in
        # steps, and on a thin link they would otherwise cut the target to a fraction.
        first = now >= self._hold_until
        if first:
            start = min(self.target, max(sent_bps, float(MIN_ESTIMATE_BPS)))
            delay_only = self._why == "remb" and self.loss < LOSS_LOW
            self._episode_floor = (DELAY_DECREASE_FLOOR if delay_only else DECREASE_FLOOR) * start
            self._episode_at = now
        floor = self._episode_floor
        if not first and self._why == "loss" and now - self._episode_at >= LOSS_GOES_ON_S:
            # The loss goes on a second after the last step: one more step down (at most one
            # a second, the time a cut takes to show in the receiver reports).
            floor = DECREASE_FLOOR * self.target
            self._episode_floor = floor
            self._episode_at = now
        self.target = max(float(MIN_ESTIMATE_BPS), floor, min(limits))
        log.debug(
            "congestion [%x] (%s, loss %.0f %%): %.0f -> %.0f kbit/s while sending %.0f",
            id(self) % 4096,
            self._why,
            self.loss * 100,
            before / 1000,
            self.target / 1000,
            sent_bps / 1000,
        )
        if now >= self._hold_until and now - self._last_cut < REPEAT_CUT_S:
            # Growth after the last hold failed again soon: wait longer before the next try.
            # (Cuts within one hold are one episode: a queue draining reports loss for a while.)
            self._hold = min(self._hold * 2, MAX_HOLD_S)
        self._last_cut = now
        self._hold_until = now + self._hold
        self.cuts += 1

    def proven(self, bps: float) -> None:
        """The link carried ``bps`` (a probe) without a congestion signal: the target is at
        least that, and so is the rate where it last failed."""
        if bps > self.target:
            self.target = bps
        if self._failed_at is not None and bps >= self._failed_at * LINK_CHANGED:
            self._failed_at = None  # far more than where it failed: the link has changed
        elif self._failed_at is not None and bps > self._failed_at:
            # It carried more than where it last failed: growth goes on carefully from here.
            self._failed_at = bps

    @property
    def failed_at(self) -> float | None:
        """What the link delivered when it last failed (None: no failure lately)."""
        return self._failed_at

    def value(self) -> float:
        """Bits per second the link is believed to take now."""
        return self.target
