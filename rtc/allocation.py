"""Sharing one subscriber's video budget among the videos it may receive.

A pure function, so that its rules can be read and tested alone:

1. Videos are served in priority order (0 first: a shared screen, then the leader, then the
   speakers, then the others; the server sets the order).
2. First, every video in that order gets its lowest layer while the budget lasts; the first
   class (a screen, the leader: priority up to :data:`FIRST_CLASS`) also climbs now, before
   anyone below it gets anything. When one does not fit, it and every video after it get none:
   a lower priority never has video while a higher one has not.
3. Then, in the same order, each other video climbs layer by layer while the budget lasts.

A video climbs at most one layer above what it has per allocation.

Hysteresis, so that layers do not flap: keeping what a video has needs only its rate, while a
step above it (or back from paused) needs a margin on top, and only when the caller allows
upgrades at all (it holds them back for a while after a step down).
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass

# A step up, or a paused video's return, needs this much more budget than the layer's rate:
# the rate is an average and the next keyframe is a burst.
UPGRADE_MARGIN = 1.25
RESUME_MARGIN = 1.5
# Priorities up to this (a shared screen, the leader) climb before the others get their lowest.
FIRST_CLASS = 1
# A shared screen's priority (server/live/media_plan.py gives it the highest).
SCREEN_PRIORITY = 0


@dataclass(frozen=True)
class Option:
    """One video a subscriber may receive.

    ``rates``: (layer index, bits per second) of the layers it may get, lowest first;
    ``current``: the layer index it has now (None: none).
    """

    key: Hashable
    priority: int
    rates: Sequence[tuple[int, float]]
    current: int | None = None


def allocate(
    budget: float,
    options: Sequence[Option],
    *,
    allow_upgrade: bool = True,
    allow_resume: bool = True,
    upgrade_margin: float = UPGRADE_MARGIN,
    resume_margin: float = RESUME_MARGIN,
    held: Collection[Hashable] = (),
) -> dict[Hashable, int | None]:
    """The layer index each video gets (None: no video), within ``budget`` bits per second.

    ``held``: videos that have none now and may not come back yet (their wait after a pause)."""
    ordered = sorted(options, key=lambda o: o.priority)
    chosen: dict[Hashable, int | None] = {o.key: None for o in ordered}
    remaining = budget
    started: list[Option] = []
    for option in ordered:
        if not option.rates:
            continue
        lowest = option.rates[0][1]
        if option.current is None:
            if not (allow_upgrade and allow_resume) or option.key in held:
                continue  # a paused video stays paused while upgrades are held back
            need = lowest * resume_margin
        else:
            need = lowest
        if remaining < need:
            break
        remaining -= lowest
        chosen[option.key] = option.rates[0][0]
        started.append(option)
        if option.priority <= FIRST_CLASS:
            remaining = _climb(option, chosen, remaining, allow_upgrade, upgrade_margin)
    for option in started:
        if option.priority > FIRST_CLASS:
            remaining = _climb(option, chosen, remaining, allow_upgrade, upgrade_margin)
    return chosen


def _climb(
    option: Option,
    chosen: dict[Hashable, int | None],
    remaining: float,
    allow_upgrade: bool,
    upgrade_margin: float,
) -> float:
    """Raise a started video layer by layer while the budget lasts; return what is left."""
    at = 0
    held = _held_position(option)
    # Above what it has, one layer per allocation: each step's effect on the link shows
    # before the next.
    top = min(len(option.rates) - 1, held + 1 if allow_upgrade else max(held, 0))
    while at < top:
        extra = option.rates[at + 1][1] - option.rates[at][1]
        keeping = at + 1 <= held
        if remaining < (extra if keeping else extra * upgrade_margin):
            break
        remaining -= extra
        at += 1
    chosen[option.key] = option.rates[at][0]
    return remaining


def _held_position(option: Option) -> int:
    """The position in ``rates`` of the layer the video has now (-1: none or not offered)."""
    for at, (index, _rate) in enumerate(option.rates):
        if index == option.current:
            return at
    if option.current is not None:
        # Its layer is no longer offered (too big for the tile, or stopped): keep the largest
        # one below it without a margin.
        below = [at for at, (index, _rate) in enumerate(option.rates) if index < option.current]
        return below[-1] if below else -1
    return -1
