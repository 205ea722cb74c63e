"""HTTPS signalling: joining, the leader's entry, resuming, and the first offer and answer.

After the first answer everything goes over the participant's ``control`` data channel.
Every body is size-limited JSON; every refusal is ``{"error": id, "message": text}`` with the
status of server.platform.errors.HTTP_STATUS.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from rtc.ports import media_ports
from server.accounts.auth import current_counselor, request_from_our_pages
from server.db.database import DATABASE
from server.live import protocol as p
from server.live.bodies import (
    B,
    JoinBody,
    LeadBody,
    OfferBody,
    RejoinBody,
    ResumeBody,
    parse_body,
)
from server.live.connection import attach_peer
from server.live.names import name_key
from server.live.participant import Participant
from server.live.permissions import Role
from server.live.registry import LIVE_SESSIONS, REJOIN_TOKENS
from server.live.rejoin import restore_member
from server.live.session import LiveSession
from server.live.turn import client_ice_servers
from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import (
    JOIN_PASSWORD_FAILURES,
    JOIN_PASSWORD_FAILURES_PER_ADDRESS,
    JOIN_PASSWORD_WINDOW_S,
    JOIN_WINDOW_S,
    JOINS_PER_ADDRESS,
    MAX_HTTP_BODY_BYTES,
    MAX_WAITING_PER_ADDRESS,
)
from server.platform.ratelimit import LIMITERS, Limiter
from server.platform.settings import SETTINGS
from server.sessions.code_guard import session_by_code
from server.sessions.store import GuidanceSession, check_session_password, get_session_by_code
from server.sessions.team import check_observer_password, is_co_leader

log = logging.getLogger("lingkar.signalling")


def error_response(exc: LingkarError) -> web.Response:
    return web.json_response(
        {"error": exc.error.value, "message": exc.message}, status=exc.http_status
    )


@web.middleware
async def api_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    """Under /api/, every refusal is the JSON error shape, whatever raised it."""
    if not request.path.startswith("/api/"):
        response: web.StreamResponse = await handler(request)
        return response
    try:
        response = await handler(request)
        return response
    except LingkarError as exc:
        return error_response(exc)
    except web.HTTPRequestEntityTooLarge:
        return error_response(LingkarError(ErrorId.TOO_LARGE, "the request body is too large"))
    except web.HTTPNotFound:
        return error_response(LingkarError(ErrorId.NOT_FOUND, "no such resource"))
    except web.HTTPMethodNotAllowed:
        return error_response(LingkarError(ErrorId.MALFORMED, "method not allowed"))


# Wrong session passwords per session, client address and name typed; and per session and
# client address.
JOIN_LIMITS: web.AppKey[Limiter] = web.AppKey("join_limits")
JOIN_PASSWORD_ADDRESS_LIMITS: web.AppKey[Limiter] = web.AppKey("join_password_address_limits")
# Joins per session and client address.
JOIN_ATTEMPTS: web.AppKey[Limiter] = web.AppKey("join_attempts")


async def read_body(request: web.Request, kind: type[B]) -> B:
    """The request's body as ``kind`` (server/live/bodies.py): from our own pages only, JSON,
    at most MAX_HTTP_BODY_BYTES."""
    if not request_from_our_pages(request):
        raise LingkarError(ErrorId.FORBIDDEN, "cross-origin requests are refused")
    if request.content_type != "application/json":
        raise LingkarError(ErrorId.MALFORMED, "send JSON (Content-Type: application/json)")
    if request.content_length is not None and request.content_length > MAX_HTTP_BODY_BYTES:
        raise LingkarError(ErrorId.TOO_LARGE, f"at most {MAX_HTTP_BODY_BYTES} bytes")
    raw = await request.content.read(MAX_HTTP_BODY_BYTES + 1)
    if len(raw) > MAX_HTTP_BODY_BYTES:
        raise LingkarError(ErrorId.TOO_LARGE, f"at most {MAX_HTTP_BODY_BYTES} bytes")
    return parse_body(raw, kind)


def _live(request: web.Request) -> LiveSession:
    code = request.match_info["code"]
    live = request.app[LIVE_SESSIONS].get(code)
    if live is None or live.ended:
        raise LingkarError(
            ErrorId.SESSION_NOT_OPEN, "the counselor has not opened this session yet"
        )
    return live


def _client_address(request: web.Request) -> str:
    return request.remote or "unknown"


def _entry(request: web.Request, live: LiveSession, person: Participant) -> web.Response:
    return web.json_response(
        {
            # Fresh, time-limited TURN credentials with every entry (server/live/turn.py).
            "ice_servers": client_ice_servers(request.app[SETTINGS]),
            "protocol": p.PROTOCOL_VERSION,
            "participant": person.id,
            "token": person.token,
            "resume_token": person.resume_token,
            "role": person.role.value,
            "status": person.presence.value,
            "title": live.title,
        },
        headers={"Cache-Control": "no-store"},
    )


async def _check_password(
    request: web.Request,
    stored: GuidanceSession,
    address: str,
    name: object,
    password: str,
    role: Role = Role.MEMBER,
) -> None:
    """Wrong passwords are counted per name typed and per address (server/platform/limits.py):
    one student's mistakes pause that student, not the class behind the same NAT."""
    per_name = request.app[JOIN_LIMITS]
    per_address = request.app[JOIN_PASSWORD_ADDRESS_LIMITS]
    who = f"{stored.id}:{address}:{name_key(name[:80]) if isinstance(name, str) else ''}"
    where = f"{stored.id}:{address}"
    if not (await per_name.would_allow(who) and await per_address.would_allow(where)):
        raise LingkarError(ErrorId.RATE_LIMITED, "too many wrong passwords; wait a while")
    if role is Role.OBSERVER:
        right = await check_observer_password(stored, password)
    else:
        right = await check_session_password(stored, password)
    if not right:
        await per_name.allow(who)  # counts the failure
        await per_address.allow(where)
        raise LingkarError(ErrorId.WRONG_PASSWORD, "the session password is not right")


