"""A room: its peers, the tracks they publish, who receives what, and the enforcement switches.

Everything runs on one asyncio event loop and is not thread-safe. The room knows nothing of
accounts, roles or HTTP: the server decides who may do what and calls these methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping

from aiortc import RTCIceServer

from rtc.audiolevel import AudioLevel
from rtc.counters import Counters, CountersSnapshot
from rtc.downlink import DownlinkReport, Want
from rtc.forwarder import Source
from rtc.peer import Peer
from rtc.trackid import TrackId

log = logging.getLogger("lingkar.rtc")

# How often every subscriber's layers are chosen again (and the layers' rates measured). A
# falling estimate (REMB) is acted on at the next tick, so at most this late.
ALLOCATION_INTERVAL_S = 0.25


class UnknownPeer(KeyError):
    """No peer with that id in the room."""


class UnknownTrack(KeyError):
    """No published track with that id in the room."""


class Room:
    """The forwarding core for one session.

    :param ice_servers: STUN/TURN servers for the server side of every peer connection
        (default none: the server is reachable on its own addresses).

    Callbacks, plain functions that must not raise:

    - :attr:`on_track_published` ``(track_id)``: a peer started sending a track.
    - :attr:`on_track_unpublished` ``(track_id)``: it stopped (or left); its subscriptions
      are gone and the subscribers have negotiation pending.
    """

    def __init__(self, ice_servers: list[RTCIceServer] | None = None) -> None:
        self._ice_servers = list(ice_servers or [])
        self._counters = Counters()
        self._peers: dict[str, Peer] = {}
        self._sources: dict[TrackId, Source] = {}
        self._muted: set[TrackId] = set()
        self._paused: set[tuple[TrackId, str]] = set()
        self.on_track_published: Callable[[TrackId], None] | None = None
        self.on_track_unpublished: Callable[[TrackId], None] | None = None
        self._allocation_task: asyncio.Task[None] | None = None

    # ---- peers ----

    def add_peer(self, peer_id: str) -> Peer:
        """Create the peer connection for a participant (then call ``accept_offer``)."""
        if peer_id in self._peers:
            raise ValueError(f"peer {peer_id!r} already in the room")
        peer = Peer(peer_id, self, Peer.configuration(self._ice_servers))
        self._peers[peer_id] = peer
        if self._allocation_task is None:
            self._allocation_task = asyncio.ensure_future(self._allocation_loop())
        return peer

    def peer(self, peer_id: str) -> Peer:
        try:
            return self._peers[peer_id]
        except KeyError:
            raise UnknownPeer(peer_id) from None

    @property
    def peers(self) -> list[Peer]:
        return list(self._peers.values())

    async def remove_peer(self, peer_id: str) -> None:
        """Unpublish the peer's tracks, drop its subscriptions and close its connection."""
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return
        for track_id in [t for t in self._sources if t.peer_id == peer_id]:
            self.unpublish_track(track_id)
        self._paused = {p for p in self._paused if p[1] != peer_id}
        await peer.close_connection()

    async def close(self) -> None:
        """Close every peer and stop the allocation."""
        task, self._allocation_task = self._allocation_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for peer_id in list(self._peers):
            await self.remove_peer(peer_id)

    # ---- what each subscriber receives of each video (rtc/downlink.py) ----

    def set_wants(self, subscriber_id: str, wants: Mapping[TrackId, Want]) -> None:
        """Priority and tile size of each video for this subscriber (others: defaults)."""
        self.peer(subscriber_id).downlink.wants = dict(wants)

    def set_receive_cap(self, subscriber_id: str, bps: float | None) -> None:
        """The most this subscriber may receive, in bits per second (None: its link decides)."""
        self.peer(subscriber_id).downlink.cap_bps = bps

    def downlink(self, subscriber_id: str) -> DownlinkReport:
        """The subscriber's estimate, rates, link quality and what each video is for it."""
        peer = self.peer(subscriber_id)
        return peer.downlink.report(time.monotonic(), peer.legs())

    def upload_bps(self, peer_id: str) -> float:
        """What the peer sends the server now, all its tracks and layers (bits per second)."""
        return sum(
            layer.bitrate
            for track_id, source in self._sources.items()
            if track_id.peer_id == peer_id
            for layer in source.layers
        )

    def allocate(self, now: float | None = None) -> None:
        """Measure every layer and choose every subscriber's layers (the loop does this)."""
        now = time.monotonic() if now is None else now
        for source in self._sources.values():
            source.measure(now)
        for peer in list(self._peers.values()):
            peer.downlink.allocate(now, peer.legs())

    async def _allocation_loop(self) -> None:
        while True:
            await asyncio.sleep(ALLOCATION_INTERVAL_S)
            try:
                self.allocate()
            except Exception:  # a bug here must not stop the allocation for good
                log.exception("layer allocation failed")

    # ---- tracks and subscriptions ----

    @property
    def tracks(self) -> list[TrackId]:
        """Every published track, in a stable order."""
        return sorted(self._sources)

    def subscribe(self, subscriber_id: str, track_id: TrackId) -> None:
        """Forward ``track_id`` to the subscriber (after the next negotiation). Idempotent."""
        peer = self.peer(subscriber_id)
        source = self._source(track_id)
        if track_id.peer_id == subscriber_id:
            raise ValueError("a peer cannot subscribe to its own track")
        if not peer.has_slot(track_id):
            peer.add_slot(track_id, source)

    def unsubscribe(self, subscriber_id: str, track_id: TrackId) -> None:
        """Stop forwarding at once; the m-line goes inactive at the next negotiation."""
        self.peer(subscriber_id).remove_slot(track_id)

    def subscriptions(self, subscriber_id: str) -> list[TrackId]:
        return self.peer(subscriber_id).slot_ids()

    def subscribers(self, track_id: TrackId) -> list[str]:
        """Peers whose forwarding of ``track_id`` is negotiated and running."""
        return sorted(self._source(track_id).legs)

    # ---- enforcement ----

    def pause(self, track_id: TrackId, subscriber_id: str | None = None) -> None:
        """Stop forwarding ``track_id`` to one subscriber, or to everyone (server-side mute).

        Effective when this returns: no packet of it is sent afterwards, retransmissions
        included. The state persists across (re)subscriptions and re-publishing.
        """
        if subscriber_id is None:
            self._muted.add(track_id)
            if track_id in self._sources:
                self._sources[track_id].set_muted(True)
        else:
            self._paused.add((track_id, subscriber_id))
            if track_id in self._sources:
                self._sources[track_id].set_paused(subscriber_id, True)

    def resume(self, track_id: TrackId, subscriber_id: str | None = None) -> None:
        """Undo :meth:`pause`; video restarts at the next keyframe (requested now)."""
        if subscriber_id is None:
            self._muted.discard(track_id)
            if track_id in self._sources:
                self._sources[track_id].set_muted(False)
        else:
            self._paused.discard((track_id, subscriber_id))
            if track_id in self._sources:
                self._sources[track_id].set_paused(subscriber_id, False)

    def is_paused(self, track_id: TrackId, subscriber_id: str | None = None) -> bool:
        """Whether the track is muted for everyone, or paused for that subscriber."""
        return track_id in self._muted or (
            subscriber_id is not None and (track_id, subscriber_id) in self._paused
        )

    def request_keyframe(self, track_id: TrackId) -> None:
        """Ask the publisher of a video track for a keyframe (throttled)."""
        self._source(track_id).request_keyframe()

    # ---- measurements ----

    def audio_level(self, peer_id: str) -> AudioLevel | None:
        """The peer's audio activity, or None if it publishes no audio."""
        source = self._sources.get(TrackId(peer_id, "audio"))
        if source is None or source.meter is None:
            return None
        return source.meter.snapshot(time.monotonic())

    def audio_levels(self) -> dict[str, AudioLevel]:
        """Audio activity of every audio publisher, by peer id."""
        levels = {}
        for track_id in self._sources:
            if track_id.kind == "audio":
                level = self.audio_level(track_id.peer_id)
                if level is not None:
                    levels[track_id.peer_id] = level
        return levels

    def forwarding_delay(self) -> dict[str, tuple[float, float]]:
        """Delay the server adds, per media kind: (median, p95) in ms over recent packets.

        Measured from aiortc's DTLS transport reading the datagram to the last subscriber's
        send, on aiortc's millisecond clock (so each sample is rounded down to whole ms).
        """
        result = {}
        for kind in ("audio", "video"):
            samples = sorted(
                d for tid, s in self._sources.items() if tid.media_kind == kind for d in s.delays_ms
            )
            if samples:
                median = samples[len(samples) // 2]
                p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
                result[kind] = (float(median), float(p95))
        return result

    @property
    def counters(self) -> CountersSnapshot:
        """Forwarding counters; ``decodes`` and ``encodes`` must stay 0."""
        encoders = sum(peer.encoders() for peer in self._peers.values())
        return self._counters.snapshot(extra_encodes=encoders)

    # ---- what a Peer asks of its room (rtc.peer.PeerRoom) ----

    @property
    def live_counters(self) -> Counters:
        return self._counters

    def _source(self, track_id: TrackId) -> Source:
        try:
            return self._sources[track_id]
        except KeyError:
            raise UnknownTrack(str(track_id)) from None

    def has_track(self, track_id: TrackId) -> bool:
        return track_id in self._sources

    def track_paused_for(self, track_id: TrackId, subscriber_id: str) -> bool:
        return (track_id, subscriber_id) in self._paused

    def publish_track(self, track_id: TrackId, source: Source) -> None:
        self._sources[track_id] = source
        source.set_muted(track_id in self._muted)
        if self.on_track_published is not None:
            self.on_track_published(track_id)

    def unpublish_track(self, track_id: TrackId) -> None:
        source = self._sources.pop(track_id, None)
        if source is None:
            return
        for peer in self._peers.values():
            if peer.has_slot(track_id):
                peer.remove_slot(track_id)
        for subscriber_id in list(source.legs):
            source.remove_leg(subscriber_id)
        if self.on_track_unpublished is not None:
            self.on_track_unpublished(track_id)
