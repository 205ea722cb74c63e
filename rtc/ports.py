"""The server's media sockets on a configured UDP port range.

aioice binds each host candidate's socket to port 0 (any port), so a firewall would have to
open every UDP port. It offers no option for a range, so this hooks the one call it makes,
``loop.create_datagram_endpoint(factory, local_addr=(address, 0))``: inside
:func:`media_ports` (a context variable, so the server's own peer connections only, inherited
by the tasks aiortc starts to gather), port 0 becomes the first free port of the range, tried
from a random start. :func:`self_test` gathers a real aioice candidate at start-up and refuses
to serve if the hook no longer applies (a different aioice could bind another way).
"""

from __future__ import annotations

import asyncio
import errno
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from aioice import Connection

# The range of the current context (None: any port). A context variable, not shared state:
# each task sees the value of the context it was started from.
_RANGE: ContextVar[tuple[int, int] | None] = ContextVar("lingkar_media_ports", default=None)
_HOOKED = "_lingkar_media_ports_hook"


class PortRangeError(RuntimeError):
    """The media port range cannot be applied (aioice changed) or has no free port."""


@contextmanager
def media_ports(low: int, high: int) -> Iterator[None]:
    """Bind the media sockets made in this context (and its tasks) within ``low``-``high``."""
    token = _RANGE.set((low, high))
    try:
        yield
    finally:
        _RANGE.reset(token)


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Hook ``loop``'s datagram endpoints (idempotent); outside :func:`media_ports` nothing
    changes."""
    original = loop.create_datagram_endpoint
    if getattr(original, _HOOKED, False):
        return

    async def create_datagram_endpoint(
        protocol_factory: Any, local_addr: Any = None, remote_addr: Any = None, **kwargs: Any
    ) -> Any:
        wanted = _RANGE.get()
        if wanted is None or local_addr is None or remote_addr is not None or local_addr[1]:
            return await original(
                protocol_factory, local_addr=local_addr, remote_addr=remote_addr, **kwargs
            )
        low, high = wanted
        size = high - low + 1
        start = secrets.randbelow(size)  # not always the first port: a restart's are in TIME_WAIT
        for step in range(size):
            port = low + (start + step) % size
            try:
                return await original(protocol_factory, local_addr=(local_addr[0], port), **kwargs)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
        raise OSError(errno.EADDRINUSE, f"no free UDP port in the media range {low}-{high}")

    setattr(create_datagram_endpoint, _HOOKED, True)
    loop.create_datagram_endpoint = create_datagram_endpoint  # type: ignore[method-assign]


async def self_test(low: int, high: int) -> None:
    """Gather one real aioice host candidate in the range; raise PortRangeError if it is not."""
    connection = Connection(ice_controlling=False, components=1)
    try:
        with media_ports(low, high):
            candidates = await connection.get_component_candidates(
                component=1, addresses=["127.0.0.1"]
            )
    except OSError as exc:
        raise PortRangeError(f"media_ports: cannot bind in {low}-{high}: {exc}") from None
    finally:
        await connection.close()
    ports = [c.port for c in candidates]
    if not ports:  # aioice logs and skips a socket it cannot bind
        raise PortRangeError(f"media_ports: cannot bind in {low}-{high}: no free UDP port")
    if len(ports) != 1 or not low <= ports[0] <= high:
        raise PortRangeError(
            f"media_ports: aioice bound {ports}, not a port in {low}-{high}; the hook in "
            "rtc/ports.py does not apply to the installed aioice"
        )
