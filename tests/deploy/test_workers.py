"""``lingkar serve --workers 2``: a supervisor on the public port and two session workers.

Two sessions opened one after the other land on different workers, and every signalling call
reaches the worker that hosts its session. The worker that hosts one of them is killed with
SIGKILL mid-session: the supervisor starts it again, and the session's people (real aiortc
peers, doing what the browser's client does) are back within 15 s, with the stage, the
counselor's mute, the raised hand and the lobby as they were, and video flowing again. The
other worker's session never notices.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from pathlib import Path

import psutil
import pytest

from server.accounts.counselors import create_counselor
from server.db.database import open_database
from server.platform.settings import Settings
from server.sessions.store import create_session
from server.workers.place import WORKER_VARIABLE
from server.workers.routing import spread as spread_to
from tests.deploy.comeback import enter_again, state_kept
from tests.deploy.test_restart import Browser
from tests.live.client import LiveClient
from tests.live.conftest import PASSWORD, log_in
from tests.rtc.clients import wait_for
from tests.serverproc import ServerProcess, start_server

BACK_WITHIN_S = 15.0
# While the worker restarts: the session is not open until it is restored.
RETRY_ON = frozenset({"session_not_open"})


async def _prepare(data_dir: Path) -> tuple[str, str]:
    db = await open_database(Settings(data_dir=data_dir))
    try:
        counselor = await create_counselor(db, "sari", PASSWORD, "Bu Sari")
        first = await create_session(db, counselor.id, title="Kelompok A", template="online")
        second = await create_session(db, counselor.id, title="Kelompok B", template="online")
        return first.code, second.code
    finally:
        await db.dispose()


def _workers(server: ServerProcess) -> dict[int, int]:
    """Worker index -> pid, from the supervisor's children's environment."""
    found: dict[int, int] = {}
    for child in psutil.Process(server.process.pid).children():
        with_place = child.environ().get(WORKER_VARIABLE, "")
        if with_place:
            found[int(with_place.split("/", 1)[0])] = child.pid
    return found


async def _hosting(http: Browser) -> dict[str, float]:
    """lingkar_sessions_open per worker, from the supervisor's /metrics."""
    text = await (await http.get("/metrics")).text()
    return {
        m.group(1): float(m.group(2))
        for m in re.finditer(r'^lingkar_sessions_open\{worker="(\d+)"\} (\S+)$', text, re.M)
    }


