"""Coming back after a server restart: signed rejoin tokens (``POST .../rejoin`` is in
server/live/signalling.py).

Live sessions live in memory, so a restart (an upgrade, ``systemctl restart``) forgets who was in
the lobby or the room. Before stopping, the server sends each member a ``status`` ``restarting``
message with a rejoin token: HMAC-SHA256 over the session code, a fresh participant id, the
member's name, whether they were admitted and whether they observe, valid a few minutes, usable
once. The restarted server checks it with the same installation secret (``secret.key``) and
puts the member back: in the room if they were admitted, else in the lobby, without asking
their consent or the session password again (they gave both before). A counselor comes back
with their login cookie through ``/lead``.

The session itself comes back from its snapshot (server/live/snapshot.py), written after every
change: the first rejoin or lead reopens it as it was, and each member takes back their own place
(the token names it). Without a snapshot (none was written, or the session had ended) a rejoin
answers ``session_not_open`` until the counselor reopens it, and the client tries again.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field

from server.live.participant import Participant
from server.live.permissions import Role
from server.live.session import LiveSession
from server.platform.errors import ErrorId, LingkarError

# A restart (package upgrade, reboot of a small server) takes seconds to a couple of minutes;
# a token much older than that belongs to a session people have given up on.
REJOIN_TOKEN_TTL_S = 600
_PURPOSE = b"lingkar rejoin token v1"


@dataclass(frozen=True)
class RejoinClaim:
    code: str
    name: str
    admitted: bool
    observer: bool
    expires: int
    nonce: str
    # The participant id the token was minted for ("" in tokens from before it was carried).
    person: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class RejoinTokens:
    """Mints and checks rejoin tokens; remembers the used ones until they expire."""

    secret: bytes
    _used: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A key of its own, derived from the installation secret: a rejoin token can never be
        # mistaken for, or help forge, a login cookie.
        self._key = hmac.new(self.secret, _PURPOSE, hashlib.sha256).digest()

    def mint(self, live: LiveSession, person: Participant, now: float | None = None) -> str:
        claim = {
            "c": live.code,
            "p": person.id,
            "n": person.name,
            "a": person.in_room,
            "o": person.is_observer,
            "e": int(time.time() if now is None else now) + REJOIN_TOKEN_TTL_S,
            "j": secrets.token_urlsafe(12),
        }
        body = _b64(json.dumps(claim, separators=(",", ":")).encode("utf-8"))
        return f"{body}.{self._sign(body)}"

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode("ascii"), hashlib.sha256).digest())

    def check(self, token: str, code: str, now: float | None = None) -> RejoinClaim:
        """The claim of a valid, unexpired, unused token for this session; else unauthorized."""
        refused = LingkarError(ErrorId.UNAUTHORIZED, "this rejoin token is not valid (any more)")
        body, dot, signature = token.partition(".")
        if not dot or not hmac.compare_digest(self._sign(body), signature):
            raise refused
        try:
            raw = json.loads(_unb64(body))
            claim = RejoinClaim(
                code=str(raw["c"]),
                name=str(raw["n"]),
                admitted=raw["a"] is True,
                observer=raw.get("o") is True,
                expires=int(raw["e"]),
                nonce=str(raw["j"]),
                person=str(raw.get("p", "")),
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            raise refused from None
        moment = time.time() if now is None else now
        self._forget_expired(moment)
        if claim.code != code or claim.expires < moment or claim.nonce in self._used:
            raise refused
        return claim

    def spend(self, claim: RejoinClaim) -> None:
        self._used[claim.nonce] = claim.expires

    def remember(self, spent: dict[str, float]) -> None:
        """Nonces spent before this process started (a restored session's snapshot)."""
        for nonce, expires in spent.items():
            self._used[nonce] = max(expires, self._used.get(nonce, expires))

    def _forget_expired(self, now: float) -> None:
        for nonce in [n for n, expires in self._used.items() if expires < now]:
            del self._used[nonce]


def restore_member(live: LiveSession, claim: RejoinClaim) -> Participant:
    """Put a member back. When the session knows them (it was restored from its snapshot, see
    server/live/snapshot.py), they take their own place again, as it was: lobby or room,
    switches, figures. A place that is no longer theirs (removed, denied, left, or somebody is
    connected in it) is refused. When the session does not know them (it started afresh), the
    token says where they were, and the lobby's rules (capacity, name) apply again."""
    known = live.participants.get(claim.person) if claim.person else None
    if known is not None:
        if not known.present or known.connected or known.name != claim.name:
            raise LingkarError(ErrorId.UNAUTHORIZED, "this place in the session has expired")
        known.renew_token()
        known.resume_token = secrets.token_urlsafe(24)
        # The grace period starts again: the new connection has its time to come up.
        known.last_seen = known.disconnected_at = time.monotonic()
        return known
    person = live.add_member(claim.name, Role.OBSERVER if claim.observer else Role.MEMBER)
    if claim.admitted:
        # A counselor admitted them before the restart; asking again would only interrupt.
        # The same admission as a counselor's: the room's size counts, attendance records it.
        # If the room filled up meanwhile, they wait in the lobby, as any newcomer.
        with contextlib.suppress(LingkarError):
            live.admit([person])
    return person
