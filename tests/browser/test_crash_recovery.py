"""The server is killed (kill -9: no goodbye, no restart message) mid-session and started again
on the same address (issue 14), on SQLite and on PostgreSQL. The counselor's page enters again by
itself with her login, and the student's page comes back with the last rejoin token the server
gave her: both in the room, hearing each other, and the student needs no new admission. What was
stored before the kill (the session, its attendance) is there afterwards, unchanged, and the
SQLite file passes its integrity check."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import psutil
import pytest
import sqlalchemy as sa
from playwright.async_api import Browser, expect

from server.db import schema
from server.db.database import open_database
from server.platform.settings import Settings
from server.workers.place import WORKER_VARIABLE
from server.workers.routing import spread
from tests.browser.steps import (
    audio_packets,
    eventually,
    heard_again,
    join_admitted,
    kept_as_it_was,
    open_room_as_leader,
    rising,
    stage_hand_and_mute,
)
from tests.deploy.coturn import free_listening_port
from tests.pgserver import postgres_cluster
from tests.serverproc import ServerProcess, start_server

pytestmark = pytest.mark.browser


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Any:
    """None for the embedded SQLite; else a PostgreSQL cluster's URL, given to the server and
    the CLI as an administrator would (LINGKAR_DATABASE_URL)."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_cluster() as url:
        monkeypatch.setenv("LINGKAR_DATABASE_URL", url)
        yield url


async def stored(data_dir: Path, database_url: str | None, code: str) -> dict[str, Any]:
    """What the database holds of the session: its row and its attendance (all but the time a
    person left, which a restart may set), and SQLite's integrity check."""
    engine = await open_database(Settings(data_dir=data_dir, database_url=database_url))
    try:
        async with engine.connect() as conn:
            session = (
                await conn.execute(sa.select(schema.sessions).where(schema.sessions.c.code == code))
            ).one()
            rows = (
                await conn.execute(
                    sa.select(
                        schema.attendance.c.participant,
                        schema.attendance.c.name,
                        schema.attendance.c.role,
                        schema.attendance.c.joined_at,
                        schema.attendance.c.admitted_at,
                    ).where(schema.attendance.c.session_id == session.id)
                )
            ).all()
            check = "ok"
            if database_url is None:
                check = (await conn.execute(sa.text("PRAGMA integrity_check"))).scalar_one()
        return {
            "session": (session.id, session.code, session.title),
            "attendance": {tuple(row) for row in rows},
            "integrity": check,
        }
    finally:
        await engine.dispose()


async def test_a_killed_server_comes_back_with_everyone_in_the_room(
    tmp_path: Path, browser: Browser, database_url: str | None
) -> None:
    data_dir = tmp_path / "data"
    port = str(free_listening_port())
    # One process, so that the kill leaves nobody to say goodbye (with session workers the
    # supervisor's death stops them cleanly; a killed worker is test_a_killed_worker_...).
    servers: list[ServerProcess] = [start_server(data_dir, "--port", port, "--workers", "1")]
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

        before = await stored(data_dir, database_url, code)
        assert {(row[1], row[2]) for row in before["attendance"]} >= {("Rina", "member")}
        servers[0].process.kill()  # SIGKILL: nobody is told anything
        servers[0].process.wait()
        await asyncio.sleep(2)
        servers.append(start_server(data_dir, "--port", port, "--workers", "1"))
        restarted = time.monotonic()

        await eventually(heard, "the counselor hears Rina after the restart", 90)
        await eventually(hears, "Rina hears the counselor after the restart", 60)
        print(f"kill -9 and restart: both ways heard {time.monotonic() - restarted:.1f} s after")
        await expect(rina.get_by_role("button", name="Raise hand")).to_be_visible()
        await expect(leader.get_by_role("region", name="Group leader's panel")).to_be_visible()
        await expect(leader.locator("#waiting-count")).to_have_text("0")
        for page in (leader, rina):
            await expect(page.locator("#room-state")).not_to_contain_text("Reconnecting")
        after = await stored(data_dir, database_url, code)
        assert after["session"] == before["session"]
        assert before["attendance"] <= after["attendance"], "a stored attendance row changed"
        assert after["integrity"] == "ok"
    finally:
        for server in servers:
            server.stop()


async def test_a_killed_worker_comes_back_with_the_session_as_it_was(
    tmp_path: Path, browser: Browser
) -> None:
    """``--workers 2``: the worker that hosts the session is killed with SIGKILL. The supervisor
    starts it again; the counselor's and the student's pages come back by themselves within
    15 s, in the same stage, the student still muted by the counselor and her hand still up."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir, "--workers", "2")
    try:
        base = server.base_url
        requests: list[str] = []
        leader, code = await open_room_as_leader(
            browser, base, data_dir, "bu.wati", "Bu Wati", requests
        )
        rina, _ = await join_admitted(browser, leader, base, code, "Rina", requests)

        def heard() -> Awaitable[bool]:
            return rising(lambda: audio_packets(leader, "Rina"))

        await eventually(heard, "the counselor hears Rina")
        stage = await stage_hand_and_mute(leader, rina, "Rina")

        # One session on two empty workers: it went where its code spreads (routing.py).
        workers = {
            int(child.environ()[WORKER_VARIABLE].split("/", 1)[0]): child
            for child in psutil.Process(server.process.pid).children()
            if WORKER_VARIABLE in child.environ()
        }
        workers[spread(code, 2)].kill()
        killed = time.monotonic()

        back = await heard_again(rina, "Bu Wati", killed, "the worker's death")
        print(f"worker killed: Rina hears the counselor again {back:.1f} s after")
        assert back <= 15 + 1.5, f"back only after {back:.1f} s"  # 1.5 s: one rising() sample
        await kept_as_it_was(leader, rina, stage)
        await expect(leader.locator("#waiting-count")).to_have_text("0")
        assert not await heard(), "Rina was muted by the counselor before the kill"
    finally:
        server.stop()
