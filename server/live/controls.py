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
from server.platform.limits import MAX_MEMBERS_PER_SESSION

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
    if msg.on:
        if not session.may_unmute(sender):
            raise LingkarError(
                ErrorId.NOT_ALLOWED, "ask to speak: the counselor must ask you to unmute"
            )
        sender.muted_by_leader = False
    elif not sender.can(Permission.PRESENT) and session.policy == "ask_to_speak":
        sender.unmute_granted = False
    sender.microphone = msg.on
    session.apply()


async def camera(session: LiveSession, sender: Participant, msg: p.Camera) -> None:
    if msg.on and not session.may_show_video(sender):
        raise LingkarError(ErrorId.NOT_ALLOWED, "cameras stay off in this stage")
    sender.camera = msg.on
    if msg.on:
        sender.camera_stopped_by_leader = False
    session.apply()


async def screen(session: LiveSession, sender: Participant, msg: p.Screen) -> None:
    if msg.on and not session.may_share(sender):
        raise LingkarError(ErrorId.NOT_ALLOWED, "the counselor has not allowed you to share")
    sender.screen = msg.on
    session.apply()


async def hand(session: LiveSession, sender: Participant, msg: p.Hand) -> None:
    if msg.raised:
        if sender.hand_raised_at is None:
            sender.hand_raised_at = time.monotonic()
            session.stats(sender).hands += 1
    else:
        sender.hand_raised_at = None
    session.apply()


async def chat(session: LiveSession, sender: Participant, msg: p.Chat) -> None:
    text = msg.text.strip()
    if not text:
        raise LingkarError(ErrorId.MALFORMED, "an empty chat message")
    if msg.to == "all" and sender.is_observer:
        raise LingkarError(ErrorId.NOT_ALLOWED, "an observer writes to the counselors only")
    if msg.to == "all" and not session.may_chat_to_all(sender):
        raise LingkarError(
            ErrorId.NOT_ALLOWED, "chat to everyone is closed in this stage; the counselor can read"
        )
    session.post_chat(sender, text, msg.to)


async def talk_request(session: LiveSession, sender: Participant, msg: p.TalkRequest) -> None:
    if not session.leaders():
        raise LingkarError(ErrorId.NOT_FOUND, "the counselor is not connected")
    session.send_to_leaders(p.TalkRequestOut(participant=sender.id, name=sender.name))


async def unmute_reply(session: LiveSession, sender: Participant, msg: p.UnmuteReply) -> None:
    if not sender.unmute_asked:
        raise LingkarError(ErrorId.NOT_ALLOWED, "nobody asked you to unmute")
    sender.unmute_asked = False
    if msg.accept:
        sender.unmute_granted = True
        sender.muted_by_leader = False
        sender.microphone = True
    session.send_to_leaders(p.UnmuteReplyOut(participant=sender.id, accept=msg.accept))
    session.apply()


async def leave(session: LiveSession, sender: Participant, msg: p.Leave) -> None:
    session.depart(sender, Presence.LEFT, None)


async def receive(session: LiveSession, sender: Participant, msg: p.Receive) -> None:
    sender.receive = msg.mode
    session.apply()
    if sender.in_room and sender.peer is not None:
        session.media.apply_to(sender, time.monotonic())


async def view(session: LiveSession, sender: Participant, msg: p.View) -> None:
    """The page's tiles and how many videos it shows: the wants follow at once."""
    sender.view = msg
    if sender.in_room and sender.peer is not None:
        session.media.apply_to(sender, time.monotonic())


# ---- the leader's controls ----------------------------------------------------------------------


def _admit(session: LiveSession, sender: Participant, target: Participant) -> None:
    if target.is_member and session.admitted_members() >= MAX_MEMBERS_PER_SESSION:
        raise LingkarError(ErrorId.SESSION_FULL, "the room already holds the most members")
    target.presence = Presence.ADMITTED
    target.admitted_at = time.time()
    session.record(target, "admitted")
    session.send(target, p.Status(status="admitted"))
    # The roster and own state follow in apply(); the subscriptions' offer follows them.
    session.greet_admitted(target)
    session.activity(sender, "admitted", target)


async def admit(session: LiveSession, sender: Participant, msg: p.Admit) -> None:
    target = _guest(session, msg.participant)
    if target.presence is not Presence.WAITING:
        raise LingkarError(ErrorId.CONFLICT, "that person is not waiting")
    _admit(session, sender, target)
    session.apply()


