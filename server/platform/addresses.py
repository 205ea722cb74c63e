"""The machine's own addresses: what to print as the URL and put in a self-signed certificate."""

from __future__ import annotations

import ipaddress
import socket

import psutil


def lan_ipv4_addresses() -> list[str]:
    """Non-loopback, non-link-local IPv4 addresses of this machine's interfaces, sorted."""
    found: set[str] = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            if addr.family != socket.AF_INET:
                continue
            ip = ipaddress.IPv4Address(addr.address)
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified:
                continue
            found.add(str(ip))
    return sorted(found, key=lambda a: ipaddress.IPv4Address(a))
