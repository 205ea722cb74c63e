"""X-Forwarded-For/-Proto are believed from trusted proxies only, read from the right."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.platform.proxies import forwarded_client
from server.platform.ratelimit import LOGIN_FAILURES_PER_ADDRESS
from server.platform.settings import Settings

PROXIES = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("peer", "header", "client"),
    [
        ("203.0.113.5", ["198.51.100.7"], None),  # not from a proxy: the header is ignored
        ("127.0.0.1", ["198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", [], None),
        # A client's own X-Forwarded-For is at the left: the proxy appends the real peer.
        ("127.0.0.1", ["6.6.6.6, 198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7, 10.1.2.3"], "198.51.100.7"),  # two proxies deep
        ("127.0.0.1", ["198.51.100.7", "10.1.2.3"], "198.51.100.7"),  # repeated headers
        ("127.0.0.1", ["10.1.2.3"], "10.1.2.3"),  # every hop ours: the farthest
        ("127.0.0.1", ["junk, 198.51.100.7"], "198.51.100.7"),
        ("127.0.0.1", ["198.51.100.7, junk"], None),
        ("::ffff:127.0.0.1", ["2001:db8::1"], "2001:db8::1"),
    ],
)
def test_forwarded_client(peer: str, header: list[str], client: str | None) -> None:
    assert forwarded_client(peer, header, PROXIES) == client


async def _metrics_status(
    aiohttp_client: object, tmp_path: Path, trusted: tuple[str, ...], forwarded: str
) -> int:
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies=trusted))
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    response = await client.get("/metrics", headers={"X-Forwarded-For": forwarded})
    return response.status


async def test_a_trusted_proxy_passes_the_client_address(
    aiohttp_client: object, tmp_path: Path
) -> None:
    """/metrics allows loopback only: behind a trusted proxy on loopback, a remote client's
    request must be judged by the client's address, not the proxy's."""
    assert await _metrics_status(aiohttp_client, tmp_path, ("127.0.0.1",), "198.51.100.7") == 403
    assert await _metrics_status(aiohttp_client, tmp_path, ("127.0.0.1",), "127.0.0.1") == 200


async def test_an_untrusted_peer_cannot_choose_its_address(
    aiohttp_client: object, tmp_path: Path
) -> None:
    # Without trusted proxies the header is ignored: the request is from loopback.
    assert await _metrics_status(aiohttp_client, tmp_path, (), "198.51.100.7") == 200
    # A proxy elsewhere is not this peer.
    assert await _metrics_status(aiohttp_client, tmp_path, ("10.0.0.1",), "198.51.100.7") == 200


async def test_login_limits_count_the_forwarded_client(
    aiohttp_client: object, tmp_path: Path
) -> None:
    """Regression guard: behind a proxy, one client's failed logins must not lock out the
    whole school (whose requests all come from the proxy's address)."""
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies=("127.0.0.1",)))
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    form = await (await client.get("/login")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match

    async def attempt(n: int, address: str) -> int:
        response = await client.post(
            "/login",
            data={"username": f"user{n}", "password": "wrong password", "csrf": match.group(1)},
            headers={"X-Forwarded-For": address},
            allow_redirects=False,
        )
        return response.status

    statuses = [await attempt(n, "198.51.100.7") for n in range(LOGIN_FAILURES_PER_ADDRESS)]
    assert set(statuses) == {401}
    assert await attempt(99, "198.51.100.7") == 429
    assert await attempt(100, "198.51.100.8") == 401  # another student behind the same proxy
