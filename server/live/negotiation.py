"""Renegotiation over the control channel: the server's next offer, when one is due and none is
outstanding, and the browser's answer to it (the ``answer`` message)."""

from __future__ import annotations

import logging

from rtc import NegotiationError, Peer
from server.live import protocol as p
from server.live.participant import Participant
from server.live.session import LiveSession
from server.platform.errors import ErrorId, LingkarError

log = logging.getLogger("lingkar.connection")


async def negotiate(session: LiveSession, person: Participant, peer: Peer) -> None:
    """Send the server's next offer, if one is due and none is outstanding."""
    if (
        person.peer is not peer
        or not person.control_ready
        or person.offer_outstanding
        or not peer.negotiation_needed
        or session.ended
    ):
        return
    person.offer_outstanding = True
    try:
        sdp = await peer.create_offer()
    except NegotiationError:
        person.offer_outstanding = False
        log.warning("could not make an offer", exc_info=True)
        return
    tracks = {
        mid: p.TrackInfo(participant=track.peer_id, kind=track.kind)
        for mid, track in peer.subscription_mids().items()
    }
    session.send(person, p.Offer(sdp=sdp, tracks=tracks))


async def accept_answer(session: LiveSession, person: Participant, sdp: str) -> None:
    peer = person.peer
    if peer is None or not person.offer_outstanding:
        raise LingkarError(ErrorId.CONFLICT, "no offer is waiting for an answer")
    try:
        await peer.accept_answer(sdp)
    except NegotiationError as exc:
        raise LingkarError(ErrorId.NEGOTIATION_FAILED, str(exc)) from None
    finally:
        person.offer_outstanding = False
    session.spawn(negotiate(session, person, peer))
