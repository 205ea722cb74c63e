"""Each browser test module gets its own `lingkar serve` process and data directory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from tests.conftest import CHROMIUM_ARGS
from tests.serverproc import ServerProcess, start_server
from tests.weaklink import WeakLink, available

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


# A student on a link of its own (tests/weaklink.py): a network namespace, needs root.


@pytest.fixture(scope="module")
def weak_link() -> Iterator[WeakLink]:
    reason = available()
    if reason:
        pytest.fail(f"this test makes a weak link and {reason}")
    link = WeakLink(3)
    link.open()
    try:
        yield link
    finally:
        link.close()


@pytest.fixture(scope="module")
def weak_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def weak_server(weak_data: Path, weak_link: WeakLink) -> Iterator[ServerProcess]:
    # Started after the veth exists, on every interface, so that its ICE candidates include the
    # weak student's way in.
    server = start_server(weak_data, host="0.0.0.0")
    yield server
    server.stop()


@pytest.fixture
async def weak_browser(weak_link: WeakLink) -> AsyncIterator[Browser]:
    """Chromium inside the weak link's namespace."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(weak_link.chromium()), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()
