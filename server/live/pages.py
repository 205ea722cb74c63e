"""The live session's pages: a member's join page and the leader's room.

Both are shells: the page's ES modules (web/static/js/) speak the protocol of docs/protocol.md.
"""

from __future__ import annotations

from aiohttp import web

from server.accounts.auth import require_counselor
from server.db.database import DATABASE
from server.platform.pages import error_page, render_page
from server.sessions.codes import normalize_code
from server.sessions.store import GuidanceSession, get_session_by_code


async def _record(request: web.Request) -> GuidanceSession:
    code = normalize_code(request.match_info["code"])
    record = None if code is None else await get_session_by_code(request.app[DATABASE], code)
    if record is None:
        raise error_page(request, web.HTTPNotFound, "home.join.unknown")
    if record.code != request.match_info["code"]:
        # A typed variant (lowercase, no dash): the page and its API calls use the canonical code.
        suffix = request.path.split("/", 3)[3:]
        raise web.HTTPSeeOther(location="/".join(["", "s", record.code, *suffix]))
    return record


async def join_page(request: web.Request) -> web.Response:
    record = await _record(request)
    return render_page(
        request,
        "join.html",
        session_code=record.code,
        session_title=record.title,
        session_status=record.status,
        has_password=record.has_password,
    )


async def lead_page(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    record = await _record(request)
    if record.counselor_id != counselor.id:
        raise web.HTTPNotFound()
    return render_page(
        request,
        "lead.html",
        session_id=record.id,
        session_code=record.code,
        session_title=record.title,
        session_status=record.status,
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/s/{code}", join_page, name="join_page")
    app.router.add_get("/s/{code}/lead", lead_page, name="lead_page")
