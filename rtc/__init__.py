"""Lingkar's forwarding core: a selective forwarding unit on aiortc that never decodes or
re-encodes. See :class:`Room` and :class:`Peer`; :func:`self_test` guards the aiortc hooks."""

from rtc.audiolevel import AudioLevel
from rtc.counters import CountersSnapshot
from rtc.downlink import DownlinkReport, VideoInfo, Want
from rtc.peer import NegotiationError, NoMediaPort, Peer
from rtc.room import Room, UnknownPeer, UnknownTrack
from rtc.selftest import SelfTestError, self_test, self_test_in_child
from rtc.trackid import TrackId, TrackKind

__all__ = [
    "AudioLevel",
    "CountersSnapshot",
    "DownlinkReport",
    "NegotiationError",
    "NoMediaPort",
    "Peer",
    "Room",
    "SelfTestError",
    "TrackId",
    "TrackKind",
    "UnknownPeer",
    "UnknownTrack",
    "VideoInfo",
    "Want",
    "self_test",
    "self_test_in_child",
]
