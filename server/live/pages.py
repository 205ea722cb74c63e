"""The live session's pages: a member's join page and the leader's room.

Both are shells: the page's ES modules (web/static/js/) speak the protocol of docs/protocol.md.
"""

from __future__ import annotations

from aiohttp import web

from server.accounts.auth import require_counselor
from server.db.database import DATABASE
from server.platform.pages import error_page, render_page
from server.sessions.code_guard import TooManyGuesses, session_by_code
from server.sessions.store import GuidanceSession
from server.sessions.team import is_co_leader


async def _stored(request: web.Request) -> GuidanceSession:
    try:
        stored = await session_by_code(request, request.match_info["code"])
    except TooManyGuesses as exc:
        refusal = error_page(request, web.HTTPTooManyRequests, "home.join.too_many")
        refusal.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        raise refusal from None
    if stored is None:
        raise error_page(request, web.HTTPNotFound, "home.join.unknown")
    if stored.code != request.match_info["code"]:
        # A typed variant (lowercase, no dash): the page and its API calls use the canonical code.
        suffix = request.path.split("/", 3)[3:]
        raise web.HTTPSeeOther(location="/".join(["", "s", stored.code, *suffix]))
    return stored


async def _join_page(request: web.Request, observer: bool) -> web.Response:
    stored = await _stored(request)
    protected = stored.observer_password_hash is not None if observer else stored.has_password
    return render_page(
        request,
        "join.html",
        session_code=stored.code,
        session_title=stored.title,
        session_status=stored.status,
        has_password=protected,
        observer=observer,
    )


async def join_page(request: web.Request) -> web.Response:
    return await _join_page(request, observer=False)


async def observe_page(request: web.Request) -> web.Response:
    """The observers' link: the same steps without a camera or microphone, their own consent."""
    return await _join_page(request, observer=True)


async def lead_page(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    stored = await _stored(request)
    if stored.counselor_id != counselor.id and not await is_co_leader(
        request.app[DATABASE], stored.id, counselor.id
    ):
        raise web.HTTPNotFound()
    return render_page(
        request,
        "lead.html",
        session_id=stored.id,
        session_code=stored.code,
        session_title=stored.title,
        session_status=stored.status,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/s/{code}", join_page, name="join_page")
    app.router.add_get("/s/{code}/lead", lead_page, name="lead_page")
    app.router.add_get("/s/{code}/observe", observe_page, name="observe_page")