async def join(request: web.Request) -> web.Response:
    """A member asks to enter: name, consent, password when set. They land in the lobby."""
    return await _enter_lobby(request, Role.MEMBER)


async def observe(request: web.Request) -> web.Response:
    """An observer asks to enter, on the observer link: name, consent, the observers' password
    when the counselor set one. They wait in the lobby like everyone, and are named in the
    room; the server never forwards anything of theirs."""
    return await _enter_lobby(request, Role.OBSERVER)


async def _enter_lobby(request: web.Request, role: Role) -> web.Response:
    body = await read_body(request, JoinBody)
    stored = await session_by_code(request, request.match_info["code"])
    if stored is None:
        raise LingkarError(ErrorId.NOT_FOUND, "no session has this code")
    live = _live(request)
    address = _client_address(request)
    if not await request.app[JOIN_ATTEMPTS].allow(f"{stored.id}:{address}"):
        raise LingkarError(ErrorId.RATE_LIMITED, "too many joins from this connection; wait")
    if sum(1 for x in live.waiting() if x.origin == address) >= MAX_WAITING_PER_ADDRESS:
        raise LingkarError(ErrorId.RATE_LIMITED, "too many people waiting from this connection")
    protected = (
        stored.observer_password_hash is not None if role is Role.OBSERVER else stored.has_password
    )
    if protected:
        await _check_password(request, stored, address, body.name, body.password, role)
    person = live.add_member(body.name, role)
    person.origin = address
    return _entry(request, live, person)


async def lead(request: web.Request) -> web.Response:
    """The session's counselor, or a co-counselor, enters and leads; the session opens."""
    await read_body(request, LeadBody)
    counselor = await current_counselor(request)
    if counselor is None:
        raise LingkarError(ErrorId.UNAUTHORIZED, "log in as the session's counselor")
    db = request.app[DATABASE]
    stored = await get_session_by_code(db, request.match_info["code"])
    role = None
    if stored is not None and stored.counselor_id == counselor.id:
        role = Role.LEADER
    elif stored is not None and await is_co_leader(db, stored.id, counselor.id):
        role = Role.CO_LEADER
    if stored is None or role is None:
        raise LingkarError(ErrorId.NOT_FOUND, "no session of yours has this code")
    if stored.status == "ended":
        raise LingkarError(ErrorId.SESSION_NOT_OPEN, "this session has ended")
    live = await request.app[LIVE_SESSIONS].open(stored)
    person = live.add_leader(counselor.display_name, counselor.id, role)
    live.apply()
    return _entry(request, live, person)


async def resume(request: web.Request) -> web.Response:
    """Come back after a dropped connection, within the grace period, without a new admission."""
    body = await read_body(request, ResumeBody)
    live = _live(request)
    person = live.participants.get(body.participant)
    if person is None or not person.present or not person.resume_matches(body.resume_token):
        raise LingkarError(ErrorId.UNAUTHORIZED, "this place in the session has expired")
    person.renew_token()
    return _entry(request, live, person)


async def offer(request: web.Request) -> web.Response:
    """The browser's first offer (and one after each reconnection), with the participant token."""
    body = await read_body(request, OfferBody)
    live = _live(request)
    person = live.participants.get(request.match_info["participant"])
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if person is None or not person.present or scheme != "Bearer" or not person.take_token(token):
        raise LingkarError(ErrorId.UNAUTHORIZED, "missing, wrong or expired participant token")
    # The server's side of this connection gathers its sockets here: in the media port range.
    with media_ports(*request.app[SETTINGS].media_ports):
        answer = await attach_peer(live, person, body.sdp)
    return web.json_response(
        {"type": "answer", "sdp": answer}, headers={"Cache-Control": "no-store"}
    )


async def rejoin(request: web.Request) -> web.Response:
    """A member comes back after a restart, or after the process that hosted the session died,
    with the last rejoin token the server gave."""
    body = await read_body(request, RejoinBody)
    tokens = request.app[REJOIN_TOKENS]
    code = request.match_info["code"]
    claim = tokens.check(body.rejoin_token, code)
    # A session this process does not hold comes back from its snapshot (its process died);
    # without one, session_not_open until the leader is back: the client retries.
    await request.app[LIVE_SESSIONS].reopen(code)
    live = _live(request)
    person = restore_member(live, claim)
    tokens.spend(claim)
    live.spent_rejoins[claim.nonce] = claim.expires
    live.changed()
    return _entry(request, live, person)


def add_routes(app: web.Application) -> None:
    make = app[LIMITERS]
    app[JOIN_LIMITS] = make("join_passwords", JOIN_PASSWORD_FAILURES, JOIN_PASSWORD_WINDOW_S)
    app[JOIN_PASSWORD_ADDRESS_LIMITS] = make(
        "join_passwords_address", JOIN_PASSWORD_FAILURES_PER_ADDRESS, JOIN_PASSWORD_WINDOW_S
    )
    app[JOIN_ATTEMPTS] = make("joins", JOINS_PER_ADDRESS, JOIN_WINDOW_S)
    app.router.add_post("/api/sessions/{code}/rejoin", rejoin)
    app.router.add_post("/api/sessions/{code}/join", join)
    app.router.add_post("/api/sessions/{code}/observe", observe)
    app.router.add_post("/api/sessions/{code}/lead", lead)
    app.router.add_post("/api/sessions/{code}/resume", resume)
    app.router.add_post("/api/sessions/{code}/participants/{participant}/offer", offer)
