"""The core's clock agrees with aiortc's (the estimator and sender reports mix the two)."""

from __future__ import annotations

from aiortc import clock

from rtc import ntpclock


def test_milliseconds_agree_with_aiortc() -> None:
    for _ in range(100):
        before = clock.current_ms()
        ours = ntpclock.current_ms()
        after = clock.current_ms()
        assert before <= ours <= after + 1


def test_ntp_time_agrees_with_aiortc() -> None:
    for _ in range(100):
        before = clock.current_ntp_time()
        ours = ntpclock.current_ntp_time()
        after = clock.current_ntp_time()
        # 2**32 units per second: allow one millisecond of float rounding either side.
        slack = 1 << 22
        assert before - slack <= ours <= after + slack
