"""The home page's "join with a code" form: GET /join?code=... leads to the session's page."""

from __future__ import annotations

from aiohttp import web

from server.platform.pages import render_page
from server.sessions.code_guard import TooManyGuesses, session_by_code
from server.sessions.codes import normalize_code


async def join_with_code(request: web.Request) -> web.Response:
    typed = request.query.get("code")
    if typed is None:
        # e.g. the language switch, which replaces the query: just the home page again.
        raise web.HTTPSeeOther(location="/")
    code = normalize_code(typed)
    if code is None:
        return _home_with_error(request, typed, "home.join.malformed", web.HTTPBadRequest)
    try:
        session = await session_by_code(request, code)
    except TooManyGuesses as exc:
        response = _home_with_error(request, typed, "home.join.too_many", web.HTTPTooManyRequests)
        response.headers["Retry-After"] = str(int(exc.retry_after) + 1)
        return response
    if session is None:
        return _home_with_error(request, typed, "home.join.unknown", web.HTTPNotFound)
    # /s/{code} is the live session's page (server/live*.py).
    raise web.HTTPSeeOther(location=f"/s/{session.code}")


def _home_with_error(
    request: web.Request, typed: str, error_key: str, status: type[web.HTTPException]
) -> web.Response:
    response = render_page(request, "index.html", join_code=typed[:40], join_error=error_key)
    response.set_status(status.status_code)
    return response
