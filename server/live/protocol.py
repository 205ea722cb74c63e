"""The control protocol's messages, one typed struct each: the mirror of docs/protocol.md.

Client messages are parsed in one place (``parse_client_message``): size check, UTF-8 and JSON
decode, validation into exactly one struct by its ``type`` tag. Anything else raises
``LingkarError`` with a stable error id. Server messages are encoded with ``encode``.
Identity and role are never read from a client message: the server stamps them itself.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import (
    MAX_CHAT_CHARS,
    MAX_CONTROL_MESSAGE_BYTES,
    MAX_DENY_MESSAGE_CHARS,
    MAX_EVALUATION_ANSWER_CHARS,
    MAX_NOTE_CHARS,
    MAX_TILE_PIXELS,
    MAX_VIEW_TILES,
)

PROTOCOL_VERSION = 1

ParticipantId = Annotated[
    str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
Sdp = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CONTROL_MESSAGE_BYTES)]
ChatText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CHAT_CHARS)]
DenyText = Annotated[str, msgspec.Meta(max_length=MAX_DENY_MESSAGE_CHARS)]
Nonce = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


class _Client(msgspec.Struct, tag_field="type", forbid_unknown_fields=True):
    """A message a client sends."""


class _Server(msgspec.Struct, tag_field="type"):
    """A message the server sends."""


# --- client to server: anyone admitted -----------------------------------------------------------


class Answer(_Client, tag="answer"):
    sdp: Sdp


class Ping(_Client, tag="ping"):
    nonce: Nonce = 0


class Pong(_Client, tag="pong"):
    nonce: Nonce = 0


class Microphone(_Client, tag="microphone"):
    on: bool


class Camera(_Client, tag="camera"):
    on: bool


class Screen(_Client, tag="screen"):
    on: bool


class Hand(_Client, tag="hand"):
    raised: bool


class Chat(_Client, tag="chat"):
    text: ChatText
    to: Literal["all", "leader"] = "all"


class TalkRequest(_Client, tag="talk_request"):
    pass


class UnmuteReply(_Client, tag="unmute_reply"):
    accept: bool


class Leave(_Client, tag="leave"):
    pass


Answer1000 = Annotated[str, msgspec.Meta(max_length=MAX_EVALUATION_ANSWER_CHARS)]
Rating = Annotated[int, msgspec.Meta(ge=1, le=5)]


class EvaluationAnswer(_Client, tag="evaluation_answer"):
    understanding: Answer1000
    comfort: Answer1000
    action: Answer1000
    rating: Rating
    anonymous: bool = False


# The data saver's modes: "all" (the link decides), "saver" (an hourly data budget, the
# default on phones), "audio_only", and "leader_only" (the leader's audio and video, a screen).
ReceiveMode = Literal["all", "saver", "audio_only", "leader_only"]
Policy = Literal["members_may_unmute", "ask_to_speak"]


class Receive(_Client, tag="receive"):
    mode: ReceiveMode


Pixels = Annotated[int, msgspec.Meta(ge=0, le=MAX_TILE_PIXELS)]


class Tile(msgspec.Struct, forbid_unknown_fields=True):
    """One remote video's tile as the page shows it: in view or not, and its size in device
    pixels (CSS pixels times devicePixelRatio)."""

    participant: ParticipantId
    kind: Literal["video", "screen"]
    visible: bool
    width: Pixels = 0
    height: Pixels = 0


class View(_Client, tag="view"):
    """What the page shows of the others' videos (adaptive stream and last-N)."""

    tiles: Annotated[list[Tile], msgspec.Meta(max_length=MAX_VIEW_TILES)]
    max_videos: Annotated[int, msgspec.Meta(ge=0, le=MAX_VIEW_TILES)] = MAX_VIEW_TILES
    hidden: bool = False


# --- client to server: the leader only -----------------------------------------------------------


class Admit(_Client, tag="admit"):
    participant: ParticipantId


class AdmitAll(_Client, tag="admit_all"):
    pass


class Deny(_Client, tag="deny"):
    participant: ParticipantId
    message: DenyText = ""


class DenyAll(_Client, tag="deny_all"):
    message: DenyText = ""


class Lock(_Client, tag="lock"):
    locked: bool
    queue: bool = False


class ToLobby(_Client, tag="to_lobby"):
    participant: ParticipantId


class MuteMember(_Client, tag="mute_member"):
    participant: ParticipantId


class MuteAll(_Client, tag="mute_all"):
    pass


class UnmutePolicy(_Client, tag="unmute_policy"):
    policy: Literal["members_may_unmute", "ask_to_speak"]


class AskUnmute(_Client, tag="ask_unmute"):
    participant: ParticipantId


class StopCamera(_Client, tag="stop_camera"):
    participant: ParticipantId


