"""Observation aids for the leader: participation measured without decoding or recording.

Speaking time and turns come from the audio levels the forwarding core reads in RTP headers
(RFC 6464); hands and chat are counted as they happen; presence from admission times. Only the
leader ever receives these figures; nothing here holds what anyone said.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass

from rtc import AudioLevel

# A turn is a stretch of speech: a new one starts after this much silence. Shorter pauses are
# breathing between sentences of the same turn.
TURN_GAP_S = 2.0


@dataclass
class Participation:
    speaking_seconds: float = 0.0
    turns: int = 0
    hands: int = 0
    chats: int = 0
    present_seconds: float = 0.0
    _speaking: bool = False
    _silent_since: float | None = None
    _spoken_total: float = 0.0
    # The peer whose count this follows, weakly: a departed member's figures must not keep
    # their closed connection alive (it did: about 0.15 MB a join/leave cycle).
    _source: Callable[[], object] | None = None

    def tick(
        self,
        dt: float,
        present: bool,
        heard: bool,
        level: AudioLevel | None,
        source: object,
        now: float,
    ) -> None:
        """Account ``dt`` seconds ending at ``now``.

        Speaking time comes from the forwarding core's own count (with its hysteresis but
        without its hold time, which would add ~0.6 s to every stretch of speech); only speech
        that others could hear counts.
        """
        if present:
            self.present_seconds += dt
        followed = None if self._source is None else self._source()
        if source is not followed:
            # A reconnection publishes a new track whose count starts again from zero.
            self._source = None if source is None else weakref.ref(source)
            self._spoken_total = 0.0
        total = level.speaking_seconds if level is not None else self._spoken_total
        # The core's running count includes the hold time until a stretch ends, then drops it:
        # a small negative step here is that correction.
        delta = total - self._spoken_total
        self._spoken_total = total
        speaking = heard and level is not None and level.speaking
        if heard:
            self.speaking_seconds = max(0.0, self.speaking_seconds + delta)
        if speaking:
            if not self._speaking and (
                self._silent_since is None or now - self._silent_since >= TURN_GAP_S
            ):
                self.turns += 1
            self._silent_since = None
        elif self._speaking:
            self._silent_since = now
        self._speaking = speaking
