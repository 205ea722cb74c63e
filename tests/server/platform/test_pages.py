from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.platform.security import SECURITY_HEADERS
from server.platform.settings import Settings


@pytest.fixture
async def client(aiohttp_client: object, tmp_path: Path) -> TestClient:
    return await aiohttp_client(create_app(Settings(data_dir=tmp_path)))  # type: ignore[operator, no-any-return]


async def test_home_is_indonesian_by_default(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    text = await response.text()
    assert '<html lang="id">' in text
    assert "Selamat datang di Lingkar" in text
    assert response.headers["Content-Language"] == "id"


async def test_home_follows_the_browser_language(client: TestClient) -> None:
    response = await client.get("/", headers={"Accept-Language": "en-US,en;q=0.9,id;q=0.5"})
    text = await response.text()
    assert '<html lang="en">' in text
    assert "Welcome to Lingkar" in text


async def test_language_switch_is_remembered(client: TestClient) -> None:
    switched = await client.get("/?lang=en")
    assert "Welcome to Lingkar" in await switched.text()
    assert switched.cookies["lang"].value == "en"
    again = await client.get("/", headers={"Accept-Language": "id"})
    assert "Welcome to Lingkar" in await again.text()


async def test_unknown_language_falls_back_to_indonesian(client: TestClient) -> None:
    response = await client.get("/?lang=xx", headers={"Accept-Language": "fr"})
    assert "Selamat datang di Lingkar" in await response.text()
    assert "lang" not in response.cookies


async def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/healthz", "/static/style.css", "/no-such-page"):
        response = await client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp


async def test_static_urls_are_versioned_and_served(client: TestClient) -> None:
    text = await (await client.get("/")).text()
    assert "/static/style.css?v=" in text
    css = await client.get("/static/style.css")
    assert css.status == 200
    missing = await client.get("/static/../server/app.py")
    assert missing.status in {403, 404}
