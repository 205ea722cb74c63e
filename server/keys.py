"""Typed keys for the application's state (aiohttp ``web.AppKey``)."""

from __future__ import annotations

from aiohttp import web

from server.i18n import Catalogues
from server.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CATALOGUES = web.AppKey("catalogues", Catalogues)
STARTED_AT = web.AppKey("started_at", float)
