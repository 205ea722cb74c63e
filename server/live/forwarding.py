"""What the room's rules mean for the forwarding core: which published tracks are paused for
everyone, and what each person subscribes to. Called by ``LiveSession.apply`` after every change
of state; reads the state and changes only the core's."""

from __future__ import annotations

from typing import Protocol

from rtc import Room, TrackId
from server.live.participant import Participant


class ForwardedSession(Protocol):
    room: Room
    participants: dict[str, Participant]

    def forwarded(self, track: TrackId) -> bool: ...

    def admitted(self) -> list[Participant]: ...

    def present(self) -> list[Participant]: ...


def enforce(session: ForwardedSession) -> None:
    """Pause or resume every published track for everyone, from the rules alone."""
    room = session.room
    for track in room.tracks:
        if session.forwarded(track):
            if room.is_paused(track):
                room.resume(track)
        elif not room.is_paused(track):
            room.pause(track)


def sync_subscriptions(session: ForwardedSession) -> None:
    """Everyone in the room subscribes to every other one's tracks (as their data saver
    chooses); someone waiting subscribes to nothing."""
    room = session.room
    in_room = {x.id for x in session.admitted() if x.peer is not None}
    for subscriber in session.present():
        if subscriber.peer is None:
            continue
        wanted = (
            {
                t
                for t in room.tracks
                if t.peer_id in in_room
                and t.peer_id != subscriber.id
                and _wants(session, subscriber, t)
            }
            if subscriber.in_room
            else set()
        )
        current = set(room.subscriptions(subscriber.id))
        for track in current - wanted:
            room.unsubscribe(subscriber.id, track)
        for track in sorted(wanted - current):
            room.subscribe(subscriber.id, track)


def _wants(session: ForwardedSession, subscriber: Participant, track: TrackId) -> bool:
    """The data saver's modes that choose tracks: audio only, or the counselors (and any shared
    screen) only. The saver's budget is the forwarding core's (server/live/media_plan.py)."""
    if subscriber.receive == "audio_only":
        return track.kind == "audio"
    if subscriber.receive == "leader_only":
        publisher = session.participants.get(track.peer_id)
        return track.kind == "screen" or (publisher is not None and publisher.leads)
    return True
