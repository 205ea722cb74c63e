"""Time-limited TURN credentials from coturn's shared secret, and the ICE servers we hand out.

The TURN REST API scheme (draft-uberti-behave-turn-rest-00, section 2.2, as coturn implements
it with ``use-auth-secret`` and ``static-auth-secret``): the username is
``"<expiry unix time>:<opaque id>"`` and the password is ``base64(HMAC-SHA1(secret, username))``.
coturn recomputes the password from the username and refuses an expired timestamp, so no
account lives in coturn and a leaked credential is useless within minutes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from aiortc import RTCIceServer

from server.platform.settings import Settings

# Long enough to set up the connection (and one reconnection), short enough that a credential
# copied out of a browser stops working soon. Browsers keep an allocation they already have;
# a reconnection asks the server (resume, rejoin) and gets fresh ones.
TURN_CREDENTIAL_TTL_S = 600


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def mint_credential(
    secret: str, *, ttl_s: int = TURN_CREDENTIAL_TTL_S, now: float | None = None
) -> TurnCredential:
    """A credential valid ``ttl_s`` seconds; the opaque part is random (never a name)."""
    expires = int(time.time() if now is None else now) + ttl_s
    username = f"{expires}:{secrets.token_urlsafe(9)}"
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return TurnCredential(username, base64.b64encode(digest).decode("ascii"), expires)


def _is_turn(url: str) -> bool:
    return url.split(":", 1)[0].lower() in {"turn", "turns"}


def client_ice_servers(settings: Settings, now: float | None = None) -> list[dict[str, object]]:
    """RTCIceServer dictionaries for a browser: STUN as is, TURN with a fresh credential."""
    stun = [url for url in settings.ice_servers if not _is_turn(url)]
    turn = [url for url in settings.ice_servers if _is_turn(url)]
    servers: list[dict[str, object]] = []
    if stun:
        servers.append({"urls": stun})
    if turn and settings.turn_secret is not None:
        cred = mint_credential(settings.turn_secret, now=now)
        servers.append({"urls": turn, "username": cred.username, "credential": cred.credential})
    return servers


def server_ice_servers(settings: Settings) -> list[RTCIceServer]:
    """What the server's own side of each peer connection uses: the STUN servers only.

    The server must be reachable on its media ports anyway (students' relayed candidates reach
    its host candidates); relaying its side too would double coturn's load, and a credential
    minted for a Room that lives for hours would expire under it.
    """
    stun = [url for url in settings.ice_servers if not _is_turn(url)]
    return [RTCIceServer(urls=stun)] if stun else []
