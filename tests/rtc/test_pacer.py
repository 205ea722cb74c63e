"""The pacer of a weak subscriber: video at the link's rate, first-class video ahead of the
rest, nothing queued past its limit, nothing of a paused leg after the pause.

The legs here are stand-ins with only what the pacer touches (a wire that records what it
sends): the pacer is a scheduler, and what it schedules is checked by arrival order and time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from rtc.pacer import MAX_QUEUE_S, Pacer


class Wire:
    def __init__(self, log: list[tuple[str, float]], name: str) -> None:
        self.log = log
        self.name = name

    def send_now(self, data: bytes) -> bool:
        self.log.append((self.name, time.monotonic()))
        return True


class FakeLeg:
    def __init__(self, log: list[tuple[str, float]], name: str, urgent: bool = False) -> None:
        self.wire = Wire(log, name)
        self.urgent = urgent
        self.paused = False

    def restamp(self, data: bytes, now: float) -> bytes:
        return data


def legs(**urgent: bool) -> tuple[list[tuple[str, float]], dict[str, Any]]:
    log: list[tuple[str, float]] = []
    return log, {name: FakeLeg(log, name, flag) for name, flag in urgent.items()}


async def test_first_class_video_leaves_before_a_queued_keyframe() -> None:
    log, leg = legs(member=False, leader=True)
    pacer = Pacer()
    pacer.set_rate(400_000)  # 50 KB/s: a 12 KB keyframe takes a quarter of a second
    for _ in range(10):
        assert pacer.video(leg["member"], bytes(1200))
    assert pacer.video(leg["leader"], bytes(1200))
    await asyncio.sleep(0.35)
    order = [name for name, _ in log]
    assert "leader" in order
    # The leader's packet left as soon as tokens allowed: after at most the packets already in
    # the bucket's burst, not after the member's whole keyframe.
    assert order.index("leader") <= 4, order
    assert order.count("member") == 10


async def test_the_rate_is_kept_and_the_queue_is_bounded() -> None:
    log, leg = legs(member=False)
    pacer = Pacer()
    rate = 200_000
    pacer.set_rate(rate)
    accepted = sum(pacer.video(leg["member"], bytes(1000)) for _ in range(40))
    # The queue holds MAX_QUEUE_S at the rate (plus what left at once); the rest is dropped.
    assert accepted < 40
    assert pacer.dropped == 40 - accepted
    assert accepted * 1000 <= rate / 8 * MAX_QUEUE_S + 4000
    start = time.monotonic()
    await asyncio.sleep(MAX_QUEUE_S + 0.2)
    assert len(log) == accepted
    spread = log[-1][1] - start
    assert spread >= (accepted * 1000 - 4000) / (rate / 8) * 0.8


async def test_a_paused_leg_sends_nothing_that_waited() -> None:
    log, leg = legs(member=False, other=False)
    pacer = Pacer()
    pacer.set_rate(100_000)
    for _ in range(4):
        pacer.video(leg["member"], bytes(1200))
        pacer.video(leg["other"], bytes(1200))
    pacer.forget(leg["member"])
    sent_before = [name for name, _ in log]
    await asyncio.sleep(0.5)
    later = [name for name, _ in log][len(sent_before) :]
    assert later
    assert set(later) == {"other"}


async def test_turned_off_everything_leaves_at_once() -> None:
    log, leg = legs(member=False)
    pacer = Pacer()
    pacer.set_rate(50_000)
    accepted = sum(pacer.video(leg["member"], bytes(1200)) for _ in range(3))
    waiting = accepted - len(log)
    assert waiting > 0
    pacer.set_rate(0)
    assert len(log) == accepted
    pacer.close()
