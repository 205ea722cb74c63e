"""Typed keys for the application's state (aiohttp ``web.AppKey``)."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from server.live.registry import LiveSessions
from server.live.rejoin import RejoinTokens
from server.platform.i18n import Catalogues
from server.platform.ratelimit import KeyedRateLimiter, LoginLimits
from server.platform.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
CATALOGUES = web.AppKey("catalogues", Catalogues)
STARTED_AT = web.AppKey("started_at", float)
# The database engine (server/db/database.py), open from start-up to cleanup.
DATABASE = web.AppKey("database", AsyncEngine)
# Failed-login counters per account and per client address (server/platform/ratelimit.py).
LOGIN_LIMITS = web.AppKey("login_limits", LoginLimits)
# The open sessions in memory (server/live/registry.py), from start-up to cleanup.
LIVE_SESSIONS = web.AppKey("live_sessions", LiveSessions)
# Wrong session passwords per session and client address.
JOIN_LIMITS = web.AppKey("join_limits", KeyedRateLimiter)
# Signs and checks the tokens that bring members back after a restart (server/live/rejoin.py).
REJOIN_TOKENS = web.AppKey("rejoin_tokens", RejoinTokens)
# This application's Prometheus registry (server/metrics.py): one per app, never global.
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
