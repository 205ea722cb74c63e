"""Steps several browser tests share: a counselor logs in, creates a session and opens its room."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.test_session_e2e import LAPTOP, PASSWORD, new_context
from tests.serverproc import add_counselor


async def open_room_as_leader(
    browser: Browser,
    base: str,
    data_dir: Path,
    username: str,
    display_name: str,
    requests: list[str],
    *,
    init_scripts: tuple[str, ...] = (),
    wait_for_devices: bool = True,
) -> tuple[Page, str]:
    """A new counselor account, logged in on a laptop; returns her room page and the code."""
    add_counselor(data_dir, username, display_name, PASSWORD)
    context = await new_context(browser, requests, **LAPTOP)
    for script in init_scripts:
        await context.add_init_script(script)
    leader = await context.new_page()
    await leader.goto(base + "/login")
    await leader.get_by_label("User name").fill(username)
    await leader.get_by_label("Password").fill(PASSWORD)
    await leader.get_by_role("button", name="Log in").click()
    await leader.wait_for_url("**/dashboard")
    await leader.get_by_label("Session title or topic").fill("Percaya diri")
    await leader.get_by_role("button", name="Create session").click()
    await leader.wait_for_url(re.compile(r".*/dashboard#session-\d+$"))
    code = await leader.locator("article.session .code").first.inner_text()
    await leader.goto(f"{base}/s/{code}/lead")
    if wait_for_devices:
        await expect(leader.locator("#net-result")).to_have_text(re.compile(r"good|slow"))
    await leader.get_by_role("button", name="Open the session room").click()
    await expect(leader.get_by_role("region", name="Group leader's panel")).to_be_visible()
    return leader, code
