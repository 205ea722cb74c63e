"""The smaller things a new user met (issue 12, defect 8), each checked as the user meets it:
the counselor has no "Raise hand"; a student's own tile never says "camera off" while her
camera shows; the Chat button keeps its name "Chat", the unread count being its description;
the floor banner does not ask a student to turn on a microphone that is on; a long name's
caption leaves the phone's tile visible; the lobby's changes are read out once; "Session
report" is the report page's heading."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.steps import (
    PHONE,
    _sleep,
    join_admitted,
    join_as,
    member_menu,
    new_context,
    open_room_as_leader,
    open_tab,
)
from tests.serverproc import ServerProcess

# Every moment the student's own tile says "camera off" (from the first paint on).
WATCH_OWN_TILE = """
window.cameraOffSeen = 0;
new MutationObserver(() => {
  const own = document.querySelector('.tile.self');
  if (own && /camera off/i.test(own.textContent)) window.cameraOffSeen += 1;
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
LONG = "Muhammad Rizky Pratama Nugraha Saputra"


async def test_the_small_things_a_new_user_met(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.nina", "Bu Nina", requests
    )
    # The counselor leads; she raises no hand.
    await expect(leader.get_by_role("button", name="Share screen")).to_be_visible()
    await expect(leader.get_by_role("button", name="Raise hand")).to_have_count(0)

    # Ani's own tile, from admission on, never says "camera off" while her camera sends.
    ani, errors = await join_admitted(
        browser, leader, base, code, "Ani", requests, init_scripts=(WATCH_OWN_TILE,)
    )
    await expect(ani.locator(".tile.self video")).to_have_js_property("readyState", 4)
    await _sleep(2.0)
    assert await ani.evaluate("window.cameraOffSeen") == 0

    # A message while her chat is closed: the button is still "Chat"; the count describes it.
    await leader.get_by_role("button", name="Chat", exact=True).click()
    await leader.get_by_label("Message", exact=True).fill("Selamat datang")
    await leader.get_by_role("button", name="Send").click()
    chat = ani.get_by_role("button", name="Chat", exact=True)
    await expect(chat).to_have_accessible_description("1 unread")
    await chat.click()
    await expect(ani.get_by_role("log")).to_contain_text("Selamat datang")
    await expect(chat).to_have_accessible_description("")

    # Given the floor with her microphone already on: "speak now", not "turn it on".
    await expect(ani.get_by_role("button", name="Microphone")).to_have_attribute(
        "aria-pressed", "true"
    )
    await open_tab(leader, "Members")
    await leader.get_by_role("button", name="Give the floor to Ani").click()
    await expect(ani.locator("#floor-text")).to_have_text("You have the floor: speak now")
    await ani.get_by_role("button", name="Microphone").click()
    await expect(ani.locator("#floor-text")).to_have_text(
        "You have the floor: turn on your microphone to speak"
    )

    # A long name on a phone: the caption is one line, the tile's picture stays visible.
    long_page, _ = await join_admitted(browser, leader, base, code, LONG, requests)
    for page in (ani, long_page):
        tile = page.locator(".tile", has=page.locator("figcaption", has_text="Muhammad"))
        caption = tile.locator("figcaption")
        box, tile_box = await caption.bounding_box(), await tile.bounding_box()
        assert box is not None
        assert tile_box is not None
        assert box["height"] <= tile_box["height"] * 0.4, (box, tile_box)

    # The lobby: a change (the counselor locks, with the queue) is read out once, by the
    # lobby's own status line, not a second time by the page's announcer.
    budi_context = await new_context(browser, requests, **PHONE)
    budi = await budi_context.new_page()
    await join_as(budi, base, code, "Budi")
    await expect(budi.locator("#lobby-text")).to_have_text(re.compile("waiting", re.I))
    await open_tab(leader, "Floor")
    await leader.get_by_label("While locked, new arrivals may still wait in the lobby").check()
    await leader.get_by_role("button", name="Lock", exact=True).click()
    locked = "The counselor has locked the session. You are still waiting in the lobby."
    await expect(budi.locator("#lobby-text")).to_have_text(locked)
    await _sleep(0.5)
    live_texts = await budi.evaluate(
        """() => [...document.querySelectorAll('[role=status], [role=alert], [aria-live]')]
             .filter(n => !n.closest('[hidden]')).map(n => n.textContent.trim())"""
    )
    assert live_texts.count(locked) == 1, live_texts

    # Removing someone through the member's menu still works after all this.
    leader.on("dialog", lambda dialog: dialog.accept())
    await member_menu(leader, LONG)
    await leader.get_by_role("button", name=f"Remove {LONG}").click()
    await expect(long_page.locator("#final-text")).to_have_text(
        "The counselor removed you from the session."
    )

    # The report's title is a heading.
    session_id = await leader.locator("#live").get_attribute("data-session-id")
    await leader.get_by_role("button", name="End session").click()
    await expect(leader.locator("#final-text")).to_contain_text("The session has ended.")
    await leader.goto(f"{base}/dashboard/sessions/{session_id}/report")
    await expect(
        leader.get_by_role("heading", level=1, name=re.compile("Session report"))
    ).to_be_visible()
    assert errors == []
