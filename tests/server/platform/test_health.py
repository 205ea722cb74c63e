from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient

from server import __version__
from server.app import create_app
from server.platform.settings import Settings


async def test_healthz_reports_version_and_rising_uptime(
    aiohttp_client: object, tmp_path: Path
) -> None:
    client: TestClient = await aiohttp_client(create_app(Settings(data_dir=tmp_path)))  # type: ignore[operator]
    first = await client.get("/healthz")
    assert first.status == 200
    assert first.headers["Cache-Control"] == "no-store"
    body = await first.json()
    assert body["status"] == "ok"
    assert body["version"] == __version__
    assert body["uptime_seconds"] >= 0
    second = await (await client.get("/healthz")).json()
    assert second["uptime_seconds"] >= body["uptime_seconds"]


async def test_healthz_rejects_other_methods(aiohttp_client: object, tmp_path: Path) -> None:
    client: TestClient = await aiohttp_client(create_app(Settings(data_dir=tmp_path)))  # type: ignore[operator]
    response = await client.post("/healthz", data=b"x")
    assert response.status == 405
