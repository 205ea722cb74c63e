"""GET/POST /login and POST /logout for counselors (students never log in).

Failed logins are limited per account and per client address (server/platform/ratelimit.py). Nothing
here logs a user name, a password or an address.
"""

from __future__ import annotations

import logging

from aiohttp import web

from server.accounts.auth import (
    checked_form,
    csrf_token,
    current_counselor,
    log_in,
    log_out,
    safe_next,
)
from server.accounts.counselors import authenticate
from server.db.database import DATABASE
from server.db.schema import USERNAME_MAX
from server.platform.pages import render_page
from server.platform.ratelimit import LIMITERS, LoginLimits

log = logging.getLogger("lingkar.login")

# The form's fields are bounded before any work is done on them.
USERNAME_INPUT_MAX = USERNAME_MAX


# Failed-login counters per account and per client address (server/platform/ratelimit.py).
LOGIN_LIMITS = web.AppKey("login_limits", LoginLimits)


async def login_form(request: web.Request) -> web.Response:
    if await current_counselor(request) is not None:
        raise web.HTTPSeeOther(location=safe_next(request.query.get("next")))
    return await _render(request, username="", error=None, status=200)


async def _render(
    request: web.Request, *, username: str, error: str | None, status: int
) -> web.Response:
    response = render_page(
        request,
        "login.html",
        csrf=await csrf_token(request),
        username=username,
        error=error,
        next=safe_next(request.query.get("next")),
    )
    response.set_status(status)
    return response


async def login_submit(request: web.Request) -> web.Response:
    form = await checked_form(request)
    username = form.get("username", "").strip().lower()[: USERNAME_INPUT_MAX + 1]
    password = form.get("password", "")
    limits = request.app[LOGIN_LIMITS]
    address = request.remote or "unknown"
    if await limits.blocked(username, address):
        # An attack shows in the log: the address it comes from (for a firewall rule), never
        # the account tried or a password.
        log.warning("login refused: too many failed attempts from %s", address)
        response = await _render(
            request, username=username, error="login.error.too_many", status=429
        )
        response.headers["Retry-After"] = str(int(await limits.retry_after(username, address)) + 1)
        return response
    counselor = await authenticate(request.app[DATABASE], username, password)
    if counselor is None:
        await limits.failed(username, address)
        log.info("login failed")
        return await _render(request, username=username, error="login.error.wrong", status=401)
    await limits.succeeded(username, address)
    await log_in(request, counselor)
    log.info("login succeeded")
    raise web.HTTPSeeOther(location=safe_next(form.get("next")))


async def logout(request: web.Request) -> web.Response:
    form = await checked_form(request)
    await log_out(request, everywhere=form.get("everywhere") == "1")
    raise web.HTTPSeeOther(location="/")


async def logout_get(request: web.Request) -> web.Response:
    # Logging out changes state, so only a POST with a CSRF token does it.
    raise web.HTTPSeeOther(location="/dashboard")


def add_routes(app: web.Application) -> None:
    app[LOGIN_LIMITS] = LoginLimits(app[LIMITERS])
    app.router.add_get("/login", login_form, name="login")
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout, name="logout")
    app.router.add_get("/logout", logout_get)
