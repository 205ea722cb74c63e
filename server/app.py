"""The aiohttp application: its middlewares, its parts' state and routes (each part declares
its own ``web.AppKey`` beside the code that makes the value)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server import __version__
from server.accounts import login
from server.accounts.auth import setup_login_cookies
from server.counseling import template_pages
from server.db.database import database_context
from server.live import pages as live_pages
from server.live import signalling
from server.live.registry import SNAPSHOTS, live_sessions_context
from server.live.signalling import api_errors
from server.live.snapshot_store import RedisBackend, SnapshotStore
from server.metrics import setup_metrics
from server.platform.health import setup_health
from server.platform.i18n import setup_catalogues
from server.platform.limits import MAX_HTTP_BODY_BYTES
from server.platform.notes_key import load_or_create_notes_key
from server.platform.pages import index
from server.platform.proxies import trusted_proxies_middleware
from server.platform.ratelimit import LIMITERS, local_limiters
from server.platform.security import security_headers
from server.platform.settings import SETTINGS, Settings
from server.platform.shared_limits import open_redis, shared_limiters
from server.records import report_pages
from server.records.retention import retention_context
from server.sessions import dashboard, team_pages
from server.sessions.code_guard import setup_code_guard
from server.sessions.home import join_with_code
from web import CATALOGUE_DIR, STATIC_DIR, TEMPLATES_DIR

Middleware = Callable[..., Awaitable[Any]]


def create_app(settings: Settings, first_middleware: Middleware | None = None) -> web.Application:
    """``first_middleware``: how the client's address is known (a session worker's: from its
    supervisor, server/workers/worker.py); by default, from the trusted proxies' headers."""
    client = first_middleware or trusted_proxies_middleware(settings)
    app = web.Application(
        # The client's address first: every later middleware (and the rate limits) sees it.
        middlewares=[client, security_headers, api_errors],
        client_max_size=MAX_HTTP_BODY_BYTES,
    )
    app[SETTINGS] = settings
    app[LIMITERS] = local_limiters
    if settings.redis_url is not None:
        # A cluster node: its limits and its live sessions' snapshots are the cluster's, in Redis.
        client = open_redis(settings.redis_url)
        app[LIMITERS] = shared_limiters(client)
        app[SNAPSHOTS] = SnapshotStore(RedisBackend(client), load_or_create_notes_key(settings))

        async def close_redis(app: web.Application) -> None:
            await client.aclose()

        app.on_cleanup.append(close_redis)
    setup_catalogues(app, CATALOGUE_DIR)
    # Migrates the database, then keeps its engine open for the app's lifetime (app[DATABASE]).
    app.cleanup_ctx.append(database_context)
    # Deletes ended sessions' personal data after retention_days (docs/privacy.md).
    app.cleanup_ctx.append(retention_context)
    app.cleanup_ctx.append(live_sessions_context)
    setup_login_cookies(app, settings)
    setup_code_guard(app)
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env = aiohttp_jinja2.get_env(app)
    app.router.add_get("/", index, name="index")
    setup_health(app)
    app.router.add_get("/join", join_with_code, name="join")
    login.add_routes(app)
    dashboard.add_routes(app)
    team_pages.add_routes(app)
    template_pages.add_routes(app)
    report_pages.add_routes(app)
    signalling.add_routes(app)
    setup_metrics(app)
    live_pages.add_routes(app)
    static = app.router.add_static("/static", STATIC_DIR, name="static", append_version=True)

    def static_url(filename: str) -> str:
        # append_version adds ?v=<content hash>, so a changed file is never served stale.
        return str(static.url_for(filename=filename))

    env.globals.update(version=__version__, static=static_url)
    return app
