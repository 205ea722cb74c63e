"""Defects a new user met in Chromium, each found by its visible or accessible name.

- A refused join (a wrong session password, a name already in the room) is in view, next to
  the field it concerns, and has the focus: on a laptop and on a phone.
- The message typed to deny one student is not sent to the next one denied.
- A 40-character name without a space (an e-mail address) scrolls no page sideways, and the
  whole name stays available.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests import serverproc
from tests.browser.steps import (
    LAPTOP,
    PASSWORD,
    PHONE,
    join_admitted,
    log_in,
    member_menu,
    new_context,
    open_room_as_leader,
    open_tab,
)
from tests.serverproc import ServerProcess

LONG_NAME = "siti.nurhaliza.rahmawati@sekolah.sch.id"  # 39 characters, no space

IN_VIEW = """(id) => { const node = document.getElementById(id);
  const box = node.getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight; }"""
FOCUSED = "() => document.activeElement ? document.activeElement.id : ''"
# What sticks out to the right of the window (for the failure message).
WIDEST = """() => [document.documentElement.scrollWidth, document.documentElement.clientWidth,
  window.innerWidth].concat([...document.querySelectorAll('body *')]
  .filter(n => n.scrollWidth > n.clientWidth + 1 && getComputedStyle(n).overflowX === 'visible')
  .slice(0, 8).map(n => n.tagName + '#' + n.id + '.' + n.className + ' '
    + n.scrollWidth + '/' + n.clientWidth))"""
SIDEWAYS = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


async def fill_form(page: Page, base: str, code: str, name: str, password: str | None) -> None:
    await page.goto(f"{base}/s/{code}")
    await page.get_by_label("Your name").fill(name)
    if password is not None:
        await page.get_by_label("Session password").fill(password)
    await page.get_by_label("I have read this and I agree").check()
    await page.get_by_role("button", name="Continue to the device check").click()
    await page.get_by_role("button", name="Join the session").click()


async def expect_refusal(page: Page, error_id: str, text: str) -> None:
    """The refusal is shown, in the first screen's view, and has the focus."""
    message = page.locator(f"#{error_id}")
    await expect(message).to_have_text(text)
    await expect(message).to_be_in_viewport()
    assert await page.evaluate(IN_VIEW, error_id), f"{error_id} is not inside the window"
    assert await page.evaluate(FOCUSED) == error_id


