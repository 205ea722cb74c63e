"""A live session's state as plain data, and back: what a restarted worker (or server) needs to
put a session back as it was after its process died.

What is kept: the stage and its rules of the moment (policy, lock, the floor), the observers'
grant, the evaluation (its state and the answers so far), and every person with their place
(lobby or room), their switches (microphone, camera, the counselor's mute, hand, sharing), their
participation figures and the rejoin tokens already spent. What is not: connections and tokens
(everyone comes back through the rejoin or lead path), the chat (it never leaves memory).

Times in the snapshot are wall-clock seconds (``time.time``) or "seconds ago" for the monotonic
ones, so that another process can rebuild them.
"""

from __future__ import annotations

import time
from typing import Any

from server.live import protocol as p
from server.live.floor import Floor
from server.live.observation import Participation
from server.live.participant import Participant, Presence
from server.live.permissions import OBSERVER_GRANT, Role
from server.live.session import LiveSession

VERSION = 1
# The snapshot of a session that stopped longer ago than this does not bring its people back:
# their rejoin tokens have expired (server/live/rejoin.py's REJOIN_TOKEN_TTL_S).
PEOPLE_KEPT_S = 600.0

_SWITCHES = (
    "microphone",
    "muted_by_leader",
    "unmute_granted",
    "camera",
    "camera_stopped_by_leader",
    "screen",
    "can_share",
    "evaluated",
)
_FIGURES = ("speaking_seconds", "turns", "hands", "chats", "present_seconds")


def capture(live: LiveSession, spent: dict[str, float]) -> dict[str, Any]:
    """The session's state now; ``spent``: the rejoin token nonces used in it (and until when
    they would have been valid)."""
    now_wall, now = time.time(), time.monotonic()
    floor = live.floor
    return {
        "v": VERSION,
        "session": live.session_id,
        "code": live.code,
        "saved_at": now_wall,
        "stage": live.stage_index,
        "stage_for_s": now - live.stage_started,
        "policy": live.policy,
        "locked": live.locked,
        "queue_while_locked": live.queue_while_locked,
        "observers_see_figures": live.observers_see_figures,
        "evaluation_open": live.evaluation_open,
        "evaluation_answers": [_answer(x) for x in live.evaluation_answers],
        "floor": None
        if floor is None
        else {
            "holder": floor.holder,
            "left_s": None if floor.ends_at is None else floor.ends_at - now,
            "seconds_each": floor.seconds_each,
            "queue": list(floor.queue),
            "in_turn": floor.in_turn,
        },
        "people": [_person(x, now) for x in live.participants.values()],
        "figures": {
            pid: {k: getattr(f, k) for k in _FIGURES} for pid, f in live.participation.items()
        },
        "spent": dict(spent),
    }


def _answer(answer: p.EvaluationAnswerOut) -> dict[str, Any]:
    return {f: getattr(answer, f) for f in answer.__struct_fields__}


def _person(x: Participant, now: float) -> dict[str, Any]:
    return {
        "id": x.id,
        "name": x.name,
        "role": x.role.value,
        "presence": x.presence.value,
        "counselor": x.counselor_id,
        "joined_at": x.joined_at,
        "arrived_at": x.arrived_at,
        "admitted_at": x.admitted_at,
        "left_at": x.left_at,
        "receive": x.receive,
        "hand_s": None if x.hand_raised_at is None else now - x.hand_raised_at,
        **{k: getattr(x, k) for k in _SWITCHES},
    }


def restore(live: LiveSession, data: dict[str, Any]) -> dict[str, float]:
    """Put ``data`` (from :func:`capture`, for this session) into a freshly opened ``live``;
    returns the spent rejoin nonces. Everyone present comes back as disconnected, within the
    reconnection grace: they rejoin (members, observers) or lead again (counselors)."""
    if data.get("v") != VERSION or data.get("session") != live.session_id:
        raise ValueError("not a snapshot of this session")
    now_wall, now = time.time(), time.monotonic()
    stage = int(data["stage"])
    if 0 <= stage < len(live.stages):
        live.stage_index = stage
        live.preset = live.stages[stage].preset
        live.stage_started = now - float(data["stage_for_s"])
    live.policy = data["policy"]
    live.locked = bool(data["locked"])
    live.queue_while_locked = bool(data["queue_while_locked"])
    live.observers_see_figures = bool(data["observers_see_figures"])
    live.evaluation_open = bool(data["evaluation_open"])
    live.evaluation_answers = [p.EvaluationAnswerOut(**x) for x in data["evaluation_answers"]]
    recent = now_wall - float(data["saved_at"]) <= PEOPLE_KEPT_S
    for raw in data["people"]:
        person = _revive(raw, now, live.observers_see_figures)
        if not recent and person.present:
            person.presence = Presence.LEFT
            person.left_at = float(data["saved_at"])
        live.participants[person.id] = person
    for pid, raw in data["figures"].items():
        figures = Participation()
        for key in _FIGURES:
            setattr(figures, key, raw[key])
        live.participation[pid] = figures
    floor = data["floor"]
    if floor is not None and recent and floor["holder"] in live.participants:
        left = floor["left_s"]
        live.floor = Floor(
            holder=floor["holder"],
            ends_at=None if left is None else now + max(0.0, float(left)),
            seconds_each=int(floor["seconds_each"]),
            queue=[str(x) for x in floor["queue"]],
            in_turn=bool(floor["in_turn"]),
        )
    return {str(k): float(v) for k, v in data["spent"].items() if float(v) >= now_wall}


def _revive(raw: dict[str, Any], now: float, observers_see_figures: bool) -> Participant:
    role = Role(raw["role"])
    person = Participant(
        id=str(raw["id"]),
        name=str(raw["name"]),
        role=role,
        presence=Presence(raw["presence"]),
        counselor_id=raw["counselor"],
        joined_at=float(raw["joined_at"]),
        arrived_at=float(raw["arrived_at"]),
    )
    person.admitted_at = raw["admitted_at"]
    person.left_at = raw["left_at"]
    person.receive = raw["receive"]
    person.hand_raised_at = None if raw["hand_s"] is None else now - float(raw["hand_s"])
    for key in _SWITCHES:
        setattr(person, key, bool(raw[key]))
    if role is Role.OBSERVER and observers_see_figures:
        person.granted = OBSERVER_GRANT
    # No connection, no token: the way back is a rejoin token (or a counselor's login), within
    # the reconnection grace like any dropped connection.
    person.token = ""
    person.resume_token = ""
    person.connected = False
    person.disconnected_at = now
    person.restored = True
    return person
