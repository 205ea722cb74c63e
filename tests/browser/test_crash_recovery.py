"""The server is killed (kill -9: no goodbye, no restart message) mid-session and started again
on the same address (issue 14). The counselor's page enters again by itself with her login, and
the student's page comes back with the last rejoin token the server gave her: both in the room,
hearing each other, and the student needs no new admission."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.steps import audio_packets, eventually, join_admitted, open_room_as_leader
from tests.deploy.coturn import free_listening_port
from tests.serverproc import ServerProcess, start_server

pytestmark = pytest.mark.browser


async def rising(read: Callable[[], Awaitable[int]]) -> bool:
    before = await read()
    await asyncio.sleep(1.5)
    return await read() > before


async def test_a_killed_server_comes_back_with_everyone_in_the_room(
    tmp_path: Path, browser: Browser
) -> None:
    data_dir = tmp_path / "data"
    port = str(free_listening_port())
    servers: list[ServerProcess] = [start_server(data_dir, "--port", port)]
    try:
        base = servers[0].base_url
        requests: list[str] = []
        leader, code = await open_room_as_leader(
            browser, base, data_dir, "bu.wati", "Bu Wati", requests
        )
        rina, _ = await join_admitted(browser, leader, base, code, "Rina", requests)

        def heard() -> Awaitable[bool]:
            return rising(lambda: audio_packets(leader, "Rina"))

        def hears() -> Awaitable[bool]:
            return rising(lambda: audio_packets(rina, "Bu Wati"))

        await eventually(heard, "the counselor hears Rina")
        await eventually(hears, "Rina hears the counselor")

        servers[0].process.kill()  # SIGKILL: nobody is told anything
        servers[0].process.wait()
        await asyncio.sleep(2)
        servers.append(start_server(data_dir, "--port", port))
        restarted = time.monotonic()

        await eventually(heard, "the counselor hears Rina after the restart", 90)
        await eventually(hears, "Rina hears the counselor after the restart", 60)
        print(f"kill -9 and restart: both ways heard {time.monotonic() - restarted:.1f} s after")
        await expect(rina.get_by_role("button", name="Raise hand")).to_be_visible()
        await expect(leader.get_by_role("region", name="Group leader's panel")).to_be_visible()
        await expect(leader.locator("#waiting-count")).to_have_text("0")
        for page in (leader, rina):
            await expect(page.locator("#room-state")).not_to_contain_text("Reconnecting")
    finally:
        for server in servers:
            server.stop()