@pytest.mark.timeout(180)
async def test_sessions_spread_and_a_killed_worker_comes_back(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    code_a, code_b = await _prepare(data_dir)
    server = start_server(data_dir, "--workers", "2")
    browsers: list[Browser] = []
    clients: list[LiveClient] = []

    def browser() -> Browser:
        made = Browser(server.base_url)
        browsers.append(made)
        return made

    def client(http: Browser, code: str, name: str, video: bool = False) -> LiveClient:
        made = LiveClient(http, code, name, video=video)  # type: ignore[arg-type]
        clients.append(made)
        return made

    try:
        assert set(_workers(server)) == {0, 1}
        leader_http = browser()
        await log_in(leader_http, "sari", PASSWORD)  # type: ignore[arg-type]

        # Session A: the counselor, Ani in the room with her camera, Budi in the lobby.
        leader = client(leader_http, code_a, "Bu Sari")
        await leader.lead()
        await leader.connect()
        ani = client(browser(), code_a, "Ani Wijaya", video=True)
        assert (await ani.join())[0] == 200
        await ani.connect()
        budi = client(browser(), code_a, "Budi Santoso")
        assert (await budi.join())[0] == 200
        await budi.connect()
        leader.send({"type": "admit", "participant": ani.id})
        await ani.wait_message("status", lambda m: m["status"] == "admitted")
        ani.send({"type": "camera", "on": True})
        await leader.wait_for(lambda: leader.frames_from(ani.id, "video") >= 3, "Ani's video")

        # Session B, opened second, lands on the other worker: Citra with her camera.
        leader_b = client(leader_http, code_b, "Bu Sari")
        await leader_b.lead()
        await leader_b.connect()
        citra = client(browser(), code_b, "Citra Lestari", video=True)
        assert (await citra.join())[0] == 200
        await citra.connect()
        leader_b.send({"type": "admit", "participant": citra.id})
        await citra.wait_message("status", lambda m: m["status"] == "admitted")
        citra.send({"type": "camera", "on": True})
        await leader_b.wait_for(lambda: leader_b.frames_from(citra.id, "video") >= 3, "Citra")

        async def spread() -> bool:
            return await _hosting(leader_http) == {"0": 1.0, "1": 1.0}

        for _ in range(40):
            if await spread():
                break
            await asyncio.sleep(0.25)
        assert await spread(), await _hosting(leader_http)

        # Session A's state: the next stage, Ani muted by the counselor, her hand up.
        ani.send({"type": "microphone", "on": True})
        leader.send({"type": "stage", "direction": "next"})
        await leader.wait_message("roster", lambda m: m["stage"]["index"] == 1)
        leader.send({"type": "mute_member", "participant": ani.id})
        await ani.wait_message("you", lambda m: m["muted_by_leader"])
        ani.send({"type": "hand", "raised": True})
        await leader.wait_message("roster", lambda m: ani.id in m["hands"])
        token = ani.last("rejoin_token")["token"]
        budi_token = budi.last("rejoin_token")["token"]

        # A, opened first with both workers empty, went where its code spreads (routing.py).
        host = spread_to(code_a, 2)
        os.kill(_workers(server)[host], signal.SIGKILL)
        killed_at = time.monotonic()
        deadline = killed_at + BACK_WITHIN_S

        # Back as the browser's client does: the counselor with her login, the others with
        # their last rejoin tokens (retrying while the worker restarts).
        leader2 = client(leader_http, code_a, "Bu Sari")
        await enter_again(leader2, "lead", {}, deadline, RETRY_ON)
        ani2 = client(ani.http, code_a, "Ani Wijaya", video=True)  # type: ignore[arg-type]
        entry = await enter_again(ani2, "rejoin", {"rejoin_token": token}, deadline, RETRY_ON)
        assert (entry["participant"], entry["status"]) == (ani.id, "admitted")
        budi2 = client(budi.http, code_a, "Budi Santoso")  # type: ignore[arg-type]
        entry = await enter_again(budi2, "rejoin", {"rejoin_token": budi_token}, deadline, RETRY_ON)
        assert entry["status"] == "waiting"

        # The state as it was: stage, mute, hand, lobby; Ani's camera on, her video flowing.
        await state_kept(leader2, ani2, ani.id, budi.id)
        # Both are told the chat from before the death is gone.
        assert ani2.last("welcome")["restored"] is True
        assert leader2.last("welcome")["restored"] is True
        assert leader_b.last("welcome")["restored"] is False
        await leader2.wait_for(
            lambda: leader2.frames_from(ani.id, "video") >= 3,
            "Ani's video after the restart",
            deadline=max(1.0, deadline - time.monotonic()),
        )
        back_after = time.monotonic() - killed_at
        print(f"session A back {back_after:.1f} s after its worker was killed")
        assert back_after <= BACK_WITHIN_S, "not back within 15 s of the kill"
        assert await _alive(leader2)

        # Session B, on the other worker, went on: Citra's video still arrives.
        before = leader_b.frames_from(citra.id, "video")
        await leader_b.wait_for(
            lambda: leader_b.frames_from(citra.id, "video") >= before + 5, "Citra still"
        )
        assert leader_b.rtc.pc.connectionState == "connected"
        assert set(_workers(server)) == {0, 1}
        text = await (await leader_http.get("/metrics")).text()
        assert "lingkar_worker_restarts_total 1" in text
        # The node's whole cost in one scrape: each worker's process and the supervisor's.
        for worker in ("0", "1", "supervisor"):
            assert re.search(rf'^process_cpu_seconds_total\{{worker="{worker}"\}} ', text, re.M)
        assert server.stop() == 0
    finally:
        for person in clients:
            await person.close()
        for made in browsers:
            await made.session.close()
        server.stop()


async def _alive(person: LiveClient) -> bool:
    """Whether the person's control channel still hears the server (a ping within 4 s)."""
    count = len(person.by_type["ping"])
    try:
        await wait_for(lambda: len(person.by_type["ping"]) > count, 4.0, "a ping")
    except AssertionError:
        return False
    return True
