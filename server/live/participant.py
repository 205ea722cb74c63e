"""A person in a live session: who they are, where they are (lobby or room) and their switches.

Everything here lives in memory only and is gone when the session ends.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.live.permissions import ROLE_PERMISSIONS, Permission, Role
from server.live.protocol import ReceiveMode, Status, View
from server.platform.limits import PARTICIPANT_TOKEN_TTL_S


class Presence(StrEnum):
    WAITING = "waiting"  # in the lobby: connected, receives nothing of the room
    ADMITTED = "admitted"
    DENIED = "denied"
    REMOVED = "removed"
    LEFT = "left"


def new_id() -> str:
    return secrets.token_urlsafe(9)


@dataclass
class Participant:
    id: str
    name: str
    role: Role
    presence: Presence
    # The counselor account of someone who leads (None for members and observers): a second
    # entry by the same counselor (another tab) replaces the first, another counselor's does not.
    counselor_id: int | None = None
    # Granted by the session on top of the role's (observers allowed to see the figures).
    granted: frozenset[Permission] = frozenset()
    joined_at: float = field(default_factory=time.time)  # when they (last) entered the lobby
    arrived_at: float = field(default_factory=time.time)  # first arrival, for attendance
    # Short-lived, single use: lets the browser POST its first offer (and one per reconnection).
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    token_expires: float = field(default_factory=lambda: time.monotonic() + PARTICIPANT_TOKEN_TTL_S)
    # Long-lived within the session: lets a dropped participant come back without a new admission.
    resume_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    # --- the connection ---
    peer: Any = None  # rtc.Peer
    # Whether the peer's ``control`` channel was accepted and greeted: messages go out only then
    # (through ``peer.send``; server/ never touches the peer connection itself).
    control_ready: bool = False
    inbox: Any = None  # its server.live.control_channel.ControlInbox
    connected: bool = False
    # The client address it joined from: in memory only (never logged or stored), for the
    # lobby's ceiling per address.
    origin: str = ""
    last_seen: float = field(default_factory=time.monotonic)
    disconnected_at: float | None = None
    offer_outstanding: bool = False
    # The lobby view last sent while waiting (its status and place in the queue), so that it is
    # sent again only when it changes.
    lobby_view: Status | None = None
    # --- switches: what the participant asked for, and what the leader imposed ---
    microphone: bool = False
    muted_by_leader: bool = False
    unmute_granted: bool = False  # under "ask to speak": the leader asked and they accepted
    unmute_asked: bool = False
    camera: bool = False
    camera_stopped_by_leader: bool = False
    screen: bool = False
    can_share: bool = False
    hand_raised_at: float | None = None
    # Data saver: what this participant wants to receive (all, saver, audio only, the leader).
    receive: ReceiveMode = "all"
    # What their page shows of the others' videos (server/live/media_plan.py), once it said.
    view: View | None = None
    # When they last spoke for a while (the last-N order), and since when they speak now.
    last_spoke: float = float("-inf")
    speaking_since: float | None = None
    admitted_at: float | None = None
    left_at: float | None = None
    evaluated: bool = False  # answered the closing evaluation (once each)
    # Brought back from the session's snapshot and not yet greeted since (welcome.restored).
    restored: bool = False

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role] | self.granted

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def leads(self) -> bool:
        """A counselor in the room: the session's owner or a co-counselor."""
        return self.role in (Role.LEADER, Role.CO_LEADER)

    @property
    def is_member(self) -> bool:
        return self.role is Role.MEMBER

    @property
    def is_observer(self) -> bool:
        return self.role is Role.OBSERVER

    @property
    def in_room(self) -> bool:
        return self.presence is Presence.ADMITTED

    @property
    def present(self) -> bool:
        """Still part of the session (in the lobby or the room), connected or within grace."""
        return self.presence in (Presence.WAITING, Presence.ADMITTED)

    def take_token(self, offered: str) -> bool:
        """Check and consume the participant token (single use, time-limited)."""
        if not self.token or time.monotonic() > self.token_expires:
            return False
        if not hmac.compare_digest(self.token.encode(), offered.encode()):
            return False
        self.token = ""
        return True

    def renew_token(self) -> str:
        self.token = secrets.token_urlsafe(24)
        self.token_expires = time.monotonic() + PARTICIPANT_TOKEN_TTL_S
        return self.token

    def resume_matches(self, offered: str) -> bool:
        return bool(self.resume_token) and hmac.compare_digest(
            self.resume_token.encode(), offered.encode()
        )
