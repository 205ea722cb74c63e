"""A whole group guidance session in real browsers: a counselor and three students.

The counselor logs in, creates a session and opens it; three students join from the link (one on
a 360 px phone): consent, device check, lobby. The counselor admits two and denies one; video
flows every way; Mute all silences the members; a shared screen, a stage change and chat reach
everyone; a member leaves; the counselor ends the session. No page asks another origin anything.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests import serverproc
from tests.conftest import CHROMIUM_ARGS
from tests.serverproc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "kata sandi guru bk"
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1280, "height": 800}}
# getDisplayMedia without a picker, headless: the fake UI flag alone picks a fake screen.
SCREEN_ARGS = ["--auto-select-desktop-capture-source=Entire screen"]


@pytest.fixture
async def media_browser(chromium_path: Path) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS + SCREEN_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


def add_counselor(data_dir: Path, username: str) -> None:
    serverproc.add_counselor(data_dir, username, "Bu Sari", PASSWORD)


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
    page: Page, base_url: str, code: str, name: str, shots: str | None = None
) -> None:
    """Consent, device check, and on to the lobby."""
    await page.goto(f"{base_url}/s/{code}")
    await page.get_by_label("Your name").fill(name)
    await page.get_by_label("I have read this and I agree").check()
    if shots:
        await page.screenshot(path=str(SCREENSHOTS / f"{shots}-consent.png"))
    await page.get_by_role("button", name="Continue to the device check").click()
    await expect(page.get_by_role("heading", name="Device check")).to_be_visible()
    await expect(page.locator("#net-result")).to_have_text(re.compile(r"good|slow"))
    await expect(page.get_by_label("Microphone", exact=True)).not_to_have_count(0)
    # The level meter moves with the fake microphone's beeps.
    await until_true(
        page, "() => Number(document.getElementById('mic-level').getAttribute('aria-valuenow')) > 0"
    )
    if shots:
        await page.screenshot(path=str(SCREENSHOTS / f"{shots}-device-check.png"))
    await page.get_by_role("button", name="Join the session").click()


async def test_a_whole_session_in_real_browsers(
    server: ServerProcess, data_dir: Path, media_browser: Browser
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    add_counselor(data_dir, "bu.sari")
    requests: list[str] = []
    browser = media_browser

    # The counselor logs in and creates the session on the dashboard.
    lead_ctx = await new_context(browser, requests, **LAPTOP)
    leader = await lead_ctx.new_page()
    leader.on("dialog", lambda dialog: dialog.accept())
    await leader.goto(base + "/login")
    await leader.get_by_label("User name").fill("bu.sari")
    await leader.get_by_label("Password").fill(PASSWORD)
    await leader.get_by_role("button", name="Log in").click()
    await leader.wait_for_url("**/dashboard")
    await leader.get_by_label("Session title or topic").fill("Mengelola emosi")
    await leader.get_by_role("button", name="Create session").click()
    await leader.wait_for_url(re.compile(r".*/dashboard#session-\d+$"))
    code = await leader.locator("article.session .code").first.inner_text()

    # The page in Bahasa Indonesia (the header's switch), without script errors.
    id_ctx = await new_context(browser, requests, **PHONE)
    id_page = await id_ctx.new_page()
    page_errors: list[str] = []
    id_page.on("pageerror", lambda error: page_errors.append(str(error)))
    await id_page.goto(f"{base}/s/{code}?lang=id")
    await expect(id_page.get_by_label("Nama Anda")).to_be_visible()
    await expect(id_page.get_by_text("Saya sudah membaca penjelasan ini")).to_be_visible()
    await id_page.get_by_label("Nama Anda").fill("Dewi")
    await id_page.get_by_role("button", name="Lanjut ke pemeriksaan perangkat").click()
    await expect(id_page.get_by_role("alert")).to_have_text("Centang persetujuan untuk bergabung.")
    await id_page.screenshot(path=str(SCREENSHOTS / "member-phone-consent-id.png"))
    assert page_errors == []
    await id_ctx.close()

    # Ani (on a phone) comes early: the session is not open yet, and her page keeps trying.
    ani_ctx = await new_context(browser, requests, **PHONE)
    ani = await ani_ctx.new_page()
    await join_as(ani, base, code, "Ani", shots="member-phone")
    await expect(ani.locator("#lobby-text")).to_have_text(re.compile("not opened the session yet"))

    await leader.goto(f"{base}/s/{code}/lead")
    await expect(leader.locator("#net-result")).to_have_text(re.compile(r"good|slow"))
    await leader.get_by_role("button", name="Open the session room").click()
    await expect(leader.get_by_role("region", name="Group leader's panel")).to_be_visible()
    await expect(ani.locator("#lobby-text")).to_have_text(
        "Waiting for the counselor to let you in.", timeout=15000
    )
    await ani.screenshot(path=str(SCREENSHOTS / "member-phone-lobby.png"))

    budi_ctx = await new_context(browser, requests, **LAPTOP)
    budi = await budi_ctx.new_page()
    await join_as(budi, base, code, "Budi")
    citra_ctx = await new_context(browser, requests, **LAPTOP)
    citra = await citra_ctx.new_page()
    await join_as(citra, base, code, "Citra")
    waiting = leader.locator("#waiting-list")
    for name in ("Ani", "Budi", "Citra"):
        await expect(waiting.get_by_text(name, exact=True)).to_be_visible()
    await leader.screenshot(path=str(SCREENSHOTS / "leader-waiting.png"), full_page=True)

    # The counselor admits two and denies one, with a message.
    await leader.get_by_role("button", name="Admit Ani").click()
    await leader.get_by_role("button", name="Admit Budi").click()
    await leader.get_by_label("Message when denying").fill("Sesi ini untuk kelas 9A")
    await leader.get_by_role("button", name="Deny Citra").click()
    await expect(citra.locator("#final-text")).to_have_text(
        "The counselor did not let you into this session."
    )
    await expect(citra.get_by_text("Sesi ini untuk kelas 9A")).to_be_visible()
    await citra_ctx.close()

    # Everyone in the room decodes everyone else's video.
    for page in (ani, budi):
        await expect(page.get_by_role("button", name="Raise hand")).to_be_visible()
    await frames_rising(leader, ["Ani", "Budi"])
    await frames_rising(ani, ["Bu Sari", "Budi"])
    await frames_rising(budi, ["Bu Sari", "Ani"])
    stage = "Stage 1 of 5"
    for page in (leader, ani, budi):
        await expect(page.locator("#stage-label")).to_contain_text(stage)
    # The leader's tile comes first.
    await expect(ani.locator(".tile").first).to_have_class(re.compile(r"\bleader\b"))
    assert await ani.evaluate("document.documentElement.scrollWidth") <= 360
    await ani.screenshot(path=str(SCREENSHOTS / "room-phone.png"))
    await budi.screenshot(path=str(SCREENSHOTS / "room-laptop.png"))

    # Mute all: the members' audio stops reaching the others.
    await eventually(
        lambda: _grows(lambda: audio_packets(budi, "Ani")), "Ani's audio reaching Budi"
    )
    await leader.get_by_role("button", name="Mute all").click()
    await expect(ani.locator("#room-state")).to_contain_text("The counselor muted you")
    await expect(ani.get_by_role("button", name="Microphone")).to_have_attribute(
        "aria-pressed", "false"
    )
    await _sleep(1.5)
    await eventually(
        lambda: _still(lambda: audio_packets(budi, "Ani")), "Ani's audio stopped at Budi"
    )
    await eventually(
        lambda: _still(lambda: audio_packets(leader, "Budi")), "Budi's audio stopped at the leader"
    )

    # The counselor's shared screen appears large for the members.
    await leader.get_by_role("button", name="Share screen").click()
    await expect(leader.get_by_role("button", name="Share screen")).to_have_attribute(
        "aria-pressed", "true"
    )
    for page in (ani, budi):
        await expect(page.locator("#screen-area")).to_be_visible(timeout=15000)
        await until_true(
            page, "() => Number(document.getElementById('screen-area').dataset.framesDecoded) > 0"
        )

    # Next stage: every member's stage label changes.
    await leader.get_by_role("button", name="Next stage").click()
    for page in (leader, ani, budi):
        await expect(page.locator("#stage-label")).to_contain_text("Stage 2 of 5")

    # Chat to everyone, and privately to the counselor.
    await budi.get_by_role("button", name="Chat").click()
    await budi.get_by_label("Message").fill("Halo semua")
    await budi.get_by_role("button", name="Send").click()
    for page in (leader, ani):
        await expect(page.locator("#chat-log")).to_contain_text("Halo semua")
    await ani.get_by_role("button", name="Chat").click()
    await ani.get_by_label("Send to").select_option("leader")
    await ani.get_by_label("Message").fill("Saya sedang sedih")
    await ani.get_by_role("button", name="Send").click()
    await expect(leader.locator("#signals")).to_contain_text("Ani (private): Saya sedang sedih")
    await ani.get_by_role("button", name="I need to talk").click()
    await expect(leader.locator("#signals")).to_contain_text("Ani needs to talk to you.")
    await ani.get_by_role("button", name="Raise hand").click()
    await expect(leader.locator("#hands-list")).to_contain_text("Ani")
    await leader.screenshot(path=str(SCREENSHOTS / "leader-panel.png"), full_page=True)
    await ani.screenshot(path=str(SCREENSHOTS / "room-phone-screen-share.png"))
    await _sleep(0.5)
    assert "Saya sedang sedih" not in await budi.locator("#chat-log").inner_text()

    # A member leaves.
    await budi.get_by_role("button", name="Leave").click()
    await expect(budi.locator("#final-text")).to_have_text("You left the session.")
    await expect(leader.locator("#members-list")).not_to_contain_text("Budi")
    await budi_ctx.close()

    # The counselor ends the session: every page says so.
    await leader.get_by_role("button", name="End session").click()
    for page in (leader, ani):
        await expect(page.locator("#final-text")).to_contain_text("The session has ended.")

    foreign = [url for url in requests if not url.startswith(base + "/")]
    assert foreign == [], foreign
    await ani_ctx.close()
    await lead_ctx.close()


async def _grows(read: Callable[[], Awaitable[int]]) -> bool:
    before = await read()
    await _sleep(1.2)
    return await read() > before > 0


async def _still(read: Callable[[], Awaitable[int]]) -> bool:
    before = await read()
    await _sleep(1.5)
    return await read() == before
