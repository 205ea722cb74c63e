"""GET /healthz: liveness for monitors and the install guide's first check."""

from __future__ import annotations

import time

from aiohttp import web

from server import __version__
from server.keys import STARTED_AT


async def healthz(request: web.Request) -> web.Response:
    uptime = time.monotonic() - request.app[STARTED_AT]
    return web.json_response(
        {"status": "ok", "version": __version__, "uptime_seconds": round(uptime, 3)},
        headers={"Cache-Control": "no-store"},
    )
