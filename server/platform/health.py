"""GET /healthz: liveness for monitors and the install guide's first check."""

from __future__ import annotations

import time

from aiohttp import web

from server import __version__

# When this application started (time.monotonic), for the uptime.
STARTED_AT = web.AppKey("started_at", float)


def setup_health(app: web.Application) -> None:
    app[STARTED_AT] = time.monotonic()
    app.router.add_get("/healthz", healthz, name="healthz")


async def healthz(request: web.Request) -> web.Response:
    uptime = time.monotonic() - request.app[STARTED_AT]
    return web.json_response(
        {"status": "ok", "version": __version__, "uptime_seconds": round(uptime, 3)},
        headers={"Cache-Control": "no-store"},
    )
