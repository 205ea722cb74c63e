"""The floor: one member speaks (with the leader), for a set time or until the leader ends it.

"In turn" walks the floor through the members one by one, for introductions and responses
(the research's "members respond in turn"). Times are monotonic seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Floor:
    holder: str
    ends_at: float | None  # None: until the leader ends it
    seconds_each: int = 0  # per turn; 0 means no limit
    queue: list[str] = field(default_factory=list)  # in turn: who speaks next, in order
    in_turn: bool = False

    def seconds_left(self, now: float) -> int | None:
        if self.ends_at is None:
            return None
        return max(0, round(self.ends_at - now))

    def expired(self, now: float) -> bool:
        return self.ends_at is not None and now >= self.ends_at


def start_turns(order: list[str], seconds_each: int, now: float) -> Floor | None:
    """A round through ``order``; None when nobody is there to speak."""
    if not order:
        return None
    return Floor(
        holder=order[0],
        ends_at=now + seconds_each if seconds_each else None,
        seconds_each=seconds_each,
        queue=order[1:],
        in_turn=True,
    )


def next_turn(floor: Floor, present: set[str], now: float) -> Floor | None:
    """The floor after the current turn: the next member still present, or None at the end."""
    queue = [x for x in floor.queue if x in present]
    if not floor.in_turn or not queue:
        return None
    return Floor(
        holder=queue[0],
        ends_at=now + floor.seconds_each if floor.seconds_each else None,
        seconds_each=floor.seconds_each,
        queue=queue[1:],
        in_turn=True,
    )
