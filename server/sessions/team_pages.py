"""The session's team on its edit page: add or remove co-counselors, set the observers'
password. Only the session's owner reaches these (another counselor gets 404)."""

from __future__ import annotations

from aiohttp import web

from server.accounts.auth import checked_form, require_counselor
from server.db.database import DATABASE
from server.sessions.dashboard import own_session, render_edit, stored_values
from server.sessions.store import SessionInputError
from server.sessions.team import add_co_leader, remove_co_leader, set_observer_password


def _to_team(session_id: int) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location=f"/dashboard/sessions/{session_id}/edit#team")


async def add(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    form = await checked_form(request)
    username = str(form.get("username", ""))[:200]
    try:
        await add_co_leader(request.app[DATABASE], session, username)
    except SessionInputError as exc:
        values = await stored_values(request, session)
        return await render_edit(
            request,
            session,
            values,
            {},
            400,
            team_errors={"co_leader": exc.error_id},
            team_values={"username": username},
        )
    raise _to_team(session.id)


async def remove(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    await checked_form(request)
    try:
        who = int(request.match_info["counselor"])
    except ValueError:
        raise web.HTTPNotFound() from None
    await remove_co_leader(request.app[DATABASE], session.id, who)
    raise _to_team(session.id)


async def observer_password(request: web.Request) -> web.Response:
    counselor = await require_counselor(request)
    session = await own_session(request, counselor)
    form = await checked_form(request)
    password = str(form.get("password", ""))
    try:
        if form.get("remove"):
            await set_observer_password(request.app[DATABASE], session.id, None)
        elif password:
            await set_observer_password(request.app[DATABASE], session.id, password)
    except SessionInputError as exc:
        values = await stored_values(request, session)
        return await render_edit(
            request, session, values, {}, 400, team_errors={"observer_password": exc.error_id}
        )
    raise _to_team(session.id)


async def to_team(request: web.Request) -> web.Response:
    # A GET on a POST-only address (a reload after an error, the language switch).
    raise _to_team(int(request.match_info["id"]))


def add_routes(app: web.Application) -> None:
    session = "/dashboard/sessions/{id:\\d+}"
    app.router.add_post(f"{session}/co-leaders", add, name="co_leader_add")
    app.router.add_get(f"{session}/co-leaders", to_team)
    app.router.add_post(f"{session}/co-leaders/{{counselor:\\d+}}/remove", remove)
    app.router.add_get(f"{session}/co-leaders/{{counselor:\\d+}}/remove", to_team)
    app.router.add_post(f"{session}/observer-password", observer_password)
    app.router.add_get(f"{session}/observer-password", to_team)
