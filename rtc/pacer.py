"""Smoothing one subscriber's video to the rate its link takes, with audio first.

A keyframe is a burst of 5-20 KB that leaves the server in a millisecond. On a weak mobile link
(600 kbit/s, a 200 ms buffer holding 15 KB) that burst fills the buffer, and the audio packets
behind it wait or are dropped: the student hears gaps whenever a picture starts. So for a
subscriber whose link is measured and limited, video packets leave through a token bucket at the
link's estimated rate, while audio never waits (it spends the same tokens, so video makes way).
First-class video (a shared screen, the counselor's camera: ``leg.urgent``) waits in a queue of
its own that leaves before the others': another member's keyframe does not hold up the picture
the session is about.

Video waiting longer than :data:`MAX_QUEUE_S` is not worth sending: the packet is dropped and
its leg waits for the next keyframe (the caller re-gates it), rather than the queue growing.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Protocol

from rtc.passthrough import Wire

# Depth of the bucket: what may leave at once (a few packets), in seconds of the rate.
BURST_S = 0.02
MIN_BURST_BYTES = 3 * 1200
# Video queued longer than this at the rate is dropped instead (its leg re-gated).
MAX_QUEUE_S = 0.4


class PacedLeg(Protocol):
    """What the pacer needs of a leg (rtc/leg.py's Leg)."""

    urgent: bool
    paused: bool
    wire: Wire

    def restamp(self, data: bytes, now: float) -> bytes: ...


class Pacer:
    """Video for one subscriber, at ``rate_bps``; off (everything at once) while it is 0."""

    __slots__ = (
        "_handle",
        "_queue",
        "_queued",
        "_stamp",
        "_tasks",
        "_tokens",
        "_urgent",
        "dropped",
        "queued_packets",
        "rate_bps",
    )

    def __init__(self) -> None:
        self.rate_bps = 0.0
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self._queue: deque[tuple[PacedLeg, bytes]] = deque()
        self._urgent: deque[tuple[PacedLeg, bytes]] = deque()
        self._queued = 0
        self._handle: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[bool]] = set()
        self.dropped = 0
        self.queued_packets = 0

    @property
    def active(self) -> bool:
        return self.rate_bps > 0

    def set_rate(self, bps: float) -> None:
        """The rate to pace at (0: off, and anything queued leaves now)."""
        self.rate_bps = max(0.0, bps)
        if not self.active:
            self._drain(everything=True)

    def _refill(self, now: float) -> float:
        rate = self.rate_bps / 8
        depth = max(MIN_BURST_BYTES, rate * BURST_S)
        self._tokens = min(depth, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        return rate

    def spend(self, size: int) -> None:
        """An audio packet went out at once: video makes way for it."""
        if self.active:
            self._refill(time.monotonic())
            self._tokens -= size

    def video(self, leg: PacedLeg, data: bytes) -> bool:
        """Send ``data`` for ``leg`` now or in its turn; False when it was dropped instead."""
        now = time.monotonic()
        rate = self._refill(now)
        if not self._queue and not self._urgent and self._tokens >= len(data):
            self._tokens -= len(data)
            self._send(leg, data)
            return True
        if self._queued + len(data) > rate * MAX_QUEUE_S:
            self.dropped += 1
            return False
        (self._urgent if leg.urgent else self._queue).append((leg, data))
        self._queued += len(data)
        self.queued_packets += 1
        self._schedule(rate)
        return True

    def _next(self) -> deque[tuple[PacedLeg, bytes]] | None:
        """The queue whose head leaves next: first-class video first."""
        return self._urgent or self._queue or None

    def _schedule(self, rate: float) -> None:
        queue = self._next()
        if self._handle is not None or queue is None or rate <= 0:
            return
        wait = max(0.001, (len(queue[0][1]) - self._tokens) / rate)
        self._handle = asyncio.get_running_loop().call_later(wait, self._drain)

    def _drain(self, everything: bool = False) -> None:
        self._handle = None
        rate = self._refill(time.monotonic())
        while (queue := self._next()) is not None:
            leg, data = queue[0]
            if not everything and self._tokens < len(data):
                break
            queue.popleft()
            self._queued -= len(data)
            self._tokens -= len(data)
            self._send(leg, leg.restamp(data, time.monotonic()))
        self._schedule(rate)

    def forget(self, leg: PacedLeg) -> None:
        """Drop what waits for ``leg``: it was paused, muted or removed, and nothing of it may
        leave after that (the server's mute is immediate)."""
        if not any(queued is leg for queued, _ in (*self._queue, *self._urgent)):
            return
        self._queue = deque((queued, data) for queued, data in self._queue if queued is not leg)
        self._urgent = deque((queued, data) for queued, data in self._urgent if queued is not leg)
        self._queued = sum(len(data) for _, data in (*self._queue, *self._urgent))

    def _send(self, leg: PacedLeg, data: bytes) -> None:
        if leg.paused:
            return
        wire = leg.wire
        if wire.send_now(data):
            return
        task = asyncio.ensure_future(wire.send(data))  # the slow path (TURN): a task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._queue.clear()
        self._urgent.clear()
        self._queued = 0
