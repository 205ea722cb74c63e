"""The counselor's console on a laptop (issue 12): a whole session runs without scrolling the
page. Six students in the room and two waiting; at 1280x800, 1366x768 and on a 768x1024 tablet
the page scrolls neither way, every video is in the window, and so are the arrival signal with
its Admit buttons and the top bar (Next stage, Mute all, Lock, End session), whichever tab of
the panel is open. The tabs and each member's menu of further actions work from the keyboard.
Screenshots go to docs/screenshots (console-*.png); a phone keeps a scrolling page whose top
bar stays in view."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.steps import (
    PHONE,
    SCREENSHOTS,
    join_admitted,
    join_as,
    new_context,
    open_room_as_leader,
    open_tab,
)
from tests.serverproc import ServerProcess

MEMBERS = ("Ani", "Budi", "Citra", "Dewi", "Eko", "Fajar")
WAITING = ("Gita", "Hadi")
SIZES = ((1280, 800), (1366, 768), (768, 1024))
TABS = ("Members", "Floor", "Observation", "Evaluation", "Stage")
# How far the page scrolls each way, and every video tile that is not wholly in the window.
SCROLL = """() => [document.documentElement.scrollWidth - document.documentElement.clientWidth,
  document.documentElement.scrollHeight - document.documentElement.clientHeight]"""
TILES_OUT = """() => [...document.querySelectorAll('#grid .tile')].filter(t => {
  const b = t.getBoundingClientRect();
  return b.width < 100 || b.top < 0 || b.left < 0 || b.bottom > innerHeight + 0.5
    || b.right > innerWidth + 0.5; }).map(t => t.querySelector('.tile-name').textContent)"""


async def everything_in_view(leader: Page, where: str, tiles: int = 1 + len(MEMBERS)) -> None:
    assert await leader.evaluate(SCROLL) == [0, 0], f"the page scrolls at {where}"
    assert await leader.evaluate(TILES_OUT) == [], f"videos out of the window at {where}"
    await expect(leader.locator("#grid .tile")).to_have_count(tiles)
    for name in ("Next stage", "Mute all", "Lock", "End session"):
        await expect(leader.get_by_role("button", name=name, exact=True)).to_be_in_viewport()


@pytest.mark.timeout(360)  # nine Chromium pages on two cores
async def test_a_session_runs_on_a_laptop_without_scrolling(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.rina", "Bu Rina", requests
    )
    for name in MEMBERS:
        await join_admitted(browser, leader, base, code, name, requests)
    for name in WAITING:
        context = await new_context(browser, requests, **PHONE)
        await join_as(await context.new_page(), base, code, name)

    for name in WAITING:
        # The ninth Chromium on two cores: its join may take a while to reach the lobby.
        await expect(leader.get_by_role("button", name=f"Admit {name}")).to_be_visible(
            timeout=20_000
        )
    arrival = leader.locator("#arrival")
    await expect(arrival).to_contain_text("2 waiting: Gita, Hadi")
    for width, height in SIZES:
        await leader.set_viewport_size({"width": width, "height": height})
        for tab in TABS:
            await open_tab(leader, tab)
            where = f"{width}x{height}, tab {tab}"
            await everything_in_view(leader, where)
            await expect(arrival).to_be_in_viewport()
            await expect(leader.get_by_role("button", name="Admit all")).to_be_in_viewport()
            for name in WAITING:
                await expect(leader.get_by_role("button", name=f"Admit {name}")).to_be_in_viewport()
        # The tabs sit on one line, none cut off.
        assert await leader.locator("#lead-tabs").evaluate("n => n.scrollWidth <= n.clientWidth")
        await open_tab(leader, "Members")
        await leader.screenshot(path=str(SCREENSHOTS / f"console-{width}x{height}.png"))

    # The tabs from the keyboard: arrows move, Home and End jump; the pane follows.
    await leader.set_viewport_size({"width": 1280, "height": 800})
    members_tab = leader.get_by_role("tab", name="Members")
    await members_tab.focus()
    await leader.keyboard.press("ArrowRight")
    await expect(leader.get_by_role("tab", name="Floor")).to_be_focused()
    await expect(leader.get_by_role("button", name="Take turns")).to_be_visible()
    await leader.keyboard.press("End")
    await expect(leader.get_by_role("tab", name="Stage")).to_have_attribute("aria-selected", "true")
    await expect(leader.get_by_role("tabpanel", name="Stage")).to_be_visible()
    await leader.keyboard.press("Home")
    await expect(members_tab).to_be_focused()
    await expect(leader.get_by_role("tabpanel", name="Members")).to_be_visible()

    # A member's row: mute and the floor one click away; the rest behind "More", which the
    # keyboard opens and Escape closes, back on the button.
    await expect(leader.get_by_role("button", name="Mute Citra")).to_be_visible()
    await expect(leader.get_by_role("button", name="Give the floor to Citra")).to_be_visible()
    stop_camera = leader.get_by_role("button", name="Stop Citra's camera")
    await expect(stop_camera).to_be_hidden()
    more = leader.get_by_role("button", name="More actions for Citra")
    await more.focus()
    await leader.keyboard.press("Enter")
    await expect(more).to_have_attribute("aria-expanded", "true")
    await expect(stop_camera).to_be_visible()
    await expect(leader.get_by_role("button", name="Send Citra back to the lobby")).to_be_visible()
    await leader.screenshot(path=str(SCREENSHOTS / "console-member-menu.png"))
    await stop_camera.focus()
    await leader.keyboard.press("Escape")
    await expect(stop_camera).to_be_hidden()
    await expect(more).to_be_focused()
    assert await leader.evaluate(SCROLL) == [0, 0]

    # One click admits everyone waiting; the signal says nobody waits any more.
    await leader.get_by_role("button", name="Admit all").click()
    # Two admissions, and the lobby's update, with nine pages on two cores: more than 5 s once.
    await expect(arrival).to_contain_text("Nobody waiting", timeout=15_000)
    everyone = 1 + len(MEMBERS) + len(WAITING)
    await expect(leader.locator("#grid .tile")).to_have_count(everyone)
    await everything_in_view(leader, "1280x800 with nine in the room", everyone)

    # On a phone the page scrolls, and the top bar stays in view at the bottom of the page.
    await leader.set_viewport_size(PHONE["viewport"])
    assert (await leader.evaluate(SCROLL))[0] == 0, "the phone page scrolls sideways"
    await leader.screenshot(path=str(SCREENSHOTS / "console-390x844.png"))
    await leader.locator(".saver").scroll_into_view_if_needed()
    await expect(leader.get_by_role("button", name="Next stage")).to_be_in_viewport()
    await expect(arrival).to_be_in_viewport()
