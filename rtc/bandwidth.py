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

# Before the first feedback: a link most phones on 4G have. Too high for a weak link for the
# second or two until it says so; the target is cut then.
INITIAL_ESTIMATE_BPS = 500_000
# Floor of the estimate: enough for audio from a few speakers.
MIN_ESTIMATE_BPS = 60_000
# A REMB older than this no longer counts (the browser stopped sending it).
REMB_STALE_S = 3.0
# A REMB this much below the previous one is Chromium seeing a queue (it never lowers it
# otherwise: it holds, or it grows).
REMB_FALL = 0.95
# GCC's loss thresholds (draft-ietf-rmcat-gcc-02 section 6).
LOSS_HIGH = 0.10
# Growth of the target while nothing says congested: a rate from 300 kbit/s to 1.2 Mbit/s in
# about ten seconds, a layer step every two or three.
GROWTH_PER_S = 1.15
# The target never grows past this multiple of what is actually sent (plus a little).
MAX_OVER_SENT = 1.5
GROWTH_ALLOWANCE_BPS = 50_000
# Congested for this long after a signal: retransmissions stop, video steps down at once.
CONGESTION_MEMORY_S = 1.5
# After a cut the target holds still; the hold doubles when a cut follows the last within
# REPEAT_CUT_S, up to MAX_HOLD_S, and is back to BASE_HOLD_S after STABLE_S without one.
BASE_HOLD_S = 3.0
MAX_HOLD_S = 40.0
REPEAT_CUT_S = 30.0
STABLE_S = 30.0


class BandwidthEstimate:
    """The downlink estimate of one subscriber, fed by its RTCP, updated on each allocation."""

    def __init__(self, initial_bps: int = INITIAL_ESTIMATE_BPS) -> None:
        self.target = float(initial_bps)
        self.remb_bps: float | None = None
        self.remb_at = float("-inf")
        self.rembs = 0
        self.loss = 0.0
        self.loss_at = float("-inf")
        self.cuts = 0
        self._signal_at = float("-inf")
        self._cut_due = False
        self._updated_at: float | None = None
        self._hold = BASE_HOLD_S
        self._hold_until = float("-inf")
        self._last_cut = float("-inf")

    def on_remb(self, bps: float, now: float) -> None:
        previous = self.remb_bps
        self.remb_bps = max(float(bps), float(MIN_ESTIMATE_BPS))
        self.remb_at = now
        self.rembs += 1
        if previous is not None and self.remb_bps < previous * REMB_FALL:
            self._signal(now)

    def on_loss(self, loss: float, now: float) -> None:
        """Receiver reports: ``loss`` (0..1) over the legs that reported."""
        self.loss = loss
        self.loss_at = now
        if loss > LOSS_HIGH:
            self._signal(now)

    def _signal(self, now: float) -> None:
        self._signal_at = now
        self._cut_due = True

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
        """
        elapsed = 0.0 if self._updated_at is None else max(0.0, now - self._updated_at)
        self._updated_at = now
        remb = None if self.remb_bps is None else self.remb_bps + unmeasured_bps
        if self._cut_due:
            self._cut_due = False
            self._cut(now, sent_bps, remb)
        elif now >= self._hold_until and not self.congested(now):
            ceiling = max(sent_bps, remb or 0.0) * MAX_OVER_SENT + GROWTH_ALLOWANCE_BPS
            if self.target < ceiling:
                self.target = min(ceiling, self.target * GROWTH_PER_S**elapsed)
        if now - self._last_cut > STABLE_S:
            self._hold = BASE_HOLD_S
        return self.target

    def _cut(self, now: float, sent_bps: float, remb: float | None) -> None:
        limits = [self.target]
        if self.remb_fresh(now) and remb is not None:
            limits.append(remb)
        if now - self.loss_at < CONGESTION_MEMORY_S and self.loss > LOSS_HIGH and sent_bps > 0:
            limits.append(sent_bps * (1 - self.loss / 2))
        self.target = max(float(MIN_ESTIMATE_BPS), min(limits))
        if now >= self._hold_until and now - self._last_cut < REPEAT_CUT_S:
            # Growth after the last hold failed again soon: wait longer before the next try.
            # (Cuts within one hold are one episode: a queue draining reports loss for a while.)
            self._hold = min(self._hold * 2, MAX_HOLD_S)
        self._last_cut = now
        self._hold_until = now + self._hold
        self.cuts += 1

    def value(self) -> float:
        """Bits per second the link is believed to take now."""
        return self.target
