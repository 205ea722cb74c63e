"""Steps and helpers the browser tests share: pages, polling, a counselor's log-in and room,
a student who joins and is admitted."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, expect

from tests import serverproc

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "kata sandi guru bk"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, deadline_s: float = 20.0
) -> None:
    """Poll an async condition until it holds; fail after the deadline."""
    deadline = time.monotonic() + deadline_s
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        await _sleep(0.25)


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def until_true(page: Page, expression: str) -> None:
    """page.wait_for_function evaluates strings, which the strict CSP forbids: poll instead."""

    async def check() -> bool:
        return bool(await page.evaluate(expression))

    await eventually(check, expression)


async def tile_stats(page: Page) -> dict[str, dict[str, int]]:
    """What this page decoded from each other participant (the room updates it every second)."""
    result: dict[str, dict[str, int]] = await page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.tile:not(.self)')].map(t => [
            t.querySelector('.tile-name').textContent,
            {frames: Number(t.dataset.framesDecoded || 0),
             audio: Number(t.dataset.audioPackets || 0)},
        ]))"""
    )
    return result


async def frames_rising(page: Page, names: list[str]) -> None:
    # The viewer looks at the videos: tiles scrolled out of view get no video (adaptive media).
    await page.locator("#grid").scroll_into_view_if_needed()

    async def decoded(minimum: dict[str, int]) -> bool:
        stats = await tile_stats(page)
        return all(stats.get(n, {}).get("frames", 0) > minimum.get(n, 0) for n in names)

    await eventually(lambda: decoded({}), f"video decoded from {names}")
    first = {n: s["frames"] for n, s in (await tile_stats(page)).items()}
    await eventually(lambda: decoded(first), f"video still decoding from {names}")


async def audio_packets(page: Page, name: str) -> int:
    return (await tile_stats(page)).get(name, {}).get("audio", 0)


async def new_context(browser: Browser, requests: list[str], **options: Any) -> BrowserContext:
    context = await browser.new_context(ignore_https_errors=True, locale="en-US", **options)
    context.on("request", lambda request: requests.append(request.url))
    return context


async def join_as(
    page: Page,
    base_url: str,
    code: str,
    name: str,
    shots: str | None = None,
    *,
    data_mode: str | None = None,
) -> None:
    """Consent, device check (``data_mode``: an option of the data saver, by its visible
    text; None keeps the page's default), and on to the lobby."""
    await page.goto(f"{base_url}/s/{code}")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("I have read this and I agree").check()
    if shots:
        await page.screenshot(path=str(SCREENSHOTS / f"{shots}-consent.png"))
    await page.get_by_role("button", name="Continue to the device check").click()
    # The page opens the (fake) camera and microphone first: on two cores with eight other pages
    # open (tests/browser/test_counselor_console.py) that took more than the default 5 s once.
    await expect(page.get_by_role("heading", name="Device check")).to_be_visible(timeout=20_000)
    await expect(page.locator("#net-result")).to_have_text(re.compile(r"good|slow"))
    await expect(page.get_by_label("Microphone", exact=True)).not_to_have_count(0)
    # The level meter moves with the fake microphone's beeps.
    await until_true(
        page, "() => Number(document.getElementById('mic-level').getAttribute('aria-valuenow')) > 0"
    )
    if data_mode is not None:
        check = page.get_by_label("Device check")
        await check.get_by_label("Data saver").select_option(label=data_mode)
    if shots:
        await page.screenshot(path=str(SCREENSHOTS / f"{shots}-device-check.png"))
    await page.get_by_role("button", name="Join the session").click()


async def log_in(page: Page, base: str, username: str) -> None:
    """A counselor logs in and lands on the dashboard."""
    await page.goto(base + "/login")
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url("**/dashboard")


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
    """A new counselor account, logged in on a laptop; returns her room page and the code.

    ``wait_for_devices=False`` clicks "Open the session room" without waiting for the device
    check's connection result (the page itself must wait for the devices)."""
    serverproc.add_counselor(data_dir, username, display_name, PASSWORD)
    context = await new_context(browser, requests, **LAPTOP)
    for script in init_scripts:
        await context.add_init_script(script)
    leader = await context.new_page()
    await log_in(leader, base, username)
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


