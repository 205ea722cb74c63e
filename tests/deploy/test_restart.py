"""A real ``lingkar serve`` stopped with SIGTERM mid-session, then started again: everyone is told,
connections close, and members come back as they were with their rejoin tokens (the session is
restored from its snapshot).

Also checks the process's whole log output: opaque ids only, never a name or an address.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from server.accounts.counselors import create_counselor
from server.db.database import open_database
from server.platform.settings import Settings
from server.sessions.store import create_session
from tests.deploy.coturn import free_port, non_loopback_ipv4
from tests.live.client import LiveClient
from tests.live.conftest import PASSWORD, log_in
from tests.rtc.clients import wait_for
from tests.serverproc import ServerProcess, start_server

NAMES = ("Bu Sari", "Ani Wijaya", "Budi Santoso")


async def _prepare(data_dir: Path) -> str:
    """A counselor and a session in the server's own database, as the CLI and dashboard make."""
    db = await open_database(Settings(data_dir=data_dir))
    try:
        counselor = await create_counselor(db, "sari", PASSWORD, NAMES[0])
        record = await create_session(db, counselor.id, title="Mengenal diri", template="online")
        return record.code
    finally:
        await db.dispose()


class Browser:
    """One person's HTTP side (cookies included) against a server process's fixed address."""

    def __init__(self, base_url: str) -> None:
        self.session = aiohttp.ClientSession(
            base_url=base_url, connector=aiohttp.TCPConnector(ssl=False)
        )

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.session.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.session.post(path, **kwargs)


@pytest.fixture
async def browsers() -> AsyncIterator[list[Browser]]:
    made: list[Browser] = []
    yield made
    for browser in made:
        await browser.session.close()


async def _rejoin(browser: Browser, code: str, token: str) -> tuple[int, dict[str, Any]]:
    response = await browser.post(f"/api/sessions/{code}/rejoin", json={"rejoin_token": token})
    return response.status, await response.json()


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sigterm_tells_everyone_and_members_come_back(
    tmp_path: Path, browsers: list[Browser], workers: str
) -> None:
    """The single process (``--workers 1``) and a supervisor with two session workers alike."""
    data_dir = tmp_path / "data"
    code = await _prepare(data_dir)
    port = free_port(socket.SOCK_STREAM)
    servers: list[ServerProcess] = []
    clients: list[LiveClient] = []

    def browser(base_url: str) -> Browser:
        made = Browser(base_url)
        browsers.append(made)
        return made

    def client(http: Browser, name: str) -> LiveClient:
        made = LiveClient(http, code, name, video=True)  # type: ignore[arg-type]
        clients.append(made)
        return made

    try:
        first = start_server(data_dir, "--port", str(port), "--workers", workers)
        servers.append(first)
        leader_http = browser(first.base_url)
        await log_in(leader_http, "sari", PASSWORD)  # type: ignore[arg-type]
        leader = client(leader_http, NAMES[0])
        await leader.lead()
        await leader.connect()
        ani = client(browser(first.base_url), NAMES[1])
        assert (await ani.join())[0] == 200
        await ani.connect()
        budi = client(browser(first.base_url), NAMES[2])
        assert (await budi.join())[0] == 200
        await budi.connect()
        leader.send({"type": "admit", "participant": ani.id})
        await ani.wait_message("status", lambda m: m["status"] == "admitted")
        ani.send({"type": "camera", "on": True})
        await leader.wait_for(lambda: leader.frames_from(ani.id, "video") >= 3, "Ani's video")

        assert first.stop() == 0  # SIGTERM, and a clean exit

        for person in (leader, ani, budi):
            await person.wait_message("status", lambda m: m["status"] == "restarting")
            assert not any(m["status"] == "ended" for m in person.by_type["status"])
        assert leader.last("status")["rejoin_token"] == ""  # the leader uses its login cookie
        ani_token = ani.last("status")["rejoin_token"]
        budi_token = budi.last("status")["rejoin_token"]
        assert ani_token
        assert budi_token
        # Connections closed by the server, not left to time out.
        for person in (leader, ani, budi):
            await wait_for(
                lambda p=person: p.rtc.pc.connectionState in {"closed", "failed"},  # type: ignore[misc]
                10,
                f"{person.name}'s connection closed",
            )

        second = start_server(data_dir, "--port", str(port), "--workers", workers)
        servers.append(second)
        ani_http = browser(second.base_url)
        # The session comes back from its snapshot with the first rejoin, before the leader:
        # Ani takes her own place again (same participant id), in the room.
        status, entry = await _rejoin(ani_http, code, ani_token)
        assert status == 200, entry
        assert (entry["participant"], entry["role"], entry["status"]) == (
            ani.id,
            "member",
            "admitted",
        )

        # Same address, same login cookie (secret.key survives the restart).
        leader2 = client(leader_http, NAMES[0])
        await leader2.lead()
        await leader2.connect()
        assert (await _rejoin(browser(second.base_url), code, ani_token))[0] == 401  # used
        budi_http = browser(second.base_url)
        status, budi_entry = await _rejoin(budi_http, code, budi_token)
        assert status == 200, budi_entry
        assert budi_entry["status"] == "waiting"
        forged = ani_token[:-2] + ("AA" if not ani_token.endswith("AA") else "BB")
        assert (await _rejoin(budi_http, code, forged))[0] == 401

        ani2 = client(ani_http, NAMES[1])
        ani2.entry = entry
        await ani2.connect()
        await ani2.wait_message("status", lambda m: m["status"] == "admitted")
        ani2.send({"type": "camera", "on": True})
        await leader2.wait_for(lambda: leader2.frames_from(ani2.id, "video") >= 3, "video again")
        # Budi, who was in the lobby, is in the lobby again (and only he).
        await leader2.wait_message(
            "waiting", lambda m: [x["name"] for x in m["participants"]] == [NAMES[2]]
        )
        assert second.stop() == 0
    finally:
        for person in clients:
            await person.close()
        for server in servers:
            server.stop()

    # The logs of both runs: no display name, no address (loopback or the LAN one).
    output = "".join(line for server in servers for line in server.output)
    assert "Lingkar is running" in output
    for secret in (*NAMES, "Ani", "Budi", "127.0.0.1", non_loopback_ipv4()):
        assert secret not in output, f"{secret!r} in the server's log"