class ScreenPermission(_Client, tag="screen_permission"):
    participant: ParticipantId
    allowed: bool


FloorSeconds = Annotated[int, msgspec.Meta(ge=0, le=3600)]


class GiveFloor(_Client, tag="give_floor"):
    participant: ParticipantId
    seconds: FloorSeconds = 0


class InTurn(_Client, tag="in_turn"):
    seconds: FloorSeconds = 0


class NextTurn(_Client, tag="next_turn"):
    pass


class EndFloor(_Client, tag="end_floor"):
    pass


class Ratings(msgspec.Struct, forbid_unknown_fields=True):
    active: Rating | None = None
    respects: Rating | None = None
    serious: Rating | None = None


class Note(_Client, tag="note"):
    participant: ParticipantId
    text: Annotated[str, msgspec.Meta(max_length=MAX_NOTE_CHARS)] = ""
    ratings: Ratings = msgspec.field(default_factory=Ratings)


class Evaluation(_Client, tag="evaluation"):
    open: bool


class ObserverFigures(_Client, tag="observer_figures"):
    """Whether the observers see the observation figures (speaking time, turns, hands)."""

    allowed: bool


class Remove(_Client, tag="remove"):
    participant: ParticipantId


class Stage(_Client, tag="stage"):
    direction: Literal["next", "previous"]


class End(_Client, tag="end"):
    pass


ClientMessage = (
    Answer
    | Ping
    | Pong
    | Microphone
    | Camera
    | Screen
    | Hand
    | Chat
    | TalkRequest
    | UnmuteReply
    | Leave
    | EvaluationAnswer
    | Receive
    | View
    | Admit
    | AdmitAll
    | Deny
    | DenyAll
    | Lock
    | ToLobby
    | MuteMember
    | MuteAll
    | UnmutePolicy
    | AskUnmute
    | StopCamera
    | ScreenPermission
    | GiveFloor
    | InTurn
    | NextTurn
    | EndFloor
    | Note
    | Evaluation
    | ObserverFigures
    | Remove
    | Stage
    | End
)

# --- server to client --------------------------------------------------------------------------


RoleName = Literal["leader", "co_leader", "observer", "member"]
# The permissions of server/live/permissions.py, by name.
PermissionName = Literal[
    "publish",
    "present",
    "admit",
    "moderate",
    "stage",
    "floor",
    "observe_notes",
    "observe_figures",
    "evaluation",
    "answer_evaluation",
    "end",
    "grant",
]


class Person(msgspec.Struct):
    id: str
    name: str
    role: RoleName
    connected: bool = True
    muted: bool = True
    camera: bool = False
    screen: bool = False
    hand: bool = False
    can_share: bool = False


class WaitingPerson(msgspec.Struct):
    id: str
    name: str
    role: RoleName
    waiting_seconds: int
    # Whether their control channel is open; an entry that never connects is gone after 20 s.
    connected: bool


class TrackInfo(msgspec.Struct):
    participant: str
    kind: Literal["audio", "video", "screen"]


class PresetInfo(msgspec.Struct):
    policy: Literal["members_may_unmute", "ask_to_speak"]
    video: bool
    chat: bool
    share: bool


class StageInfo(msgspec.Struct):
    index: int
    count: int
    key: str
    names: dict[str, str]
    guidance: dict[str, str]
    checklist: list[dict[str, str]]
    minutes: int
    elapsed_seconds: int
    preset: PresetInfo


class FloorInfo(msgspec.Struct):
    participant: str
    seconds_left: int | None
    in_turn: bool


class Welcome(_Server, tag="welcome"):
    protocol: int
    id: str
    name: str
    role: RoleName
    title: str
    # What this person may do; the page shows its controls from these, never from the role.
    permissions: list[PermissionName]
    # True once after the session came back from its snapshot (a restart, a worker's death):
    # the chat before that is gone (it never leaves memory), and the page says so.
    restored: bool = False


class Status(_Server, tag="status"):
    status: Literal["waiting", "admitted", "denied", "locked", "removed", "ended", "restarting"]
    message: str = ""
    # With "restarting" only: what POST /api/sessions/{code}/rejoin takes (server/live/rejoin.py).
    rejoin_token: str = ""
    # With "waiting" and "locked": the place in the lobby's queue (1: next); else 0.
    position: int = 0


class RejoinToken(_Server, tag="rejoin_token"):
    """A member's way back if the server stops without a word (a crash, a power cut): a signed
    rejoin token (server/live/rejoin.py), sent on entering, on each admission or return to the
    lobby, and again before it expires."""

    token: str


class Offer(_Server, tag="offer"):
    sdp: str
    tracks: dict[str, TrackInfo]


class Roster(_Server, tag="roster"):
    participants: list[Person]
    hands: list[str]
    locked: bool
    policy: Literal["members_may_unmute", "ask_to_speak"]
    stage: StageInfo | None
    floor: FloorInfo | None


