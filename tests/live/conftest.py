"""A real Lingkar app on loopback, a counselor with a session, and participants to fill it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.accounts.counselors import create_counselor
from server.app import create_app
from server.db.database import DATABASE
from server.live.registry import LIVE_SESSIONS
from server.platform.settings import Settings
from server.sessions.store import create_session
from tests.live.client import LiveClient

PASSWORD = "correct horse battery"


@dataclass
class Scene:
    server: TestServer
    code: str
    leader_http: TestClient
    clients: list[LiveClient] = field(default_factory=list)
    https: list[TestClient] = field(default_factory=list)

    async def http(self) -> TestClient:
        client = TestClient(self.server)
        await client.start_server()
        self.https.append(client)
        return client

    async def leader(self, video: bool = False) -> LiveClient:
        leader = LiveClient(self.leader_http, self.code, "Bu Sari", video=video)
        self.clients.append(leader)
        await leader.lead()
        await leader.connect()
        return leader

    async def member(self, name: str, **kwargs: object) -> LiveClient:
        member = LiveClient(await self.http(), self.code, name, **kwargs)  # type: ignore[arg-type]
        self.clients.append(member)
        status, reply = await member.join()
        assert status == 200, reply
        await member.connect()
        return member

    @property
    def live(self):  # type: ignore[no-untyped-def]
        return self.server.app[LIVE_SESSIONS].get(self.code)


async def log_in(http: TestClient, username: str, password: str) -> None:
    form = await (await http.get("/login")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match, "the login form has a CSRF field"
    response = await http.post(
        "/login",
        data={"username": username, "password": password, "csrf": match.group(1)},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()


SceneFactory = Callable[..., Awaitable[Scene]]


@pytest.fixture
async def scene_factory(tmp_path: Path) -> AsyncIterator[SceneFactory]:
    """``await scene_factory(session_password=None, **settings)``: a real app on loopback with
    those settings, a counselor logged in, and a session of theirs; all closed afterwards."""
    scenes: list[Scene] = []

    async def make(session_password: str | None = None, **settings: object) -> Scene:
        data_dir = tmp_path / f"data{len(scenes)}"
        app = create_app(Settings(data_dir=data_dir, host="127.0.0.1", **settings))  # type: ignore[arg-type]
        server = TestServer(app, host="127.0.0.1")
        leader_http = TestClient(server)
        await leader_http.start_server()
        db = app[DATABASE]
        counselor = await create_counselor(db, "sari", PASSWORD, "Bu Sari")
        record = await create_session(
            db, counselor.id, title="Mengenal diri", template="online", password=session_password
        )
        await log_in(leader_http, "sari", PASSWORD)
        scene = Scene(server=server, code=record.code, leader_http=leader_http)
        scenes.append(scene)
        return scene

    yield make
    for scene in scenes:
        for client in scene.clients:
            await client.close()
        for http in scene.https:
            await http.close()
        await scene.leader_http.close()


@pytest.fixture
async def scene(scene_factory: SceneFactory) -> Scene:
    return await scene_factory()
