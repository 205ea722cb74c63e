"""The aiohttp application: its state keys, middlewares and routes."""

from __future__ import annotations

import time

import aiohttp_jinja2
import jinja2
from aiohttp import web

from server import __version__
from server.health import healthz
from server.i18n import Catalogues
from server.keys import CATALOGUES, SETTINGS, STARTED_AT
from server.pages import index
from server.security import security_headers
from server.settings import Settings
from web import CATALOGUE_DIR, STATIC_DIR, TEMPLATES_DIR


def create_app(settings: Settings) -> web.Application:
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[SETTINGS] = settings
    app[CATALOGUES] = Catalogues.load(CATALOGUE_DIR)
    app[STARTED_AT] = time.monotonic()
    aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )
    env = aiohttp_jinja2.get_env(app)
    app.router.add_get("/", index, name="index")
    app.router.add_get("/healthz", healthz, name="healthz")
    static = app.router.add_static("/static", STATIC_DIR, name="static", append_version=True)

    def static_url(filename: str) -> str:
        # append_version adds ?v=<content hash>, so a changed file is never served stale.
        return str(static.url_for(filename=filename))

    env.globals.update(version=__version__, static=static_url)
    return app
