"""The counselor's controls on one student, and the lock, in real browsers.

A counselor and a student on a phone are in the room. The counselor mutes her, then asks her to
unmute: a dialog asks the student, she accepts, and the counselor is told. The counselor stops
her camera: the student is told and her picture stops at the counselor's. The counselor locks
the room with the queue: a late student waits in the lobby and is told it is locked; without
the queue, the next one is turned away. Last, the counselor removes the first student, who is
told so. No page asks another origin anything.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.steps import (
    LAPTOP,
    _sleep,
    eventually,
    frames_rising,
    join_admitted,
    join_as,
    member_menu,
    new_context,
    open_room_as_leader,
    open_tab,
    tile_stats,
)
from tests.serverproc import ServerProcess


async def frames_from(page: Page, name: str) -> int:
    return (await tile_stats(page)).get(name, {}).get("frames", 0)


async def test_mute_unmute_request_stop_camera_lock_and_remove(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.wati", "Bu Wati", requests
    )
    leader.on("dialog", lambda dialog: dialog.accept())  # "Remove Ani from the session?"
    panel = leader.get_by_role("region", name="Group leader's panel")

    ani, page_errors = await join_admitted(browser, leader, base, code, "Ani", requests)
    await frames_rising(leader, ["Ani"])
    microphone = ani.get_by_role("button", name="Microphone")

    # Mute, then ask to unmute: the student decides in a dialog.
    await panel.get_by_role("button", name="Mute Ani").click()
    await expect(ani.locator("#room-state")).to_contain_text("The counselor muted you")
    await expect(microphone).to_have_attribute("aria-pressed", "false")
    await member_menu(leader, "Ani")
    await panel.get_by_role("button", name="Ask Ani to unmute").click()
    dialog = ani.get_by_role("dialog", name="The counselor asks you to speak")
    await expect(dialog).to_be_visible()
    await dialog.get_by_role("button", name="Unmute").click()
    await expect(dialog).to_be_hidden()
    await expect(microphone).to_have_attribute("aria-pressed", "true")
    # The visible line of the counselor's signals (the screen reader's announcer, visually
    # hidden, may say the same words at the same moment).
    await expect(leader.locator("li", has_text="Ani unmuted.")).to_be_visible()

    # Stop her camera: she is told, and her picture stops at the counselor's.
    await panel.get_by_role("button", name="Stop Ani's camera").click()
    await expect(ani.locator("#room-state")).to_contain_text("The counselor stopped your camera")
    await _sleep(2.0)
    before = await frames_from(leader, "Ani")
    await _sleep(3.0)
    assert await frames_from(leader, "Ani") == before

    # Locked with the queue: a late student waits in the lobby, told that it is locked.
    await open_tab(leader, "Floor")
    await panel.get_by_label("While locked, new arrivals may still wait in the lobby").check()
    lock = leader.get_by_role("button", name="Lock", exact=True)
    await lock.click()
    await expect(lock).to_have_attribute("aria-pressed", "true")
    budi_ctx = await new_context(browser, requests, **LAPTOP)
    budi = await budi_ctx.new_page()
    await join_as(budi, base, code, "Budi")
    await expect(budi.locator("#lobby-text")).to_have_text(
        "The counselor has locked the session. You are still waiting in the lobby."
    )
    await expect(leader.locator("#waiting-list").get_by_text("Budi", exact=True)).to_be_visible()

    # Locked without the queue: the next one is turned away.
    await panel.get_by_label("While locked, new arrivals may still wait in the lobby").uncheck()
    citra_ctx = await new_context(browser, requests, **LAPTOP)
    citra = await citra_ctx.new_page()
    await join_as(citra, base, code, "Citra")
    await expect(citra.locator("#final-text")).to_have_text(
        "The session is locked: nobody can join now."
    )
    await expect(leader.locator("#waiting-list").get_by_text("Citra", exact=True)).to_have_count(0)

    # Removed: the student is told, and she is gone from the counselor's room.
    await member_menu(leader, "Ani")
    await panel.get_by_role("button", name="Remove Ani").click()
    await expect(ani.locator("#final-text")).to_have_text(
        "The counselor removed you from the session."
    )

    async def no_tile_for_ani() -> bool:
        return await leader.locator(".tile .tile-name", has_text="Ani").count() == 0

    await eventually(no_tile_for_ani, "Ani's tile gone at the counselor's")
    assert page_errors == []
    assert all(url.startswith(base) or url.startswith("data:") for url in requests), requests
