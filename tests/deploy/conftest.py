"""A Lingkar app on loopback with chosen settings, a counselor and a session, for deploy tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import create_app
from server.counselors import create_counselor
from server.keys import DATABASE
from server.sessions import create_session
from server.settings import Settings
from tests.live.conftest import PASSWORD, Scene, log_in

SceneFactory = Callable[..., Awaitable[Scene]]


@pytest.fixture
async def configured_scene(tmp_path: Path) -> AsyncIterator[SceneFactory]:
    """``await configured_scene(**settings)``: like tests/live's scene, with those settings."""
    scenes: list[Scene] = []

    async def make(**settings: object) -> Scene:
        data_dir = tmp_path / f"data{len(scenes)}"
        app = create_app(Settings(data_dir=data_dir, host="127.0.0.1", **settings))  # type: ignore[arg-type]
        server = TestServer(app, host="127.0.0.1")
        leader_http = TestClient(server)
        await leader_http.start_server()
        db = app[DATABASE]
        counselor = await create_counselor(db, "sari", PASSWORD, "Bu Sari")
        record = await create_session(db, counselor.id, title="Mengenal diri", template="online")
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
