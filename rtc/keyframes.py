"""Keyframe detection in RTP payloads and throttled keyframe requests towards a publisher.

A subscriber may only start decoding at a keyframe, so the forwarder holds back a subscriber's
video until a packet that begins one (the "gate"). Detection reads only the first bytes of the
RTP payload (RFC 7741 for VP8, RFC 6184 for H.264): nothing is depayloaded or decoded.
"""

from __future__ import annotations

# Publishers re-encode a keyframe for every request, and a keyframe costs 5-10 ordinary frames of
# bandwidth: with 40 subscribers joining or losing packets at once, requests must be coalesced.
KEYFRAME_MIN_INTERVAL_S = 0.5
# A subscriber still waiting for a keyframe asks again this often (the PLI or the keyframe may
# have been lost on the way).
KEYFRAME_RETRY_INTERVAL_S = 1.0

_H264_IDR = 5
_H264_SPS = 7
_H264_STAP_A = 24
_H264_FU_A = 28


def vp8_starts_keyframe(payload: bytes) -> bool:
    """Whether this VP8 RTP payload is the first packet of a keyframe (RFC 7741 section 4)."""
    n = len(payload)
    if n < 1:
        return False
    first = payload[0]
    # S (start of partition) must be set and the partition index must be 0.
    if not first & 0x10 or first & 0x0F:
        return False
    pos = 1
    if first & 0x80:
        if n < 2:
            return False
        ext = payload[1]
        pos = 2
        if ext & 0x80:  # I: picture id, 7 or 15 bits
            if n <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:  # L: TL0PICIDX
            pos += 1
        if ext & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    if n <= pos:
        return False
    # VP8 payload header: P (inverse keyframe flag) is the lowest bit of the first byte.
    return not payload[pos] & 0x01


def h264_starts_keyframe(payload: bytes) -> bool:
    """Whether this H.264 RTP payload starts an IDR picture or carries its SPS (RFC 6184)."""
    n = len(payload)
    if n < 1:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in (_H264_IDR, _H264_SPS):
        return True
    if nal_type == _H264_STAP_A:
        pos = 1
        while pos + 2 < n:
            size = (payload[pos] << 8) | payload[pos + 1]
            if payload[pos + 2] & 0x1F in (_H264_IDR, _H264_SPS):
                return True
            pos += 2 + size
        return False
    if nal_type == _H264_FU_A and n >= 2:
        fu_header = payload[1]
        return bool(fu_header & 0x80) and fu_header & 0x1F == _H264_IDR
    return False


def starts_keyframe(codec_name: str, payload: bytes) -> bool:
    """Dispatch on the codec name as aiortc spells it ("VP8", "H264")."""
    if codec_name == "VP8":
        return vp8_starts_keyframe(payload)
    if codec_name == "H264":
        return h264_starts_keyframe(payload)
    return False


class KeyframeThrottle:
    """Coalesces keyframe requests for one publisher track.

    :meth:`want` records a need; :meth:`due` (called on the packet path, so no task or timer
    is needed) says when a PLI may be sent upstream: at most once per ``min_interval``.
    """

    def __init__(
        self,
        min_interval: float = KEYFRAME_MIN_INTERVAL_S,
        retry_interval: float = KEYFRAME_RETRY_INTERVAL_S,
    ) -> None:
        self.min_interval = min_interval
        self.retry_interval = retry_interval
        self._pending = False
        self._last_sent = float("-inf")

    @property
    def pending(self) -> bool:
        return self._pending

    def want(self) -> None:
        """Record that a keyframe is needed."""
        self._pending = True

    def quiet(self, now: float) -> bool:
        """Whether :meth:`due` is certainly False now, whatever ``waiting`` (and changes nothing).

        Lets the packet path skip working out ``waiting`` on most packets.
        """
        elapsed = now - self._last_sent
        return elapsed < self.min_interval and elapsed < self.retry_interval

    def due(self, now: float, *, waiting: bool) -> bool:
        """Whether to send a PLI now. ``waiting``: some subscriber is still gated."""
        if not self._pending and waiting and now - self._last_sent >= self.retry_interval:
            self._pending = True
        if self._pending and now - self._last_sent >= self.min_interval:
            self._pending = False
            self._last_sent = now
            return True
        return False
