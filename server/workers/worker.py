"""One session worker: the whole application on a private Unix socket, behind the supervisor.

The supervisor (server/workers/supervisor.py) starts it as the same ``lingkar serve`` command
with ``LINGKAR_WORKER`` in its environment. It hosts the live sessions the supervisor sends it,
binds its media sockets in its own share of ``media_ports``, and serves every other page as the
single process would. It believes the client's address and scheme from the supervisor's
headers, and only from requests that carry the supervisor's token (the socket itself is private
to the server's user). It stops when its supervisor is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import replace

from aiohttp import web

from rtc import self_test_in_child
from server.app import create_app
from server.db.database import MIGRATED
from server.live.registry import LIVE_SESSIONS, SWEEPS_UNHOSTED
from server.platform.settings import Settings
from server.records.retention import RUNS_RETENTION
from server.workers.place import (
    STATUS_PATH,
    TOKEN_HEADER,
    WorkerPlace,
    as_passed_on,
    carries_token,
    port_share,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def supervisor_headers(token: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    """The client's address and scheme as the supervisor saw them; anything else is refused."""

    @web.middleware
    async def from_supervisor(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not carries_token(request, TOKEN_HEADER, token):
            raise web.HTTPForbidden(text="not through the supervisor\n")
        return await handler(as_passed_on(request))

    return from_supervisor


def worker_app(settings: Settings, place: WorkerPlace) -> web.Application:
    app = create_app(settings, first_middleware=supervisor_headers(place.token))
    app[MIGRATED] = True  # the supervisor migrated before starting any worker
    app[RUNS_RETENTION] = place.index == 0
    # Codes hosted by the other workers (and nodes), as the supervisor last said, and whether
    # it knows them (not when the cluster's Redis is away).
    elsewhere: set[str] = set()
    sweeping = [True]
    if place.index == 0:
        app[SWEEPS_UNHOSTED] = lambda code: sweeping[0] and code not in elsewhere
    else:
        app[SWEEPS_UNHOSTED] = lambda code: False

    async def status(request: web.Request) -> web.Response:
        body = await request.json()
        directory = body.get("directory", []) if isinstance(body, dict) else []
        sweeping[0] = isinstance(body, dict) and body.get("sweep", True) is True
        for code in body.get("release", []) if isinstance(body, dict) else []:
            await request.app[LIVE_SESSIONS].release(str(code))
        hosted = [x.code for x in request.app[LIVE_SESSIONS].all()]
        elsewhere.clear()
        elsewhere.update(str(x) for x in directory if isinstance(x, str) and x not in hosted)
        return web.json_response(
            {
                "sessions": hosted,
                "participants": sum(len(x.present()) for x in request.app[LIVE_SESSIONS].all()),
            }
        )

    app.router.add_post(STATUS_PATH, status)
    return app


async def run_worker(settings: Settings, place: WorkerPlace) -> None:
    share = port_share(settings.media_ports, place.index, place.count)
    settings = replace(settings, media_ports=share)
    # As the single process does: the forwarding core's private hooks must still work.
    await self_test_in_child()
    app = worker_app(settings, place)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    with contextlib.suppress(FileNotFoundError):
        place.socket.unlink()  # left by this worker's previous life
    site = web.UnixSite(runner, str(place.socket))
    await site.start()
    os.chmod(place.socket, 0o600)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # A supervisor killed outright cannot stop its workers: the kernel sends SIGTERM then.
    stop_with_parent()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def stop_with_parent() -> None:
    """Ask Linux for SIGTERM when the supervisor dies (prctl PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() == 1:  # the supervisor died before the request: stop now
        os.kill(os.getpid(), signal.SIGTERM)
