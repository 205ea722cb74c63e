"""One subscriber's downlink: how many bits per second can reach it, from what its browser says.

Chromium, receiving from the server, sends two kinds of feedback the core can use (checked in
this project with Chromium 156 through the real server; docs/architecture.md has the evidence):

- **REMB** (``goog-remb``, negotiated on every video m-line the server offers): Chromium's
  receive-side estimator measures the delay of the packets that carry the abs-send-time header
  extension, which every forwarded packet carries, and reports the rate its link takes. It
  falls within a second when a queue builds up, and climbs by at most ~1.5 times what it
  receives, so the core can only raise what it sends one step at a time.
- **receiver reports**: the fraction of packets lost on each SSRC since the last report.

Transport-wide congestion control (transport-cc) would need the server to number every packet
and run the sender-side estimator itself; aiortc does not negotiate it, and the two signals
above are enough to allocate layers (the approach of Janus's and Galene's REMB paths).

The estimate is the lower of the REMB and a loss-based limit (the loss half of Google
Congestion Control, draft-ietf-rmcat-gcc-02 section 6): once loss passes 10 % it falls in
proportion, under 2 % it rises 8 % per report, in between it holds. Without either, the link is
not measured: the estimate is an assumption that only paces the first upgrades, and nothing is
paused on it.
"""

from __future__ import annotations

# Before the first feedback, assume a modest link: a phone on mobile data must not be flooded
# for the second or two the first REMB takes. The allocation climbs from here.
INITIAL_ESTIMATE_BPS = 600_000
# Floor of the estimate: enough for audio from a few speakers.
MIN_ESTIMATE_BPS = 60_000
# A REMB older than this no longer counts (the browser stopped sending it).
REMB_STALE_S = 3.0
# GCC's loss thresholds (draft-ietf-rmcat-gcc-02 section 6).
LOSS_HIGH = 0.10
LOSS_LOW = 0.02
LOSS_INCREASE = 1.08
# The loss-based limit never climbs past this multiple of what is actually sent.
MAX_OVER_SENT = 1.5
# Congested: loss above LOSS_HIGH in the latest reports, or the REMB fell below this share of
# what the server sends. Retransmissions stop and video is reduced at once.
CONGESTED_SEND_SHARE = 0.85
# Smoothing of each leg's reported loss (reports come about once a second per SSRC).
LOSS_SMOOTHING = 0.5


class BandwidthEstimate:
    """The downlink estimate of one subscriber, fed by its RTCP."""

    def __init__(self, initial_bps: int = INITIAL_ESTIMATE_BPS) -> None:
        self.initial_bps = float(initial_bps)
        self.remb_bps: float | None = None
        self.remb_at = float("-inf")
        # The loss-based limit exists once loss above LOSS_HIGH has been seen.
        self.loss_bps: float | None = None
        self.loss = 0.0
        self.loss_at = float("-inf")
        self.rembs = 0

    def on_remb(self, bps: float, now: float) -> None:
        self.remb_bps = max(float(bps), float(MIN_ESTIMATE_BPS))
        self.remb_at = now
        self.rembs += 1

    def on_loss(self, loss: float, sent_bps: float, now: float) -> None:
        """A receiver report: ``loss`` (0..1) over the legs that reported, while sending
        ``sent_bps`` to this subscriber."""
        self.loss = loss
        self.loss_at = now
        limit = self.loss_bps
        if loss > LOSS_HIGH:
            base = sent_bps if limit is None else min(limit, sent_bps)
            self.loss_bps = max(float(MIN_ESTIMATE_BPS), base * (1 - loss / 2))
        elif loss < LOSS_LOW and limit is not None:
            ceiling = max(sent_bps * MAX_OVER_SENT, self.initial_bps)
            self.loss_bps = min(limit * LOSS_INCREASE, max(ceiling, limit))

    def remb_fresh(self, now: float) -> bool:
        return self.remb_bps is not None and now - self.remb_at <= REMB_STALE_S

    def measured(self, now: float) -> bool:
        """Whether the link has said anything (a REMB, or loss) rather than being assumed."""
        return self.remb_fresh(now) or self.loss_bps is not None

    def value(self, now: float, sent_bps: float = 0.0) -> float:
        """Bits per second the link is believed to take now.

        Before any measure, an assumption that starts at the initial figure and follows what
        is sent (1.5 times it), so a client that never reports can still be given more.
        """
        limits = []
        if self.remb_fresh(now) and self.remb_bps is not None:
            limits.append(self.remb_bps)
        if self.loss_bps is not None:
            limits.append(self.loss_bps)
        if limits:
            return min(limits)
        return max(self.initial_bps, sent_bps * MAX_OVER_SENT)

    def congested(self, sent_bps: float, now: float) -> bool:
        if now - self.loss_at < 2.0 and self.loss > LOSS_HIGH:
            return True
        remb = self.remb_bps
        return (
            self.remb_fresh(now)
            and remb is not None
            and sent_bps > 0
            and remb < sent_bps * CONGESTED_SEND_SHARE
        )
