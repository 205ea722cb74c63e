"""The client's address and scheme behind a reverse proxy, believed only from trusted proxies.

Behind nginx or Caddy every request comes from the proxy's address, so rate limits (failed logins,
wrong session passwords) would count the whole school as one client. The proxy says who the
client was in ``X-Forwarded-For``, but anyone can send that header: it is read only when the
TCP peer is in ``trusted_proxies``, and then from the right, skipping our own proxies, so a
client cannot choose its address by putting one at the left of the list.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from server.platform.settings import Settings, networks

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_client(
    peer: str | None,
    forwarded_for: list[str],
    trusted: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> str | None:
    """The client's address, or None to keep the TCP peer's."""

    def is_trusted(address: Address | None) -> bool:
        return address is not None and any(address in network for network in trusted)

    if not is_trusted(_address(peer or "")):
        return None
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
    client: Address | None = None
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # a damaged header: the last good hop is the best we know
        client = address
        if not is_trusted(address):
            break
    return None if client is None else str(client)


def trusted_proxies_middleware(settings: Settings) -> Callable[..., Awaitable[web.StreamResponse]]:
    trusted = networks(settings.trusted_proxies)

    @web.middleware
    async def from_trusted_proxies(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted:
            client = forwarded_client(
                request.remote, request.headers.getall("X-Forwarded-For", []), trusted
            )
            if client is not None:
                proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1].strip()
                scheme = proto if proto in {"http", "https"} else request.scheme
                request = request.clone(remote=client, scheme=scheme)
        return await handler(request)

    return from_trusted_proxies
