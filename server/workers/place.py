"""Where a session worker stands, and what passes between it and its supervisor: the variable
that makes ``lingkar serve`` a worker, the headers of passed-on requests, the status call, and
the worker's share of the media ports. Light on purpose: the supervisor imports it, never the
application (it runs no media and loads no aiortc)."""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from server.platform.settings import Settings, SettingsError

# The environment variable that makes ``lingkar serve`` a worker: "index/count/socket/token".
WORKER_VARIABLE = "LINGKAR_WORKER"
# The headers the supervisor adds to every request it passes on (any a client sent are dropped).
CLIENT_HEADER = "X-Lingkar-Client"
SCHEME_HEADER = "X-Lingkar-Scheme"
TOKEN_HEADER = "X-Lingkar-Worker-Token"
# The supervisor's own call: what this worker hosts (and, for the first worker, what the others
# host). Never passed on from outside (the supervisor refuses the prefix).
STATUS_PATH = "/_worker/status"
# Each worker's share of media_ports must hold at least this many ports (one per connection).
MIN_PORTS_PER_WORKER = 10


@dataclass(frozen=True)
class WorkerPlace:
    index: int
    count: int
    socket: Path
    token: str

    def encode(self) -> str:
        return f"{self.index}/{self.count}/{self.token}/{self.socket}"

    @classmethod
    def decode(cls, text: str) -> WorkerPlace:
        index, count, token, socket = text.split("/", 3)
        return cls(int(index), int(count), Path(socket), token)


def port_share(ports: tuple[int, int], index: int, count: int) -> tuple[int, int]:
    """Worker ``index``'s contiguous share of the media port range."""
    low, high = ports
    size = (high - low + 1) // count
    if size < MIN_PORTS_PER_WORKER:
        raise SettingsError(
            f"media_ports: {low}-{high} is too narrow for {count} workers "
            f"(each needs at least {MIN_PORTS_PER_WORKER} ports); widen it or use fewer workers"
        )
    first = low + index * size
    last = high if index == count - 1 else first + size - 1
    return first, last


def worker_count(settings: Settings) -> int:
    """How many session workers: the setting, else one per core."""
    return settings.workers if settings.workers is not None else max(1, os.cpu_count() or 1)


def carries_token(request: web.Request, header: str, token: str) -> bool:
    """Whether ``request`` carries ``token`` in ``header`` (compared in constant time)."""
    offered = request.headers.get(header, "")
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


def as_passed_on(request: web.Request) -> web.Request:
    """The request with the client's address and scheme as the process that passed it on saw
    them (only for a request that carries that process's token)."""
    client = request.headers.get(CLIENT_HEADER) or "unknown"
    scheme = "https" if request.headers.get(SCHEME_HEADER) == "https" else "http"
    return request.clone(remote=client, scheme=scheme)
