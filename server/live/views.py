"""What each client is told of the session: the roster, their own state, the stage, the lobby
and the observation figures, built here and nowhere else.

Every function reads the live session's state and rules (see :class:`RoomState`) and returns
one message of server/live/protocol.py; nothing here changes state.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Protocol

from server.counseling.stages import Stage
from server.live import protocol as p
from server.live.chat import Chat
from server.live.floor import Floor
from server.live.observation import Participation
from server.live.participant import Participant, Presence
from server.live.permissions import Permission, Role


class RoomState(Protocol):
    """The part of a live session (server/live/session.py) the views read."""

    title: str
    chat: Chat
    evaluation_open: bool
    evaluation_answers: list[p.EvaluationAnswerOut]
    stages: list[Stage]
    stage_index: int
    stage_started: float
    floor: Floor | None
    locked: bool
    queue_while_locked: bool
    policy: p.Policy
    observers_see_figures: bool
    participants: dict[str, Participant]

    def heard(self, person: Participant) -> bool: ...
    def seen(self, person: Participant) -> bool: ...
    def sharing(self, person: Participant) -> bool: ...
    def may_share(self, person: Participant) -> bool: ...
    def may_unmute(self, person: Participant) -> bool: ...
    def admitted(self) -> list[Participant]: ...
    def waiting(self) -> list[Participant]: ...
    def stats(self, person: Participant) -> Participation: ...
    def link(self, person: Participant) -> p.LinkQuality: ...


_ROOM_ORDER = {Role.LEADER: 0, Role.CO_LEADER: 0, Role.OBSERVER: 1, Role.MEMBER: 2}


def room_order(x: Participant) -> tuple[int, float]:
    """Counselors first, then observers, then members, each in order of arrival."""
    return (_ROOM_ORDER[x.role], x.admitted_at or x.joined_at)


def roster_order(state: RoomState) -> list[Participant]:
    return sorted(state.admitted(), key=room_order)


def person(state: RoomState, x: Participant) -> p.Person:
    return p.Person(
        id=x.id,
        name=x.name,
        role=x.role.value,
        connected=x.connected,
        muted=not state.heard(x),
        camera=state.seen(x),
        screen=state.sharing(x),
        hand=x.hand_raised_at is not None,
        can_share=state.may_share(x),
    )


def hands(state: RoomState) -> list[str]:
    raised = [x for x in state.admitted() if x.hand_raised_at is not None]
    return [x.id for x in sorted(raised, key=lambda x: x.hand_raised_at or 0.0)]


def floor_info(state: RoomState) -> p.FloorInfo | None:
    if state.floor is None:
        return None
    return p.FloorInfo(
        participant=state.floor.holder,
        seconds_left=state.floor.seconds_left(time.monotonic()),
        in_turn=state.floor.in_turn,
    )


def stage_info(state: RoomState) -> p.StageInfo | None:
    if not state.stages:
        return None
    stage = state.stages[state.stage_index]
    return p.StageInfo(
        index=state.stage_index,
        count=len(state.stages),
        key=stage.key,
        names=stage.title.both(),
        guidance=stage.guidance.both(),
        checklist=[item.both() for item in stage.checklist],
        minutes=stage.minutes,
        elapsed_seconds=int(time.monotonic() - state.stage_started),
        preset=p.PresetInfo(
            policy=stage.preset.policy,
            video=stage.preset.video,
            chat=stage.preset.chat,
            share=stage.preset.share,
        ),
    )


def roster(state: RoomState) -> p.Roster:
    return p.Roster(
        participants=[person(state, x) for x in roster_order(state)],
        hands=hands(state),
        locked=state.locked,
        policy=state.policy,
        stage=stage_info(state),
        floor=floor_info(state),
    )


def permission_names(x: Participant) -> list[p.PermissionName]:
    return sorted(permission.value for permission in x.permissions)


def you(state: RoomState, x: Participant) -> p.You:
    return p.You(
        muted=not state.heard(x),
        muted_by_leader=x.muted_by_leader,
        camera=state.seen(x),
        camera_stopped_by_leader=x.camera_stopped_by_leader,
        screen=state.sharing(x),
        can_share=state.may_share(x),
        can_unmute=state.may_unmute(x),
        hand=x.hand_raised_at is not None,
        receive=x.receive,
        floor=state.floor is not None and state.floor.holder == x.id,
        permissions=permission_names(x),
        observers_see_figures=state.observers_see_figures if x.leads else False,
    )


def waiting(state: RoomState) -> p.Waiting:
    now = time.time()
    return p.Waiting(
        participants=[
            p.WaitingPerson(
                id=x.id,
                name=x.name,
                role=x.role.value,
                waiting_seconds=int(now - x.joined_at),
                connected=x.connected,
            )
            for x in state.waiting()
        ],
        locked=state.locked,
        queue=state.queue_while_locked,
    )


def status(state: RoomState, x: Participant) -> p.Status:
    """A person's view of the lobby: waiting or locked, with their place in the queue (or
    that they are in)."""
    if x.presence is Presence.WAITING:
        queue = [person.id for person in state.waiting()]
        return waiting_status(state, queue.index(x.id) + 1)
    return p.Status(status="admitted")


def waiting_status(state: RoomState, position: int) -> p.Status:
    """The view of someone waiting at ``position`` (1: next) in the lobby's queue."""
    return p.Status(status="locked" if state.locked else "waiting", position=position)


def observation(state: RoomState, members: Sequence[Participant]) -> p.Observation:
    return p.Observation(
        members=[
            p.MemberObservation(
                id=x.id,
                name=x.name,
                speaking_seconds=round(state.stats(x).speaking_seconds, 1),
                turns=state.stats(x).turns,
                hands=state.stats(x).hands,
                chats=state.stats(x).chats,
                present_seconds=round(state.stats(x).present_seconds, 1),
                link=state.link(x) if x.in_room else "unknown",
            )
            for x in sorted(members, key=room_order)
            if x.admitted_at is not None
        ]
    )


def greeting(state: RoomState, x: Participant, status: p.Status) -> list[p.ServerMessage]:
    """What a freshly opened control channel is told: who they are and what they may do, where
    they are, and (only once in the room) the room, the chat they may see and the evaluation."""
    welcome = p.Welcome(
        protocol=p.PROTOCOL_VERSION,
        id=x.id,
        name=x.name,
        role=x.role.value,
        title=state.title,
        permissions=permission_names(x),
        restored=x.restored,
    )
    x.restored = False  # said once
    messages: list[p.ServerMessage] = [welcome]
    if x.in_room:
        # The room and their own state before the status: a page that enters the room on
        # "admitted" then knows whether a counselor muted them (and does not unmute itself).
        messages += [roster(state), you(state, x), status, *state.chat.history_for(x)]
    else:
        messages.append(status)
        if state.evaluation_open and x.can(Permission.ANSWER_EVALUATION):
            messages.append(p.EvaluationState(open=True, answered=x.evaluated))
    if x.can(Permission.EVALUATION):
        messages.append(p.EvaluationState(open=state.evaluation_open, answered=False))
        messages += state.evaluation_answers
    return messages
