"""Participation figures: speaking time follows the core's count across a reconnection, and a
departed member's figures never keep their connection alive (the join/leave leak of issue 14)."""

from __future__ import annotations

import gc
import weakref

from rtc import AudioLevel
from server.live.observation import Participation


class FakePeer:
    """Stands for an rtc.Peer: only its identity matters here."""


def speaking(seconds: float) -> AudioLevel:
    return AudioLevel(dbov=-20.0, speaking=True, speaking_seconds=seconds)


def test_speaking_time_follows_the_count_and_starts_again_with_a_new_peer() -> None:
    figures = Participation()
    first = FakePeer()
    figures.tick(0.25, True, True, speaking(1.0), first, 0.0)
    figures.tick(0.25, True, True, speaking(3.0), first, 0.25)
    assert figures.speaking_seconds == 3.0
    # A reconnection: a new peer whose count starts from zero again.
    second = FakePeer()
    figures.tick(0.25, True, True, speaking(0.5), second, 0.5)
    assert figures.speaking_seconds == 3.5
    assert figures.present_seconds == 0.75


def test_the_figures_do_not_keep_a_departed_members_peer() -> None:
    figures = Participation()
    peer = FakePeer()
    gone = weakref.ref(peer)
    figures.tick(0.25, True, True, speaking(1.0), peer, 0.0)
    del peer
    gc.collect()
    assert gone() is None, "the figures held the peer"
    assert figures.speaking_seconds == 1.0
