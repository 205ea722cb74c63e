"""Audio levels from the RTP ssrc-audio-level header extension (RFC 6464), without decoding.

Each publisher's sender puts the level of every audio packet in the header (0..127, meaning
0..-127 dBov); aiortc parses it into ``packet.extensions.audio_level`` as ``(vad, level)``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Thresholds in dBov. Speech from a headset or laptop microphone sits around -20..-40 dBov;
# rooms with noise suppression report -60 dBov and below. Two thresholds and a hold time keep
# the "speaking" flag from flickering between syllables.
SPEAKING_ON_DBOV = -40.0
SPEAKING_OFF_DBOV = -50.0
SPEAKING_HOLD_S = 0.6
# No audio packet for this long (muted microphone, lost connection) reads as silence.
LEVEL_STALE_S = 0.5
# Weight of each new packet (one per 20 ms) in the smoothed level: ~60 ms time constant.
_SMOOTHING = 0.3
SILENCE_DBOV = -127.0


@dataclass(frozen=True)
class AudioLevel:
    """One publisher's audio activity at one instant."""

    dbov: float
    "Smoothed level in dBov (0 is full scale, -127 is silence)."
    speaking: bool
    "Whether the publisher is speaking, with hysteresis."
    speaking_seconds: float
    "Total time spent speaking since the track was published."


class AudioLevelMeter:
    """Speaking detection for one publisher's audio track. Fed on the packet path."""

    def __init__(self) -> None:
        self._dbov = SILENCE_DBOV
        self._last_packet = float("-inf")
        self._last_voice = float("-inf")
        self._speaking_since = 0.0
        self._speaking = False
        self._spoken = 0.0
        self.packets_with_level = 0

    def update(self, level: int, now: float) -> None:
        """Account one packet carrying ``level`` (the extension's 0..127 value) at ``now``."""
        dbov = -float(level & 0x7F)
        self.packets_with_level += 1
        self._dbov += (dbov - self._dbov) * _SMOOTHING
        self._last_packet = now
        self._expire(now)
        if self._speaking:
            if dbov >= SPEAKING_OFF_DBOV:
                self._last_voice = now
        elif dbov >= SPEAKING_ON_DBOV:
            self._speaking = True
            self._speaking_since = now
            self._last_voice = now

    def _expire(self, now: float) -> None:
        if self._speaking and now - self._last_voice > SPEAKING_HOLD_S:
            self._speaking = False
            self._spoken += self._last_voice - self._speaking_since

    def snapshot(self, now: float) -> AudioLevel:
        """The level at ``now`` (a time from the same clock as :meth:`update`)."""
        self._expire(now)
        stale = now - self._last_packet > LEVEL_STALE_S
        spoken = self._spoken
        if self._speaking:
            spoken += now - self._speaking_since
        return AudioLevel(
            dbov=SILENCE_DBOV if stale else round(self._dbov, 1),
            speaking=self._speaking,
            speaking_seconds=round(spoken, 3),
        )