class Waiting(_Server, tag="waiting"):
    participants: list[WaitingPerson]
    locked: bool
    queue: bool


class You(_Server, tag="you"):
    muted: bool
    muted_by_leader: bool
    camera: bool
    camera_stopped_by_leader: bool
    screen: bool
    can_share: bool
    can_unmute: bool
    hand: bool
    receive: ReceiveMode
    floor: bool
    permissions: list[PermissionName]
    # For those who lead: whether the observers see the observation figures.
    observers_see_figures: bool = False


class Activity(_Server, tag="activity"):
    """To everyone who leads: what one of them did (who admitted whom, who changed the stage),
    so that two counselors in one room see each other's actions."""

    by: str
    by_name: str
    action: str
    target: str = ""
    target_name: str = ""


class ChatOut(_Server, tag="chat"):
    sender: str
    name: str
    text: str
    to: Literal["all", "leader"]
    at: float


class TalkRequestOut(_Server, tag="talk_request"):
    participant: str
    name: str


class UnmuteRequest(_Server, tag="unmute_request"):
    pass


class UnmuteReplyOut(_Server, tag="unmute_reply"):
    participant: str
    accept: bool


class Levels(_Server, tag="levels"):
    speaking: list[str]


LinkQuality = Literal["good", "weak", "very_weak", "unknown"]


class MemberObservation(msgspec.Struct):
    id: str
    name: str
    speaking_seconds: float
    turns: int
    hands: int
    chats: int
    present_seconds: float
    # The member's connection now, as the server sees what reaches them.
    link: LinkQuality = "unknown"


class Observation(_Server, tag="observation"):
    members: list[MemberObservation]


class NoteSaved(_Server, tag="note_saved"):
    participant: str


class EvaluationState(_Server, tag="evaluation"):
    open: bool
    answered: bool


class EvaluationAnswerOut(_Server, tag="evaluation_answer"):
    participant: str | None
    name: str | None
    understanding: str
    comfort: str
    action: str
    rating: int


class MediaVideo(msgspec.Struct):
    participant: str
    kind: Literal["video", "screen"]
    # on: forwarded (at width x height); starting: waiting for its first picture; paused: the
    # link cannot take it now (audio goes on); hidden: not shown (off screen, or not among the
    # videos this screen shows); off: nothing to send (camera off, or stopped by the rules).
    state: Literal["on", "starting", "paused", "hidden", "off"]
    width: int = 0
    height: int = 0


class Media(_Server, tag="media"):
    """What reaches this person: their link, their budget, and each of the others' videos."""

    quality: LinkQuality
    estimate_kbps: int
    budget_kbps: int | None
    videos: list[MediaVideo]


class PingOut(_Server, tag="ping"):
    nonce: int


class PongOut(_Server, tag="pong"):
    nonce: int


class Error(_Server, tag="error"):
    error: str
    message: str
    ref: str = ""


ServerMessage = (
    Welcome
    | Status
    | RejoinToken
    | Offer
    | Roster
    | Waiting
    | You
    | ChatOut
    | Activity
    | TalkRequestOut
    | UnmuteRequest
    | UnmuteReplyOut
    | Levels
    | Observation
    | NoteSaved
    | EvaluationState
    | EvaluationAnswerOut
    | Media
    | PingOut
    | PongOut
    | Error
)

_DECODER = msgspec.json.Decoder(ClientMessage)
_ENCODER = msgspec.json.Encoder()


def message_type(message: msgspec.Struct) -> str:
    tag = type(message).__struct_config__.tag
    assert isinstance(tag, str)  # every message class above declares a string tag
    return tag


def client_types() -> set[str]:
    return {str(cls.__struct_config__.tag) for cls in ClientMessage.__args__}


def server_types() -> set[str]:
    return {str(cls.__struct_config__.tag) for cls in ServerMessage.__args__}


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """Size check, decode, validate. Raises LingkarError for anything but one valid message."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > MAX_CONTROL_MESSAGE_BYTES:
        raise LingkarError(
            ErrorId.TOO_LARGE, f"a control message is at most {MAX_CONTROL_MESSAGE_BYTES} bytes"
        )
    try:
        message: ClientMessage = _DECODER.decode(data)
        return message
    except msgspec.ValidationError as exc:
        text = str(exc)
        if text.startswith("Invalid value") and "`$.type`" in text:
            raise LingkarError(ErrorId.UNKNOWN_TYPE, text) from None
        raise LingkarError(ErrorId.MALFORMED, text) from None
    except msgspec.DecodeError as exc:
        raise LingkarError(ErrorId.MALFORMED, f"not a JSON object: {exc}") from None


def encode(message: ServerMessage) -> str:
    return _ENCODER.encode(message).decode("utf-8")
