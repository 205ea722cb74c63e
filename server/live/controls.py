"""What each control message does: the leader's controls and the members' own actions.

Called by :mod:`server.live.control_channel` after a message is parsed; :func:`dispatch` checks
the sender's permission for the message (server/live/permissions.py, one table) and presence.
The sender is the participant the server attached the channel to, never anything the message
says. Every handler changes state and ends in ``session.apply()``; what one counselor does is
told to the others (``session.activity``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from server.live import protocol as p
from server.live import views
from server.live.floor import Floor, start_turns
from server.live.negotiation import accept_answer
from server.live.participant import Participant, Presence
from server.live.permissions import LOBBY_ALLOWED, REQUIRED, Permission
from server.live.session import LiveSession
from server.platform.errors import ErrorId, LingkarError

Handler = Callable[[LiveSession, Participant, Any], Awaitable[None]]


def _member(session: LiveSession, participant_id: str) -> Participant:
    target = session.participant(participant_id)
    if not target.is_member:
        raise LingkarError(ErrorId.FORBIDDEN, "this control applies to members only")
    return target


def _guest(session: LiveSession, participant_id: str) -> Participant:
    """A member or an observer: someone the counselors admit, send back or remove."""
    target = session.participant(participant_id)
    if target.leads:
        raise LingkarError(ErrorId.FORBIDDEN, "this control does not apply to a counselor")
    return target


def _in_room_member(session: LiveSession, participant_id: str) -> Participant:
    target = _member(session, participant_id)
    if not target.in_room:
        raise LingkarError(ErrorId.CONFLICT, "that member is not in the room")
    return target


# ---- anyone admitted ---------------------------------------------------------------------------


async def answer(session: LiveSession, sender: Participant, msg: p.Answer) -> None:
    await accept_answer(session, sender, msg.sdp)


async def ping(session: LiveSession, sender: Participant, msg: p.Ping) -> None:
    session.send(sender, p.PongOut(nonce=msg.nonce))


async def pong(session: LiveSession, sender: Participant, msg: p.Pong) -> None:
    """Nothing to do: every message already counts as a sign of life."""


async def microphone(session: LiveSession, sender: Participant, msg: p.Microphone) -> None:
    session.set_microphone(sender, msg.on)


async def camera(session: LiveSession, sender: Participant, msg: p.Camera) -> None:
    session.set_camera(sender, msg.on)


async def screen(session: LiveSession, sender: Participant, msg: p.Screen) -> None:
    session.set_screen(sender, msg.on)


async def hand(session: LiveSession, sender: Participant, msg: p.Hand) -> None:
    session.set_hand(sender, msg.raised)


async def chat(session: LiveSession, sender: Participant, msg: p.Chat) -> None:
    text = msg.text.strip()
    if not text:
        raise LingkarError(ErrorId.MALFORMED, "an empty chat message")
    session.post_chat(sender, text, msg.to)


async def talk_request(session: LiveSession, sender: Participant, msg: p.TalkRequest) -> None:
    if not session.leaders():
        raise LingkarError(ErrorId.NOT_FOUND, "the counselor is not connected")
    session.send_to_leaders(p.TalkRequestOut(participant=sender.id, name=sender.name))


async def unmute_reply(session: LiveSession, sender: Participant, msg: p.UnmuteReply) -> None:
    session.reply_unmute(sender, msg.accept)


async def leave(session: LiveSession, sender: Participant, msg: p.Leave) -> None:
    session.depart(sender, Presence.LEFT, None)


async def receive(session: LiveSession, sender: Participant, msg: p.Receive) -> None:
    session.set_receive(sender, msg.mode)


async def view(session: LiveSession, sender: Participant, msg: p.View) -> None:
    session.set_view(sender, msg)


# ---- the counselors' controls -------------------------------------------------------------------


async def admit(session: LiveSession, sender: Participant, msg: p.Admit) -> None:
    session.admit([_guest(session, msg.participant)], by=sender)


async def admit_all(session: LiveSession, sender: Participant, msg: p.AdmitAll) -> None:
    session.admit(session.waiting(), by=sender)


async def deny(session: LiveSession, sender: Participant, msg: p.Deny) -> None:
    target = _guest(session, msg.participant)
    if target.presence is not Presence.WAITING:
        raise LingkarError(ErrorId.CONFLICT, "that person is not waiting")
    session.activity(sender, "denied", target)
    session.depart(target, Presence.DENIED, p.Status(status="denied", message=msg.message.strip()))


async def deny_all(session: LiveSession, sender: Participant, msg: p.DenyAll) -> None:
    """Everyone waiting is turned away at once (a lobby filled by strangers), with one message."""
    farewell = p.Status(status="denied", message=msg.message.strip())
    session.activity(sender, "denied_all")
    session.depart_many(session.waiting(), Presence.DENIED, farewell)


async def lock(session: LiveSession, sender: Participant, msg: p.Lock) -> None:
    session.lock(msg.locked, msg.queue, by=sender)


async def to_lobby(session: LiveSession, sender: Participant, msg: p.ToLobby) -> None:
    session.to_lobby(_guest(session, msg.participant), by=sender)


async def mute_member(session: LiveSession, sender: Participant, msg: p.MuteMember) -> None:
    target = _in_room_member(session, msg.participant)
    session.mute([target], by=sender, action="muted", target=target)


async def mute_all(session: LiveSession, sender: Participant, msg: p.MuteAll) -> None:
    members = [x for x in session.admitted() if x.is_member]
    session.mute(members, by=sender, action="muted_all")


async def unmute_policy(session: LiveSession, sender: Participant, msg: p.UnmutePolicy) -> None:
    session.set_policy(msg.policy)


async def ask_unmute(session: LiveSession, sender: Participant, msg: p.AskUnmute) -> None:
    session.ask_unmute(_in_room_member(session, msg.participant))


async def stop_camera(session: LiveSession, sender: Participant, msg: p.StopCamera) -> None:
    session.stop_camera(_in_room_member(session, msg.participant), by=sender)


async def screen_permission(
    session: LiveSession, sender: Participant, msg: p.ScreenPermission
) -> None:
    session.allow_share(_member(session, msg.participant), msg.allowed)


async def remove(session: LiveSession, sender: Participant, msg: p.Remove) -> None:
    target = _guest(session, msg.participant)
    session.activity(sender, "removed", target)
    session.depart(target, Presence.REMOVED, p.Status(status="removed"))


async def stage(session: LiveSession, sender: Participant, msg: p.Stage) -> None:
    step = 1 if msg.direction == "next" else -1
    index = session.stage_index + step
    if not 0 <= index < len(session.stages):
        raise LingkarError(ErrorId.NOT_ALLOWED, f"there is no {msg.direction} stage")
    session.activity(sender, "stage_next" if step > 0 else "stage_previous")
    session.enter_stage(index)


async def give_floor(session: LiveSession, sender: Participant, msg: p.GiveFloor) -> None:
    target = _in_room_member(session, msg.participant)
    now = time.monotonic()
    session.activity(sender, "gave_floor", target)
    session.give_floor(Floor(target.id, now + msg.seconds if msg.seconds else None, msg.seconds))


async def in_turn(session: LiveSession, sender: Participant, msg: p.InTurn) -> None:
    order = [x.id for x in views.roster_order(session) if x.is_member]
    floor = start_turns(order, msg.seconds, time.monotonic())
    if floor is None:
        raise LingkarError(ErrorId.NOT_ALLOWED, "there is nobody in the room to take turns")
    session.give_floor(floor)


async def next_turn_(session: LiveSession, sender: Participant, msg: p.NextTurn) -> None:
    if session.floor is None:
        raise LingkarError(ErrorId.NOT_ALLOWED, "nobody has the floor")
    session.pass_floor()


async def end_floor(session: LiveSession, sender: Participant, msg: p.EndFloor) -> None:
    if session.floor is None:
        raise LingkarError(ErrorId.NOT_ALLOWED, "nobody has the floor")
    session.give_floor(None)


async def note(session: LiveSession, sender: Participant, msg: p.Note) -> None:
    target = session.participants.get(msg.participant)
    if target is None or not target.is_member:
        raise LingkarError(ErrorId.NOT_FOUND, "no such member in this session")
    if session.recorder is None:
        raise LingkarError(ErrorId.NOT_ALLOWED, "notes cannot be kept for this session")
    ratings = {
        "active": msg.ratings.active,
        "respects": msg.ratings.respects,
        "serious": msg.ratings.serious,
    }
    # The counselors share their notes; an observer's are theirs alone.
    author = "" if sender.leads else sender.id
    session.recorder.note(author, target.id, msg.text.strip(), ratings)
    session.send(sender, p.NoteSaved(participant=target.id))


async def evaluation(session: LiveSession, sender: Participant, msg: p.Evaluation) -> None:
    session.set_evaluation(msg.open, by=sender)


async def observer_figures(
    session: LiveSession, sender: Participant, msg: p.ObserverFigures
) -> None:
    session.set_observers_see_figures(msg.allowed, by=sender)


async def evaluation_answer(
    session: LiveSession, sender: Participant, msg: p.EvaluationAnswer
) -> None:
    answers = {
        "understanding": msg.understanding.strip(),
        "comfort": msg.comfort.strip(),
        "action": msg.action.strip(),
    }
    session.answer_evaluation(sender, msg.rating, answers, anonymous=msg.anonymous)


async def end(session: LiveSession, sender: Participant, msg: p.End) -> None:
    session.activity(sender, "ended")
    await session.end()


HANDLERS: dict[type[Any], Handler] = {
    p.Answer: answer,
    p.Ping: ping,
    p.Pong: pong,
    p.Microphone: microphone,
    p.Camera: camera,
    p.Screen: screen,
    p.Hand: hand,
    p.Chat: chat,
    p.TalkRequest: talk_request,
    p.UnmuteReply: unmute_reply,
    p.Leave: leave,
    p.Receive: receive,
    p.View: view,
    p.Admit: admit,
    p.AdmitAll: admit_all,
    p.DenyAll: deny_all,
    p.Deny: deny,
    p.Lock: lock,
    p.ToLobby: to_lobby,
    p.MuteMember: mute_member,
    p.MuteAll: mute_all,
    p.UnmutePolicy: unmute_policy,
    p.AskUnmute: ask_unmute,
    p.StopCamera: stop_camera,
    p.ScreenPermission: screen_permission,
    p.GiveFloor: give_floor,
    p.InTurn: in_turn,
    p.NextTurn: next_turn_,
    p.EndFloor: end_floor,
    p.Note: note,
    p.Evaluation: evaluation,
    p.ObserverFigures: observer_figures,
    p.EvaluationAnswer: evaluation_answer,
    p.Remove: remove,
    p.Stage: stage,
    p.End: end,
}


async def dispatch(session: LiveSession, sender: Participant, msg: p.ClientMessage) -> None:
    """Check the sender's permission and presence, then run the message's handler."""
    kind = type(msg)
    needed = REQUIRED[kind]
    if needed is not None and not sender.can(needed):
        if needed is Permission.PUBLISH:
            raise LingkarError(ErrorId.FORBIDDEN, "observers are not seen or heard")
        if needed is Permission.ANSWER_EVALUATION:
            raise LingkarError(ErrorId.FORBIDDEN, "the evaluation is for members")
        raise LingkarError(ErrorId.FORBIDDEN, "only the counselor can do that")
    if not sender.in_room and kind not in LOBBY_ALLOWED:
        raise LingkarError(ErrorId.FORBIDDEN, "you are waiting in the lobby")
    await HANDLERS[kind](session, sender, msg)
