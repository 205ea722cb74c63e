"""Helpers for tests of accounts, login and the dashboard: a real app on a temporary data dir."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from server.accounts.counselors import Counselor, create_counselor
from server.app import create_app
from server.db.database import DATABASE
from server.platform.settings import Settings

PASSWORD = "kata-sandi-rahasia"
CSRF_PATTERN = re.compile(r'name="csrf" value="([^"]+)"')


async def start_client(aiohttp_client: Any, data_dir: Path) -> TestClient:
    client: TestClient = await aiohttp_client(create_app(Settings(data_dir=data_dir)))
    return client


async def add_counselor(client: TestClient, username: str, name: str | None = None) -> Counselor:
    return await create_counselor(client.app[DATABASE], username, PASSWORD, name)


async def csrf_of(client: TestClient, path: str) -> str:
    response = await client.get(path)
    match = CSRF_PATTERN.search(await response.text())
    assert match is not None, f"no CSRF field on {path}"
    return match.group(1)


async def log_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    token = await csrf_of(client, "/login")
    return await client.post(
        "/login",
        data={"csrf": token, "username": username, "password": password},
        allow_redirects=False,
    )
