"""Who may read ``GET /metrics``: the clients in ``metrics_allow`` (default: the machine itself).
Checked by the application and, with session workers, by the supervisor that gathers them."""

from __future__ import annotations

import ipaddress

from aiohttp import web

from server.platform.settings import Settings, networks


def check_metrics_reader(settings: Settings, remote: str | None) -> None:
    """Refuse (403) a client outside ``metrics_allow``."""
    allowed = networks(settings.metrics_allow)
    try:
        client = ipaddress.ip_address(remote or "")
    except ValueError:
        client = None
    if isinstance(client, ipaddress.IPv6Address) and client.ipv4_mapped is not None:
        client = client.ipv4_mapped  # a dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d
    if client is None or not any(client in network for network in allowed):
        raise web.HTTPForbidden(text="metrics are not available to this address\n")
