"""aiortc's clock (milliseconds and 64-bit NTP time, both counted from 1900), read from
``time.time()``.

aiortc computes both from a timezone-aware ``datetime`` and a ``timedelta`` per call; the core
reads the clock for every packet it receives and forwards, so it uses these equivalents (same
epoch, same units; the tests compare them with aiortc's).
"""

from __future__ import annotations

import time

# Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01), RFC 5905 figure 4.
NTP_UNIX_OFFSET_S = 2_208_988_800


def current_ms() -> int:
    """Milliseconds since 1900-01-01 UTC, as ``aiortc.clock.current_ms``."""
    return int((time.time() + NTP_UNIX_OFFSET_S) * 1000)


def current_ntp_time() -> int:
    """64-bit NTP timestamp (32.32 fixed point), as ``aiortc.clock.current_ntp_time``."""
    now = time.time() + NTP_UNIX_OFFSET_S
    seconds = int(now)
    return (seconds << 32) | int((now - seconds) * 4_294_967_296)
