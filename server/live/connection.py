"""A participant's peer connection: the first offer, renegotiation, liveness and reconnection.

The browser's first offer arrives over HTTPS; every later offer comes from the server over the
``control`` data channel, one at a time: the next offer waits for the answer to the last one.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref

from rtc import NegotiationError, NoMediaPort, Peer
from rtc.datachannel_guard import Refusal
from server.live import protocol as p
from server.live.control_channel import ControlInbox
from server.live.negotiation import negotiate
from server.live.participant import Participant, Presence
from server.live.session import LiveSession
from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import (
    CONNECT_DEADLINE_S,
    HEARTBEAT_INTERVAL_S,
    HEARTBEAT_TIMEOUT_S,
    ICE_DEADLINE_S,
    LEVELS_INTERVAL_S,
    MAX_CONTROL_MESSAGE_BYTES,
    RECONNECT_GRACE_S,
)

log = logging.getLogger("lingkar.connection")

# The leader's observation figures every 2 s; a running floor's countdown every 5 s (clients
# count down between updates).
OBSERVATION_EVERY_TICKS = round(2.0 / LEVELS_INTERVAL_S)
FLOOR_COUNTDOWN_EVERY_TICKS = round(5.0 / LEVELS_INTERVAL_S)
# A fresh rejoin token for everyone well before the last one expires (REJOIN_TOKEN_TTL_S).
REJOIN_EVERY_TICKS = round(240.0 / LEVELS_INTERVAL_S)
# Each person's wants, cap and `media` message, once a second (server/live/media_plan.py).
MEDIA_EVERY_TICKS = round(1.0 / LEVELS_INTERVAL_S)
# The session's snapshot is written after every change, and again every 15 s: the figures
# move without a change of state, and a store that lost it (a Redis restarted empty) has it
# back soon.
SNAPSHOT_EVERY_TICKS = round(15.0 / LEVELS_INTERVAL_S)


async def attach_peer(session: LiveSession, person: Participant, offer_sdp: str) -> str:
    """Create the participant's peer connection from the browser's offer; return the answer.

    A participant that reconnects gets a new peer connection (aiortc has no ICE restart);
    the old one is closed first, and the state (mute, hand, permissions) is kept.
    """
    person.last_seen = time.monotonic()  # an offer is a sign of life: CONNECT_DEADLINE_S anew
    if person.peer is not None:
        _detach(session, person)
        await session.room.remove_peer(person.id)
    peer = session.room.add_peer(person.id)
    person.peer = peer
    person.offer_outstanding = False
    peer.on_control = lambda: _on_control(session, person, peer)

    def renegotiate() -> None:
        session.spawn(negotiate(session, person, peer))

    peer.on_negotiation_needed = renegotiate
    peer.on_connection_state = lambda state: _on_state(session, person, peer, state)
    try:
        answer = await peer.accept_offer(offer_sdp)
    except NegotiationError as exc:
        person.peer = None
        await _remove_peer_quietly(session, person)
        if isinstance(exc, NoMediaPort):
            session.offers_without_port += 1
            log.warning("an offer was refused: no free UDP port in media_ports (widen the range)")
            raise LingkarError(
                ErrorId.SERVER_BUSY, "the server has no free media port; try again in a minute"
            ) from None
        raise LingkarError(ErrorId.NEGOTIATION_FAILED, str(exc)) from None
    if person.peer is not peer:  # left or removed while the answer was being made
        raise LingkarError(ErrorId.CONFLICT, "the participant left")
    # The check holds the peer weakly: a peer replaced or removed meanwhile is freed at once,
    # not 30 s later (a flood of offers must not keep thousands of connections in memory).
    session.spawn(_close_if_never_connected(session, person, weakref.ref(peer)))
    session.apply()
    return answer


async def _close_if_never_connected(
    session: LiveSession, person: Participant, watched: weakref.ref[Peer]
) -> None:
    """A peer whose ICE and DTLS have not completed ICE_DEADLINE_S after its offer is closed and
    its sockets freed. A person who never connected at all is gone (name freed, nobody told);
    one who was connected before stays disconnected, within the grace period."""
    await asyncio.sleep(ICE_DEADLINE_S)
    peer = watched()
    if peer is None or person.peer is not peer or peer.ever_connected:
        return
    session.peers_never_connected += 1
    log.info("a peer connection did not connect within %.0f s; closed", ICE_DEADLINE_S)
    _detach(session, person)
    await _remove_peer_quietly(session, person)
    if person.disconnected_at is None and person.present:
        session.depart(person, Presence.LEFT, None)
    else:
        session.apply()


async def _remove_peer_quietly(session: LiveSession, person: Participant) -> None:
    """Close a peer that a bad offer left half made: the clean-up itself never raises."""
    try:
        await session.room.remove_peer(person.id)
    except Exception:
        log.warning("closing a peer after a refused offer failed", exc_info=True)


def _detach(session: LiveSession, person: Participant) -> None:
    if person.inbox is not None:
        person.inbox.close()
        person.inbox = None
    person.control_ready = False
    person.peer = None
    person.connected = False


def _on_control(session: LiveSession, person: Participant, peer: Peer) -> None:
    if person.peer is not peer:
        peer.close_control()
        return
    inbox = ControlInbox(session, person)
    if person.inbox is not None:
        person.inbox.close()
    person.inbox = inbox

    def refused(kind: Refusal) -> None:
        error = ErrorId.TOO_LARGE if kind == "too_large" else ErrorId.MALFORMED
        inbox.refuse(error, "the message was refused before decoding")

    peer.guard_control(MAX_CONTROL_MESSAGE_BYTES, refused)
    peer.on_control_message(inbox.on_message)
    person.control_ready = True
    person.connected = True
    person.disconnected_at = None
    person.last_seen = time.monotonic()
    session.greet(person)
    session.apply()
    session.spawn(negotiate(session, person, peer))


def _on_state(session: LiveSession, person: Participant, peer: Peer, state: str) -> None:
    if person.peer is not peer or state not in ("failed", "closed"):
        return
    _mark_disconnected(session, person)


def _mark_disconnected(session: LiveSession, person: Participant) -> None:
    if person.connected:
        person.connected = False
        person.disconnected_at = time.monotonic()
        session.apply()


async def keep_alive(session: LiveSession) -> None:
    """One loop per session: heartbeats, the grace period, and the active speakers."""
    last_ping = 0.0
    speaking: list[str] = []
    nonce = 0
    ticks = 0
    while not session.ended:
        await asyncio.sleep(LEVELS_INTERVAL_S)
        now = time.monotonic()
        if now - last_ping >= HEARTBEAT_INTERVAL_S:
            last_ping = now
            nonce += 1
            for person in session.present():
                if person.connected:
                    if now - person.last_seen > HEARTBEAT_TIMEOUT_S:
                        _mark_disconnected(session, person)
                    else:
                        session.send(person, p.PingOut(nonce=nonce))
                elif (
                    person.disconnected_at is not None
                    and now - person.disconnected_at > RECONNECT_GRACE_S
                ):
                    session.depart(person, Presence.LEFT, None)
                elif person.disconnected_at is not None and person.inbox is not None:
                    # Still pinged on the old channel: a stalled one that recovers answers,
                    # and its answer brings the person back (server/live/control_channel.py).
                    session.send(person, p.PingOut(nonce=nonce))
            # Entries whose control channel never opened: gone, name freed, nobody told. A join
            # with no offer has CONNECT_DEADLINE_S; one whose offer was answered has
            # ICE_DEADLINE_S from it (a slow phone link is still connecting).
            never = [
                x
                for x in session.present()
                if not x.connected
                and x.disconnected_at is None
                and now - x.last_seen
                > (ICE_DEADLINE_S if x.peer is not None else CONNECT_DEADLINE_S)
            ]
            if never:
                session.depart_many(never, Presence.LEFT, None)
        levels = session.room.audio_levels()
        now_speaking = sorted(
            pid
            for pid, level in levels.items()
            if level.speaking and (x := session.participants.get(pid)) and session.heard(x)
        )
        session.tick(LEVELS_INTERVAL_S, levels)
        session.media.note_levels(set(now_speaking), now)
        if now_speaking != speaking:
            speaking = now_speaking
            for person in session.admitted():
                session.send(person, p.Levels(speaking=speaking))
        ticks += 1
        if ticks % MEDIA_EVERY_TICKS == 0:
            session.media.update(now)
        if ticks % OBSERVATION_EVERY_TICKS == 0:
            session.send_observation()
        if ticks % SNAPSHOT_EVERY_TICKS == 0:
            session.changed()
        if ticks % REJOIN_EVERY_TICKS == 0:
            for person in session.present():
                session.send_rejoin(person)
        if session.floor is not None and ticks % FLOOR_COUNTDOWN_EVERY_TICKS == 0:
            session.broadcast_state()  # the countdown everyone sees
