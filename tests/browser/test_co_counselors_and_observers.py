"""Two counselors lead one room, and an observer sits in (issue 13), in real Chromium through
the real server: each counselor sees what the other does (admit, stage, mute), the owner drops
and the co-counselor carries on; the observer is named in the members' roster, has no
microphone or camera, and keeps notes of their own."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests import serverproc
from tests.browser.steps import (
    LAPTOP,
    PASSWORD,
    PHONE,
    SCREENSHOTS,
    join_admitted,
    log_in,
    new_context,
    open_room_as_leader,
    open_tab,
)
from tests.serverproc import ServerProcess


async def test_two_counselors_and_an_observer(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    sari, code = await open_room_as_leader(browser, base, data_dir, "bu.sari", "Bu Sari", requests)

    # Bu Sari adds Bu Ratna to the session's team, from its edit page.
    serverproc.add_counselor(data_dir, "bu.ratna", "Bu Ratna", PASSWORD)
    team = await sari.context.new_page()
    await team.goto(f"{base}/dashboard")
    await team.get_by_role("link", name="Edit").first.click()
    await team.get_by_label("Co-counselor's user name").fill("nobody")
    await team.get_by_role("button", name="Add co-counselor").click()
    await expect(team.get_by_role("alert")).to_contain_text("No counselor of this server")
    await team.get_by_label("Co-counselor's user name").fill("bu.ratna")
    await team.get_by_role("button", name="Add co-counselor").click()
    await expect(team.get_by_role("button", name="Remove Bu Ratna from the team")).to_be_visible()
    observer_link = await team.get_by_label("Link for observers").input_value()
    assert observer_link.endswith(f"/s/{code}/observe")
    await team.screenshot(path=str(SCREENSHOTS / "team-1280x800.png"), full_page=True)
    await team.close()

    # Bu Ratna logs in with her own account and enters from "Sessions you co-lead".
    ratna_context = await new_context(browser, requests, **LAPTOP)
    ratna = await ratna_context.new_page()
    await log_in(ratna, base, "bu.ratna")
    co_led = ratna.get_by_role("region", name=re.compile("Sessions you co-lead"))
    await expect(co_led).to_contain_text("counselor: Bu Sari")
    await co_led.get_by_role("link", name="Open as group leader").click()
    await expect(ratna.locator("#net-result")).to_have_text(re.compile(r"good|slow"))
    await ratna.get_by_role("button", name="Open the session room").click()
    await expect(ratna.get_by_role("region", name="Group leader's panel")).to_be_visible()
    # Neither replaced the other: each sees the other's tile, named as a counselor.
    await expect(
        sari.get_by_role("listitem", name=re.compile("^Bu Ratna, Co-counselor"))
    ).to_be_visible()
    await expect(
        ratna.get_by_role("listitem", name=re.compile("^Bu Sari, Counselor"))
    ).to_be_visible()

    # Bu Ratna admits Ani; Bu Sari is told who admitted whom.
    ani, _ = await join_admitted(browser, ratna, base, code, "Ani", requests)
    await open_tab(sari, "Members")
    await expect(sari.locator("#leader-panel")).to_contain_text("Bu Ratna admitted Ani")
    # Bu Sari moves the stage; Bu Ratna is told, and her stage follows.
    stage_before = await ratna.locator("#stage-label").inner_text()
    await sari.get_by_role("button", name="Next stage").click()
    await open_tab(ratna, "Members")
    await expect(ratna.locator("#leader-panel")).to_contain_text("Bu Sari moved to the next stage")
    await expect(ratna.locator("#stage-label")).not_to_have_text(stage_before)

    # Bu Sari mutes Ani; Bu Ratna is told, and Ani hears of it.
    await open_tab(sari, "Members")
    await sari.get_by_role("button", name="Mute Ani").click()
    await expect(ratna.locator("#leader-panel")).to_contain_text("Bu Sari muted Ani")
    await expect(ani.get_by_role("button", name="Microphone")).to_have_attribute(
        "aria-pressed", "false"
    )

    # An observer joins on the observer link, with the consent that says what an observer is.
    hadi_context = await new_context(browser, requests, **PHONE)
    hadi = await hadi_context.new_page()
    await hadi.goto(observer_link)
    await expect(hadi.get_by_text("Joining as an observer")).to_be_visible()
    await expect(hadi.locator("#observer-role")).to_contain_text(
        "your camera and microphone are not used"
    )
    await hadi.get_by_label("Your name").fill("Pak Hadi")
    await hadi.get_by_label("I have read this and I agree").check()
    await hadi.get_by_role("button", name="Enter the lobby as an observer").click()
    await expect(sari.locator("#waiting-list")).to_contain_text("observer")
    await sari.get_by_role("button", name="Admit Pak Hadi").click()
    await expect(hadi.get_by_role("heading", name="Observation notes")).to_be_visible(
        timeout=15_000
    )
    # No microphone, camera or hand for the observer; Ani sees who observes.
    await expect(hadi.get_by_role("button", name="Microphone")).to_be_hidden()
    await expect(hadi.get_by_role("button", name="Camera")).to_be_hidden()
    await expect(hadi.get_by_role("button", name="Raise hand")).to_have_count(0)
    await expect(
        ani.get_by_role("listitem", name=re.compile("^Pak Hadi, Observer"))
    ).to_be_visible()
    await ani.screenshot(path=str(SCREENSHOTS / "observer-named-390x844.png"))

    # The observer's own note on Ani.
    await hadi.get_by_label("Member", exact=True).select_option(label="Ani")
    await hadi.get_by_label("Your note (yours alone)").fill("Ani aktif bertanya")
    await hadi.get_by_role("button", name="Save note").click()
    await expect(hadi.locator("#observer-note-status")).to_have_text("Note on Ani saved.")
    # The figures only when a counselor allows it.
    figures = hadi.get_by_role("heading", name="Observation figures")
    await expect(figures).to_be_hidden()
    await open_tab(ratna, "Observation")
    await ratna.get_by_label("Observers may see the observation figures").check()
    await expect(figures).to_be_visible()
    await expect(hadi.locator("#observer-figures-list")).to_contain_text("Ani", timeout=10_000)
    await hadi.screenshot(path=str(SCREENSHOTS / "observer-390x844.png"))

    # The owner drops; the co-counselor carries on and the room follows her.
    await sari.context.close()
    stage_now = await ani.locator("#stage-label").inner_text()
    await ratna.get_by_role("button", name="Next stage").click()
    await expect(ani.locator("#stage-label")).not_to_have_text(stage_now)
    await ratna.screenshot(path=str(SCREENSHOTS / "co-counselor-1280x800.png"))
    for context in (ratna_context, hadi_context, ani.context):
        await context.close()
