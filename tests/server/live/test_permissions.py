"""The permission table: every control message has an entry, and every role is refused every
message whose permission it lacks, before any handler runs."""

from __future__ import annotations

import typing

import pytest

from server.live import protocol as p
from server.live.controls import HANDLERS, dispatch
from server.live.participant import Participant, Presence
from server.live.permissions import REQUIRED, ROLE_PERMISSIONS, Permission, Role
from server.platform.errors import ErrorId, LingkarError

CLIENT_TYPES = set(typing.get_args(p.ClientMessage))

# One valid instance of each message type that needs a permission.
SAMPLES: dict[type[p.ClientMessage], p.ClientMessage] = {
    p.Microphone: p.Microphone(on=True),
    p.Camera: p.Camera(on=True),
    p.Screen: p.Screen(on=True),
    p.Hand: p.Hand(raised=True),
    p.TalkRequest: p.TalkRequest(),
    p.UnmuteReply: p.UnmuteReply(accept=True),
    p.EvaluationAnswer: p.EvaluationAnswer(understanding="", comfort="", action="", rating=4),
    p.Admit: p.Admit(participant="x"),
    p.AdmitAll: p.AdmitAll(),
    p.Deny: p.Deny(participant="x"),
    p.DenyAll: p.DenyAll(),
    p.Lock: p.Lock(locked=True),
    p.ToLobby: p.ToLobby(participant="x"),
    p.MuteMember: p.MuteMember(participant="x"),
    p.MuteAll: p.MuteAll(),
    p.UnmutePolicy: p.UnmutePolicy(policy="ask_to_speak"),
    p.AskUnmute: p.AskUnmute(participant="x"),
    p.StopCamera: p.StopCamera(participant="x"),
    p.ScreenPermission: p.ScreenPermission(participant="x", allowed=True),
    p.Remove: p.Remove(participant="x"),
    p.GiveFloor: p.GiveFloor(participant="x"),
    p.InTurn: p.InTurn(),
    p.NextTurn: p.NextTurn(),
    p.EndFloor: p.EndFloor(),
    p.Note: p.Note(participant="x"),
    p.Evaluation: p.Evaluation(open=True),
    p.ObserverFigures: p.ObserverFigures(allowed=True),
    p.Stage: p.Stage(direction="next"),
    p.End: p.End(),
}


def test_every_message_type_has_a_permission_entry_and_a_handler() -> None:
    assert set(REQUIRED) == CLIENT_TYPES
    assert set(HANDLERS) == CLIENT_TYPES


def test_every_permission_is_needed_or_granted_somewhere() -> None:
    needed = {x for x in REQUIRED.values() if x is not None}
    granted = set().union(*ROLE_PERMISSIONS.values())
    assert needed <= granted
    # Two are rules, not messages: observe_figures decides who is sent the figures, present
    # lets a counselor speak, show video and share whatever the stage says.
    assert set(Permission) - needed == {Permission.OBSERVE_FIGURES, Permission.PRESENT}


def test_the_samples_cover_every_message_that_needs_a_permission() -> None:
    assert set(SAMPLES) == {kind for kind, needed in REQUIRED.items() if needed is not None}


# Every role against every message whose permission it lacks (the ones it has are run by the
# live tests through their handlers).
REFUSED = [
    (role, kind)
    for role in Role
    for kind in sorted(SAMPLES, key=lambda k: k.__name__)
    if REQUIRED[kind] not in ROLE_PERMISSIONS[role]
]


def test_what_each_role_is_refused() -> None:
    def refused(role: Role) -> set[type[p.ClientMessage]]:
        return {kind for who, kind in REFUSED if who is role}

    # The counselors answer no evaluation; a member uses none of the counselors' controls;
    # an observer neither those nor any that would make them seen or heard.
    assert refused(Role.LEADER) == refused(Role.CO_LEADER) == {p.EvaluationAnswer}
    publishing = {p.Microphone, p.Camera, p.Screen, p.Hand, p.TalkRequest, p.UnmuteReply}
    counselors = set(SAMPLES) - publishing - {p.EvaluationAnswer}
    assert refused(Role.MEMBER) == counselors
    assert refused(Role.OBSERVER) == (counselors - {p.Note}) | publishing | {p.EvaluationAnswer}


@pytest.mark.parametrize(("role", "kind"), REFUSED, ids=lambda x: getattr(x, "__name__", str(x)))
async def test_each_role_is_refused_what_it_may_not_do(
    role: Role, kind: type[p.ClientMessage]
) -> None:
    person = Participant(id="me", name="Saya", role=role, presence=Presence.ADMITTED)
    # The gate refuses before the handler: no session is reached (None would fail there).
    with pytest.raises(LingkarError) as refused:
        await dispatch(None, person, SAMPLES[kind])  # type: ignore[arg-type]
    assert refused.value.error is ErrorId.FORBIDDEN


def test_the_roles_as_the_issue_names_them() -> None:
    leading = ROLE_PERMISSIONS[Role.LEADER]
    assert ROLE_PERMISSIONS[Role.CO_LEADER] == leading
    assert Permission.PUBLISH not in ROLE_PERMISSIONS[Role.OBSERVER]
    assert ROLE_PERMISSIONS[Role.OBSERVER] == {Permission.OBSERVE_NOTES}
    assert ROLE_PERMISSIONS[Role.MEMBER] == {Permission.PUBLISH, Permission.ANSWER_EVALUATION}
