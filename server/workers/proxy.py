"""The supervisor's side of HTTP: every request passed on to a worker over its Unix socket.

Why a proxy and not workers on ports of their own: the browser keeps one address (the school's
certificate names one host and port), the few signalling calls are tiny next to the media, which
never passes here (it goes straight to the worker's UDP ports), and TLS is done once, in the
supervisor. Each request is read whole (at most MAX_HTTP_BODY_BYTES, as the single process
allows), sent to the worker the routing chooses (server/workers/routing.py), and its answer sent
back whole: pages, signalling answers and static files are all small.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from server.platform.errors import ErrorId
from server.workers.place import CLIENT_HEADER, SCHEME_HEADER, STATUS_PATH, TOKEN_HEADER

log = logging.getLogger("lingkar.workers")

# Headers that belong to one connection, not to the request (RFC 9110, 7.6.1), and ours, which
# only the supervisor sets.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# A node's calls to another node carry this instead of the worker token (server/workers/cluster.py).
NODE_TOKEN_HEADER = "X-Lingkar-Node-Token"
_OURS = frozenset(
    x.lower() for x in (CLIENT_HEADER, SCHEME_HEADER, TOKEN_HEADER, NODE_TOKEN_HEADER)
)
# A worker that takes longer than this to answer (an offer waits for ICE gathering, a few
# seconds at most) is treated as gone.
ANSWER_TIMEOUT_S = 60.0


@dataclass
class Upstream:
    """Where a request can be passed on: one of this node's workers (over its Unix socket), or
    another node of the cluster (over HTTPS), with the token that makes it believe us."""

    name: str  # for the log: "worker 0", "node https://..."
    session: aiohttp.ClientSession
    token: str
    base: str = "http://worker"
    token_header: str = TOKEN_HEADER


def unavailable(
    request: web.Request, text: str = "this part of the server is restarting; try again soon"
) -> web.Response:
    """What a client gets while the worker (or node) that should answer is (re)starting."""
    headers = {"Retry-After": "2", "Cache-Control": "no-store"}
    if request.path.startswith("/api/"):
        return web.json_response(
            {"error": ErrorId.SERVER_BUSY.value, "message": text}, status=503, headers=headers
        )
    return web.Response(status=503, text=text + "\n", headers=headers)


def outgoing_headers(request: web.Request, upstream: Upstream) -> CIMultiDict[str]:
    headers = CIMultiDict(
        (k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP | _OURS
    )
    headers[CLIENT_HEADER] = request.remote or "unknown"
    headers[SCHEME_HEADER] = request.scheme
    headers[upstream.token_header] = upstream.token
    return headers


async def pass_on(request: web.Request, upstream: Upstream) -> tuple[web.Response, int]:
    """Send ``request`` to ``upstream``; its answer (503 when the worker cannot be reached), and
    the worker's status (0 when it could not answer)."""
    body = await request.read()
    try:
        async with upstream.session.request(
            request.method,
            f"{upstream.base}{request.rel_url}",
            headers=outgoing_headers(request, upstream),
            data=body if body else None,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=ANSWER_TIMEOUT_S),
        ) as answer:
            payload = await answer.read()
            headers = CIMultiDict(
                (k, v)
                for k, v in answer.headers.items()
                if k.lower() not in _HOP_BY_HOP and k.lower() != "content-length"
            )
            return web.Response(status=answer.status, body=payload, headers=headers), answer.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        log.warning("%s did not answer (%s: %s)", upstream.name, type(exc).__name__, exc)
        return unavailable(request), 0


def refuses_internal(path: str) -> bool:
    """The workers' internal calls are never reachable from outside (``path`` is decoded;
    repeated slashes collapsed, as a router might)."""
    collapsed = re.sub("/+", "/", path)
    return collapsed == STATUS_PATH or collapsed.startswith("/_worker")


Chooser = Callable[[web.Request], Upstream]
