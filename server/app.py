"""The aiohttp application: its state keys, middlewares and routes."""

from __future__ import annotations

import time

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server import __version__
from server.accounts import login
from server.accounts.auth import setup_login_cookies
from server.counseling import template_pages
from server.db.database import database_context
from server.keys import CATALOGUES, JOIN_LIMITS, LOGIN_LIMITS, SETTINGS, STARTED_AT
from server.live import pages as live_pages
from server.live import rejoin, signalling
from server.live.registry import live_sessions_context
from server.live.signalling import api_errors
from server.metrics import setup_metrics
from server.platform.health import healthz
from server.platform.i18n import Catalogues
from server.platform.limits import (
    JOIN_PASSWORD_FAILURES,
    JOIN_PASSWORD_WINDOW_S,
    MAX_HTTP_BODY_BYTES,
)
from server.platform.pages import index
from server.platform.proxies import trusted_proxies_middleware
from server.platform.ratelimit import KeyedRateLimiter, LoginLimits
from server.platform.security import security_headers
from server.platform.settings import Settings
from server.records import report_pages
from server.records.retention import retention_context
from server.sessions import dashboard
from server.sessions.home import join_with_code
from web import CATALOGUE_DIR, STATIC_DIR, TEMPLATES_DIR


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        # The proxy middleware first: every later one (and the rate limits) sees the client.
        middlewares=[trusted_proxies_middleware(settings), security_headers, api_errors],
        client_max_size=MAX_HTTP_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[CATALOGUES] = Catalogues.load(CATALOGUE_DIR)
    app[STARTED_AT] = time.monotonic()
    app[LOGIN_LIMITS] = LoginLimits()
    # Migrates the database, then keeps its engine open for the app's lifetime (app[DATABASE]).
    app.cleanup_ctx.append(database_context)
    # Deletes ended sessions' personal data after retention_days (docs/privacy.md).
    app.cleanup_ctx.append(retention_context)
    app.cleanup_ctx.append(live_sessions_context)
    app[JOIN_LIMITS] = KeyedRateLimiter(JOIN_PASSWORD_FAILURES, JOIN_PASSWORD_WINDOW_S)
    setup_login_cookies(app, settings)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env = aiohttp_jinja2.get_env(app)
    app.router.add_get("/", index, name="index")
    app.router.add_get("/healthz", healthz, name="healthz")
    app.router.add_get("/join", join_with_code, name="join")
    app.router.add_get("/login", login.login_form, name="login")
    app.router.add_post("/login", login.login_submit)
    app.router.add_post("/logout", login.logout, name="logout")
    app.router.add_get("/logout", login.logout_get)
    dashboard.add_routes(app)
    template_pages.add_routes(app)
    report_pages.add_routes(app)
    signalling.add_routes(app)
    rejoin.add_routes(app)
    setup_metrics(app)
    live_pages.add_routes(app)
    static = app.router.add_static("/static", STATIC_DIR, name="static", append_version=True)

    def static_url(filename: str) -> str:
        # append_version adds ?v=<content hash>, so a changed file is never served stale.
        return str(static.url_for(filename=filename))

    env.globals.update(version=__version__, static=static_url)
    return app