async def admit_all(session: LiveSession, sender: Participant, msg: p.AdmitAll) -> None:
    try:
        for target in session.waiting():
            _admit(session, sender, target)
    finally:
        session.apply()


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
    session.locked = msg.locked
    session.queue_while_locked = msg.locked and msg.queue
    for person in session.waiting():
        session.send(person, views.status(session, person))
    session.activity(sender, "locked" if msg.locked else "unlocked")
    session.apply()


async def to_lobby(session: LiveSession, sender: Participant, msg: p.ToLobby) -> None:
    target = _guest(session, msg.participant)
    if not target.in_room:
        raise LingkarError(ErrorId.CONFLICT, "that person is not in the room")
    target.presence = Presence.WAITING
    target.hand_raised_at = None
    target.screen = False
    target.unmute_granted = False
    target.unmute_asked = False
    target.joined_at = time.time()
    session.send(target, views.status(session, target))
    session.activity(sender, "to_lobby", target)
    session.apply()


async def mute_member(session: LiveSession, sender: Participant, msg: p.MuteMember) -> None:
    target = _in_room_member(session, msg.participant)
    _mute(target)
    session.activity(sender, "muted", target)
    session.apply()


def _mute(target: Participant) -> None:
    target.microphone = False
    target.muted_by_leader = True
    target.unmute_granted = False
    target.unmute_asked = False


async def mute_all(session: LiveSession, sender: Participant, msg: p.MuteAll) -> None:
    for target in session.admitted():
        if target.is_member:
            _mute(target)
    session.activity(sender, "muted_all")
    session.apply()


async def unmute_policy(session: LiveSession, sender: Participant, msg: p.UnmutePolicy) -> None:
    session.policy = msg.policy
    if msg.policy == "ask_to_speak":
        for target in session.admitted():
            if target.is_member and not target.unmute_granted:
                target.microphone = False
    session.apply()


async def ask_unmute(session: LiveSession, sender: Participant, msg: p.AskUnmute) -> None:
    target = _in_room_member(session, msg.participant)
    target.unmute_asked = True
    session.send(target, p.UnmuteRequest())


async def stop_camera(session: LiveSession, sender: Participant, msg: p.StopCamera) -> None:
    target = _in_room_member(session, msg.participant)
    target.camera = False
    target.camera_stopped_by_leader = True
    session.activity(sender, "stopped_camera", target)
    session.apply()


async def screen_permission(
    session: LiveSession, sender: Participant, msg: p.ScreenPermission
) -> None:
    target = _member(session, msg.participant)
    target.can_share = msg.allowed
    if not msg.allowed:
        target.screen = False
    session.apply()


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
    order = [x.id for x in session.roster_order() if x.is_member]
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
    session.evaluation_open = msg.open
    session.activity(sender, "evaluation_opened" if msg.open else "evaluation_closed")
    for person in session.admitted():
        # The counselors' own pages (another tab, a reconnection) learn the state too.
        answered = person.evaluated and person.can(Permission.ANSWER_EVALUATION)
        session.send(person, p.EvaluationState(open=msg.open, answered=answered))


async def observer_figures(
    session: LiveSession, sender: Participant, msg: p.ObserverFigures
) -> None:
    session.activity(sender, "figures_shown" if msg.allowed else "figures_hidden")
    session.set_observers_see_figures(msg.allowed)


async def evaluation_answer(
    session: LiveSession, sender: Participant, msg: p.EvaluationAnswer
) -> None:
    if not session.evaluation_open:
        raise LingkarError(ErrorId.NOT_ALLOWED, "the evaluation is not open")
    if sender.evaluated:
        raise LingkarError(ErrorId.CONFLICT, "you have already answered")
    sender.evaluated = True
    answers = {
        "understanding": msg.understanding.strip(),
        "comfort": msg.comfort.strip(),
        "action": msg.action.strip(),
    }
    # Anonymous answers carry no identity anywhere: not in the database, not to the leader.
    who = None if msg.anonymous else sender
    if session.recorder is not None:
        session.recorder.evaluation(None if who is None else who.id, msg.rating, answers)
    session.send(sender, p.EvaluationState(open=True, answered=True))
    out = p.EvaluationAnswerOut(
        participant=None if who is None else who.id,
        name=None if who is None else who.name,
        rating=msg.rating,
        **answers,
    )
    session.evaluation_answers.append(out)
    session.send_to_leaders(out)


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