async def test_refusals_are_in_view_next_to_their_field(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    serverproc.add_counselor(data_dir, "bu.wati", "Bu Wati", PASSWORD)
    context = await new_context(browser, requests, **LAPTOP)
    leader = await context.new_page()
    await log_in(leader, base, "bu.wati")
    await leader.get_by_label("Session title or topic").fill("Belajar bersama")
    await leader.get_by_label("Session password (optional)").fill("rahasia")
    await leader.get_by_role("button", name="Create session").click()
    await leader.wait_for_url(re.compile(r".*/dashboard#session-\d+$"))
    code = await leader.locator("article.session .code").first.inner_text()
    await leader.goto(f"{base}/s/{code}/lead")
    await leader.get_by_role("button", name="Open the session room").click()

    for viewport in (LAPTOP, PHONE):
        student_context = await new_context(browser, requests, **viewport)
        page = await student_context.new_page()
        await fill_form(page, base, code, "Rudi", "salah")
        await expect_refusal(page, "join-password-error", "Wrong session password.")
        await expect(page.get_by_label("Session password")).to_have_attribute(
            "aria-invalid", "true"
        )
        await student_context.close()

    # A name already in the room: the message is by the name field.
    first_context = await new_context(browser, requests, **LAPTOP)
    first = await first_context.new_page()
    await fill_form(first, base, code, "Rudi", "rahasia")
    await expect(leader.get_by_role("button", name="Admit Rudi")).to_be_visible()
    for viewport in (LAPTOP, PHONE):
        student_context = await new_context(browser, requests, **viewport)
        page = await student_context.new_page()
        await fill_form(page, base, code, "Rudi", "rahasia")
        await expect_refusal(
            page,
            "join-name-error",
            "Someone in this session already has that name. Add something, for example an initial.",
        )
        await expect(page.get_by_label("Your name")).to_have_attribute("aria-invalid", "true")
        await student_context.close()


async def test_a_denial_message_is_for_one_student(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.dina", "Bu Dina", requests
    )
    pages = {}
    for name in ("Tono", "Tini"):
        context = await new_context(browser, requests, **PHONE)
        page = await context.new_page()
        await fill_form(page, base, code, name, None)
        await expect(leader.get_by_role("button", name=f"Admit {name}")).to_be_visible()
        pages[name] = page
    # On the counselor's 1280x800 laptop, who waits and Admit are in view without scrolling.
    await expect(leader.locator("#waiting-title")).to_be_in_viewport()
    await expect(leader.get_by_role("button", name="Admit Tono")).to_be_in_viewport()
    await leader.get_by_label("Message when denying").fill("Sesi ini untuk kelas 9A")
    await leader.get_by_role("button", name="Deny Tono").click()
    await expect(pages["Tono"].locator("#final-message")).to_contain_text("Sesi ini untuk kelas 9A")
    await expect(leader.get_by_label("Message when denying")).to_have_value("")
    await leader.get_by_role("button", name="Deny Tini").click()
    await expect(pages["Tini"].locator("#final-text")).not_to_be_empty()
    await expect(pages["Tini"].locator("#final-message")).to_have_text("")


async def test_a_long_name_scrolls_no_page_sideways(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.lina", "Bu Lina", requests
    )
    member, _ = await join_admitted(browser, leader, base, code, LONG_NAME, requests)
    await expect(leader.locator("#members-list")).to_contain_text(LONG_NAME)
    # The observation table lists her within a few seconds.
    await expect(leader.locator("#obs-table")).to_contain_text(LONG_NAME, timeout=15_000)
    await member.get_by_role("button", name="Raise hand").click()
    await expect(leader.locator("#hands-list")).to_contain_text(LONG_NAME)
    # Every tab of the counselor's panel, and the member's menu open.
    await member_menu(leader, LONG_NAME)
    for tab in ("Members", "Floor", "Observation", "Evaluation", "Stage", "Members"):
        await open_tab(leader, tab)
        for page in (leader, member):
            wide = await page.evaluate(WIDEST)
            assert await page.evaluate(SIDEWAYS) <= 0, f"{page.url} scrolls sideways: {wide}"
    # On the tiles the name may be cut short; the whole of it is in the tooltip.
    for page in (leader, member):
        caption = page.locator(".tile-name", has_text=re.compile("siti"))
        await expect(caption).to_have_attribute("title", re.compile("^" + re.escape(LONG_NAME)))
        box = await caption.bounding_box()
        tile_box = await page.locator(".tile", has=caption).bounding_box()
        assert box is not None
        assert tile_box is not None
        assert box["width"] <= tile_box["width"]


async def test_a_reload_comes_straight_back_into_the_room(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.yati", "Bu Yati", requests
    )
    ani, _ = await join_admitted(browser, leader, base, code, "Ani", requests)
    await ani.get_by_role("button", name="Raise hand").click()
    await expect(leader.locator("#hands-list")).to_contain_text("Ani")
    microphone = ani.get_by_role("button", name="Microphone")
    await expect(microphone).to_have_attribute("aria-pressed", "true")
    await microphone.click()
    await expect(microphone).to_have_attribute("aria-pressed", "false")
    members = leader.locator("#members-list li", has_text="Ani")

    for _ in range(2):  # twice: the place kept stays good after a resume
        await ani.reload()
        # Straight back: no form, no lobby to wait in, no admission.
        await expect(ani.get_by_role("button", name="Raise hand")).to_be_visible(timeout=8_000)
        await expect(ani.get_by_role("button", name="Raise hand")).to_have_attribute(
            "aria-pressed", "true"
        )
        await expect(ani.get_by_role("button", name="Microphone")).to_have_attribute(
            "aria-pressed", "false"
        )
        await expect(leader.get_by_role("button", name="Admit Ani")).to_have_count(0)
        await expect(members).to_have_count(1)
        await expect(leader.locator("#hands-list")).to_contain_text("Ani")
        await expect(ani.get_by_label("Your name")).to_be_hidden()

    # Leaving ends the kept place: a reload after it shows the form.
    await ani.get_by_role("button", name="Leave").click()
    await expect(ani.locator("#final-text")).to_have_text("You left the session.")
    await ani.reload()
    await expect(ani.get_by_label("Your name")).to_be_visible()
    await expect(members).to_have_count(0)