async def join_admitted(
    browser: Browser,
    leader: Page,
    base: str,
    code: str,
    name: str,
    requests: list[str],
    *,
    init_scripts: tuple[str, ...] = (),
) -> tuple[Page, list[str]]:
    """A student on a phone joins and the counselor admits her; returns her page and a list
    that collects the page's script errors."""
    context = await new_context(browser, requests, **PHONE)
    for script in init_scripts:
        await context.add_init_script(script)
    page = await context.new_page()
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    await join_as(page, base, code, name)
    await leader.get_by_role("button", name=f"Admit {name}").click()
    await expect(page.get_by_role("button", name="Raise hand")).to_be_visible(timeout=15_000)
    return page, page_errors


async def _grows(read: Callable[[], Awaitable[int]]) -> bool:
    before = await read()
    await _sleep(1.2)
    return await read() > before > 0


async def _still(read: Callable[[], Awaitable[int]]) -> bool:
    before = await read()
    await _sleep(1.5)
    return await read() == before


async def open_tab(leader: Page, name: str) -> None:
    """The counselor opens a tab of her panel (Members, Floor, Observation, Evaluation,
    Stage) by its visible name."""
    tab = leader.get_by_role("tab", name=re.compile(rf"^{re.escape(name)}\b"))
    await tab.click()
    await expect(tab).to_have_attribute("aria-selected", "true")


async def member_menu(leader: Page, name: str) -> None:
    """The counselor opens "More" on a member's row (the actions beyond mute and the floor),
    on the Members tab."""
    await open_tab(leader, "Members")
    more = leader.get_by_role("button", name=f"More actions for {name}")
    if await more.get_attribute("aria-expanded") != "true":
        await more.click()
    await expect(more).to_have_attribute("aria-expanded", "true")


async def rising(read: Callable[[], Awaitable[int]]) -> bool:
    """Whether a page's count grows over 1.5 s."""
    before = await read()
    await asyncio.sleep(1.5)
    return await read() > before


async def stage_hand_and_mute(leader: Page, member: Page, name: str) -> str:
    """The counselor moves to the next stage, the member raises her hand, the counselor mutes
    her: the state a restored session must keep. Returns the stage's label."""
    first_stage = await member.locator("#stage-label").inner_text()
    await leader.get_by_role("button", name="Next stage").click()
    await expect(member.locator("#stage-label")).not_to_have_text(first_stage)
    hand = member.get_by_role("button", name="Raise hand")
    await hand.click()
    await expect(hand).to_have_attribute("aria-pressed", "true")
    panel = leader.get_by_role("region", name="Group leader's panel")
    await panel.get_by_role("button", name=f"Mute {name}").click()
    await expect(member.locator("#room-state")).to_contain_text("The counselor muted you")
    return await member.locator("#stage-label").inner_text()


async def heard_again(member: Page, leader_name: str, since: float, what: str) -> float:
    """Seconds from ``since`` (a process's death) until the member hears the counselor again,
    after her audio first stopped (the page's figures lag a second: the first reading after the
    death may still count packets from before it)."""

    def hears() -> Awaitable[bool]:
        return rising(lambda: audio_packets(member, leader_name))

    async def cut() -> bool:
        return not await hears()

    await eventually(cut, f"the audio from the counselor stops with {what}", 10)
    await eventually(hears, f"the counselor heard again after {what}", 30)
    return time.monotonic() - since


async def kept_as_it_was(leader: Page, member: Page, stage: str) -> None:
    """After the session came back: both pages in the room at ``stage``, each saying the chat
    from before is gone; the member's hand still up and still muted by the counselor."""
    for page in (leader, member):
        await expect(page.locator("#room-state")).not_to_contain_text("Reconnecting")
        await expect(page.locator("#stage-label")).to_have_text(stage)
        await expect(page.locator("#chat-log")).to_contain_text("messages written before")
    hand = member.get_by_role("button", name="Raise hand")
    await expect(hand).to_have_attribute("aria-pressed", "true")
    await expect(member.locator("#room-state")).to_contain_text("The counselor muted you")
