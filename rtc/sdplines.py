"""Lines our SDP carries that aiortc's writer does not: read and added as text.

aiortc parses what it knows and writes its own descriptions back; attributes it ignores (the
simulcast lines of rtc/simulcast.py, ``a=ptime``) are added to the text it returns.
"""

from __future__ import annotations

# Opus packets of 40 ms instead of 20: half the packets, and the RTP, SRTP, UDP and IP headers
# of each (58 bytes) are half of a 20 kbit/s voice stream's bytes on the wire. Measured with
# Chromium 156 sending through the server: 25 instead of 50 packets a second, about 24 instead
# of 36 kbit/s on the wire per speaker (docs/performance.md); every student receives every
# speaker, on prepaid data. The cost is 20 ms more delay, and 40 ms lost with a lost packet
# (which in-band FEC partly rebuilds).
AUDIO_PTIME_MS = 40


def sections(sdp: str) -> list[list[str]]:
    """The SDP's lines split at each ``m=`` line (index 0: the session part)."""
    parts: list[list[str]] = [[]]
    for line in sdp.splitlines():
        if line.startswith("m="):
            parts.append([])
        parts[-1].append(line)
    return parts


def add_audio_ptime(sdp: str, ptime_ms: int = AUDIO_PTIME_MS) -> str:
    """``sdp`` with ``a=ptime`` in each audio m-section that has none (RFC 4566 section 6)."""
    out: list[str] = []
    for section in sections(sdp):
        is_audio = bool(section) and section[0].startswith("m=audio")
        out.extend(section)
        if is_audio and not any(line.startswith("a=ptime:") for line in section):
            out.append(f"a=ptime:{ptime_ms}")
    return "\r\n".join(out) + "\r\n"
