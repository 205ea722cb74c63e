"""Who may do what in a live session: permissions, the roles that name sets of them, and the
one table that says which permission each control message needs.

A participant's role is fixed when they enter (the counselor who owns the session, a
co-counselor, an observer, a member). What they may do is the role's set of permissions, plus
what the session grants on top (an observer allowed to see the observation figures). The
control channel checks :data:`REQUIRED` before any handler runs, and the client is told the
permissions (``welcome`` and ``you``) and shows its controls from them, never from a role name.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from server.live import protocol as p


class Role(StrEnum):
    LEADER = "leader"  # the counselor who owns the session
    CO_LEADER = "co_leader"  # another counselor the owner added
    OBSERVER = "observer"  # sees and hears, is never seen or heard
    MEMBER = "member"  # a student


class Permission(StrEnum):
    # Be heard and seen: a microphone and a camera that reach the others.
    PUBLISH = "publish"
    # Share a screen whatever the stage says, and unmute whatever the policy says.
    PRESENT = "present"
    # Admit, deny and lock the lobby.
    ADMIT = "admit"
    # Mute, stop a camera, allow sharing, ask to unmute, send back to the lobby, remove.
    MODERATE = "moderate"
    # Move between the plan's stages.
    STAGE = "stage"
    # Give the floor, take turns, end the floor.
    FLOOR = "floor"
    # Write observation notes on members (each author's own) and see the figures.
    OBSERVE_NOTES = "observe_notes"
    # See the observation figures (speaking time, turns, hands) live.
    OBSERVE_FIGURES = "observe_figures"
    # Open and close the members' evaluation and read the answers.
    EVALUATION = "evaluation"
    # Answer the closing evaluation.
    ANSWER_EVALUATION = "answer_evaluation"
    # End the session for everyone.
    END = "end"
    # Allow the observers to see the observation figures.
    GRANT = "grant"


_LEADING: Final = frozenset(
    {
        Permission.PUBLISH,
        Permission.PRESENT,
        Permission.ADMIT,
        Permission.MODERATE,
        Permission.STAGE,
        Permission.FLOOR,
        Permission.OBSERVE_NOTES,
        Permission.OBSERVE_FIGURES,
        Permission.EVALUATION,
        Permission.END,
        Permission.GRANT,
    }
)

# What each role may do in the room. A co-counselor leads like the owner; only deleting or
# editing the stored session is the owner's, and that is checked by the dashboard, not here.
ROLE_PERMISSIONS: Final[dict[Role, frozenset[Permission]]] = {
    Role.LEADER: _LEADING,
    Role.CO_LEADER: _LEADING,
    Role.OBSERVER: frozenset({Permission.OBSERVE_NOTES}),
    Role.MEMBER: frozenset({Permission.PUBLISH, Permission.ANSWER_EVALUATION}),
}

# Granted to observers while the leader allows it.
OBSERVER_GRANT: Final = frozenset({Permission.OBSERVE_FIGURES})

# The permission each client message needs; None: anyone in the room (or, for the lobby's
# messages, anyone present). Every message type has an entry (tests/server/live/
# test_permissions.py), so a new message cannot slip through unchecked.
REQUIRED: Final[dict[type[p.ClientMessage], Permission | None]] = {
    p.Answer: None,
    p.Ping: None,
    p.Pong: None,
    p.Leave: None,
    p.Receive: None,
    p.View: None,
    p.Chat: None,
    p.Hand: Permission.PUBLISH,
    p.TalkRequest: Permission.PUBLISH,
    p.UnmuteReply: Permission.PUBLISH,
    p.Microphone: Permission.PUBLISH,
    p.Camera: Permission.PUBLISH,
    p.Screen: Permission.PUBLISH,
    p.EvaluationAnswer: Permission.ANSWER_EVALUATION,
    p.Admit: Permission.ADMIT,
    p.AdmitAll: Permission.ADMIT,
    p.Deny: Permission.ADMIT,
    p.DenyAll: Permission.ADMIT,
    p.Lock: Permission.ADMIT,
    p.ToLobby: Permission.MODERATE,
    p.MuteMember: Permission.MODERATE,
    p.MuteAll: Permission.MODERATE,
    p.UnmutePolicy: Permission.MODERATE,
    p.AskUnmute: Permission.MODERATE,
    p.StopCamera: Permission.MODERATE,
    p.ScreenPermission: Permission.MODERATE,
    p.Remove: Permission.MODERATE,
    p.GiveFloor: Permission.FLOOR,
    p.InTurn: Permission.FLOOR,
    p.NextTurn: Permission.FLOOR,
    p.EndFloor: Permission.FLOOR,
    p.Note: Permission.OBSERVE_NOTES,
    p.Evaluation: Permission.EVALUATION,
    p.ObserverFigures: Permission.GRANT,
    p.Stage: Permission.STAGE,
    p.End: Permission.END,
}

# What a participant still in the lobby may send: nothing about the room.
LOBBY_ALLOWED: Final[frozenset[type[p.ClientMessage]]] = frozenset(
    {p.Answer, p.Ping, p.Pong, p.Leave, p.Receive}
)


def role_permissions(role: Role, observers_see_figures: bool = False) -> frozenset[Permission]:
    granted = ROLE_PERMISSIONS[role]
    if role is Role.OBSERVER and observers_see_figures:
        granted = granted | OBSERVER_GRANT
    return granted
