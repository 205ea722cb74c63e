"""Each browser test module gets its own `lingkar serve` process and data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import CHROMIUM_ARGS
from tests.serverproc import ServerProcess, start_server

# getDisplayMedia without a picker, headless: the fake UI flag picks a fake screen.
SCREEN_ARGS = ["--auto-select-desktop-capture-source=Entire screen"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[ServerProcess]:
    process = start_server(data_dir)
    yield process
    process.stop()


@pytest.fixture
async def screen_browser(chromium_path: Path) -> AsyncIterator[Browser]:
    """Chromium whose pages can share a (fake) screen."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS + SCREEN_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()
