"""The counseling features in real browsers: a counselor and two students, one on a phone.

The counselor moves the group to the activity stage (its preset: ask to speak): each member sees
the stage, its guidance and timer, and a disabled microphone that says why. The counselor gives
Ani the floor for a minute: Budi sees who has it and the countdown, Ani unmutes herself and the
counselor hears her while Budi stays unheard. The counselor ends the floor, watches the
observation figures rise, writes a note on Ani (saved), and opens the closing evaluation: Ani
answers anonymously, Budi by name, and the counselor sees both, the anonymous one without a
name. No page asks another origin anything.
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
    SCREENSHOTS,
    _grows,
    _sleep,
    _still,
    audio_packets,
    eventually,
    join_as,
    log_in,
    new_context,
    open_tab,
)
from tests.serverproc import ServerProcess

ACTIVITY_GUIDANCE = "Listen, raise your hand to speak, and respond in turn."


def seconds(text: str) -> int:
    """m:ss as seconds."""
    minutes, secs = text.strip().split(":")
    return int(minutes) * 60 + int(secs)


async def observed(leader: Page, name: str) -> dict[str, str]:
    """One member's row of the leader's observation table."""
    row = leader.locator("#obs-rows tr", has=leader.locator("th", has_text=name))
    cells = await row.locator("td").all_inner_texts()
    keys = ("speaking", "turns", "hands", "chats", "present")
    return dict(zip(keys, cells, strict=False))


async def every_control_named(page: Page) -> None:
    """No button, field, list box, check box or radio in the room without an accessible name."""
    snapshot = await page.locator("#room").aria_snapshot()
    unnamed = re.findall(
        r"^\s*- (?:button|textbox|combobox|checkbox|radio|spinbutton)(?: \[[^\]]*\])?(?::.*)?$",
        snapshot,
        flags=re.MULTILINE,
    )
    assert unnamed == [], snapshot


async def fits_phone(page: Page) -> None:
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )


async def test_stages_floor_observation_notes_and_evaluation(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    serverproc.add_counselor(data_dir, "bu.rina", "Bu Sari", PASSWORD)
    requests: list[str] = []

    lead_ctx = await new_context(browser, requests, **LAPTOP)
    leader = await lead_ctx.new_page()
    leader.on("dialog", lambda dialog: dialog.accept())
    await log_in(leader, base, "bu.rina")
    await leader.get_by_label("Session title or topic").fill("Mengatur waktu belajar")
    await leader.get_by_label("Stage model").select_option("online")
    await leader.get_by_label("Topic", exact=True).fill("Mengatur waktu belajar di rumah")
    await leader.get_by_label("Kind of topic").select_option("assigned")
    await leader.get_by_label("Goals").fill("Anggota mampu menyusun jadwal belajar")
    await leader.get_by_role("button", name="Create session").click()
    await leader.wait_for_url(re.compile(r".*/dashboard#session-\d+$"))
    session_id = leader.url.rsplit("-", 1)[1]
    code = await leader.locator("article.session .code").first.inner_text()
    await leader.goto(f"{base}/s/{code}/lead")
    await expect(leader.locator("#net-result")).to_have_text(re.compile(r"good|slow"))
    assert await leader.locator("#live").get_attribute("data-session-id") == session_id
    await leader.get_by_role("button", name="Open the session room").click()
    await expect(leader.get_by_role("region", name="Group leader's panel")).to_be_visible()

    # The session plan (RPL), collapsed until the leader opens it.
    await open_tab(leader, "Stage")
    plan = leader.locator("#plan-details")
    await expect(plan.locator("#plan-list")).to_be_hidden()
    await plan.get_by_text("Session plan (RPL)").click()
    await expect(plan.locator("#plan-list")).to_contain_text("Mengatur waktu belajar di rumah")
    await expect(plan.locator("#plan-list")).to_contain_text("Assigned topic (given by the leader)")
    await expect(plan.locator("#plan-list")).to_contain_text("Anggota mampu menyusun jadwal")

    ani_ctx = await new_context(browser, requests, **PHONE)
    ani = await ani_ctx.new_page()
    page_errors: list[str] = []
    ani.on("pageerror", lambda error: page_errors.append(str(error)))
    await join_as(ani, base, code, "Ani")
    budi_ctx = await new_context(browser, requests, **LAPTOP)
    budi = await budi_ctx.new_page()
    await join_as(budi, base, code, "Budi")
    await leader.get_by_role("button", name="Admit Ani").click()
    await leader.get_by_role("button", name="Admit Budi").click()
    members = (ani, budi)
    for page in members:
        await expect(page.get_by_role("button", name="Raise hand")).to_be_visible(timeout=15000)

    # The first stage: its guidance, a running timer, and what its preset means for the leader.
    await expect(ani.locator("#stage-guidance")).to_have_text(
        "Get your device and a quiet place ready; the session starts soon."
    )
    # The stage's clock started when the leader opened the room; it reads m:ss of 5:00.
    await expect(ani.locator("#stage-timer")).to_have_text(re.compile(r"^\d+:\d\d of 5:00$"))
    await expect(leader.locator("#lead-preset")).to_contain_text(
        "Microphones: members may unmute themselves"
    )
    await expect(leader.locator("#lead-checklist")).to_contain_text("Check the session plan")

    # On to the activity stage: ask to speak, so the members' microphones are off and disabled.
    for _ in range(2):
        await leader.get_by_role("button", name="Next stage").click()
        await _sleep(0.3)
    for page in (leader, *members):
        await expect(page.locator("#stage-label")).to_have_text("Stage 3 of 5: Activity")
    for page in members:
        await expect(page.locator("#stage-guidance")).to_have_text(ACTIVITY_GUIDANCE)
        await expect(page.locator("#stage-timer")).to_have_text(re.compile(r"^0:\d\d of 40:00$"))
        mic = page.get_by_role("button", name="Microphone")
        await expect(mic).to_be_disabled()
        await expect(mic).to_have_attribute("aria-pressed", "false")
        await expect(page.locator("#mic-hint")).to_have_text("Ask to speak: raise your hand")
    await expect(leader.locator("#lead-preset")).to_contain_text(
        "Microphones: only when you ask or give the floor"
    )
    checklist = leader.locator("#lead-checklist")
    await expect(checklist).to_contain_text("Members respond in turn")
    # The checklist is the leader's own: ticked by keyboard, kept across rosters.
    greeting = checklist.get_by_label("Opening greeting")
    await greeting.focus()
    await leader.keyboard.press("Space")
    await expect(greeting).to_be_checked()
    await fits_phone(ani)

    # The leader gives Ani the floor for one minute.
    await open_tab(leader, "Floor")
    await leader.get_by_label("Time for each turn").select_option("60")
    await open_tab(leader, "Members")
    await leader.get_by_role("button", name="Give the floor to Ani").click()
    await expect(budi.locator("#floor-text")).to_have_text("Ani has the floor")
    await expect(budi.locator("#floor-countdown")).to_have_text(re.compile(r"^0:[0-5]\d left$"))
    await expect(leader.locator("#floor-status")).to_have_text("Ani has the floor")
    await expect(leader.locator("#floor-left")).to_have_text(re.compile(r"^[01]:[0-5]\d left$"))
    await expect(budi.get_by_role("button", name="Microphone")).to_be_disabled()
    await expect(budi.locator("#mic-hint")).to_have_text("Ani has the floor")
    await expect(ani.locator("#floor-text")).to_have_text(
        "You have the floor: turn on your microphone to speak"
    )
    # The countdown counts on between rosters.
    first = seconds((await budi.locator("#floor-countdown").inner_text()).split()[0])
    await _sleep(2.2)
    later = seconds((await budi.locator("#floor-countdown").inner_text()).split()[0])
    assert 1 <= first - later <= 4, (first, later)

    # Never forced: Ani's microphone is enabled but still off until she turns it on.
    ani_mic = ani.get_by_role("button", name="Microphone")
    await expect(ani_mic).to_be_enabled()
    await expect(ani_mic).to_have_attribute("aria-pressed", "false")
    await expect(ani.locator("#mic-hint")).to_have_text("Your turn: press Microphone to speak")
    await open_tab(leader, "Observation")
    speaking_before = seconds((await observed(leader, "Ani"))["speaking"])
    await ani_mic.click()
    await expect(ani_mic).to_have_attribute("aria-pressed", "true")
    await eventually(
        lambda: _grows(lambda: audio_packets(leader, "Ani")), "Ani's audio reaching the leader"
    )
    await eventually(
        lambda: _still(lambda: audio_packets(leader, "Budi")), "Budi unheard during Ani's floor"
    )

    async def ani_spoke() -> bool:
        return seconds((await observed(leader, "Ani"))["speaking"]) > speaking_before

    await eventually(ani_spoke, "Ani's speaking time rising in the observation")
    obs = await observed(leader, "Ani")
    assert seconds(obs["present"]) > 0
    await leader.screenshot(path=str(SCREENSHOTS / "leader-floor-observation.png"), full_page=True)
    await ani.screenshot(path=str(SCREENSHOTS / "member-phone-floor.png"))
    await fits_phone(ani)

    # The leader ends the floor: the banners go, Ani is under "ask to speak" again.
    await open_tab(leader, "Floor")
    await leader.get_by_role("button", name="End the floor").click()
    for page in (leader, *members):
        await expect(page.locator("#floor-banner")).to_be_hidden()
    await expect(leader.locator("#floor-status")).to_have_text("Nobody has the floor.")

    # Taking turns, without a time limit: the floor walks through both members, then returns.
    await leader.get_by_label("Time for each turn").select_option("0")
    await leader.get_by_role("button", name="Take turns").click()
    status = leader.locator("#floor-status")
    await expect(status).to_have_text(re.compile(r"^(Ani|Budi) has the floor \(in turn\)$"))
    first_turn = (await status.inner_text()).split()[0]
    second_turn = "Budi" if first_turn == "Ani" else "Ani"
    pages = {"Ani": ani, "Budi": budi}
    await expect(pages[second_turn].locator("#floor-text")).to_have_text(
        f"{first_turn} has the floor · in turn"
    )
    await expect(pages[second_turn].locator("#floor-countdown")).to_have_text("no time limit")
    await leader.get_by_role("button", name="Next turn").click()
    await expect(status).to_have_text(f"{second_turn} has the floor (in turn)")
    await expect(pages[second_turn].locator("#floor-text")).to_have_text(
        re.compile(r"^You have the floor")
    )
    await leader.get_by_role("button", name="Next turn").click()
    await expect(status).to_have_text("Nobody has the floor.")
    for page in members:
        await expect(page.locator("#floor-banner")).to_be_hidden()

    # A note on Ani, with the three quick ratings; confirmed by the server.
    await open_tab(leader, "Observation")
    note = leader.locator("#notes-list li", has_text="Note on Ani")
    await note.locator("summary").click()
    await note.get_by_label("What you observed of Ani").fill("Aktif, menghargai teman")
    await note.get_by_label("Active in giving opinions").select_option("4")
    await note.get_by_label("Respects others' opinions").select_option("5")
    await note.get_by_role("button", name="Save the note on Ani").click()
    await expect(note.locator(".note-status")).to_have_text("Saved")
    await expect(note.locator("summary")).to_have_text("Note on Ani (saved)")

    # The closing evaluation: a form for each member.
    await open_tab(leader, "Evaluation")
    await leader.get_by_role("button", name="Open evaluation").click()
    await expect(leader.locator("#eval-lead-state")).to_have_text(
        "The evaluation is open: members see the form."
    )
    for page in members:
        await expect(page.get_by_role("heading", name="Closing evaluation")).to_be_visible()
    await ani.get_by_label("What do I now understand?").fill("Cara membagi waktu belajar")
    await ani.get_by_label("How do I feel?").fill("Lega")
    await ani.get_by_label("What will I do?").fill("Membuat jadwal")
    await ani.get_by_role("radio", name="5").check()
    await ani.get_by_label("Answer anonymously").check()
    await ani.get_by_role("heading", name="Closing evaluation").scroll_into_view_if_needed()
    await ani.screenshot(path=str(SCREENSHOTS / "member-phone-evaluation.png"))
    for page in (leader, ani):
        await every_control_named(page)
    await fits_phone(ani)
    await ani.get_by_role("button", name="Send my answers").click()
    await expect(ani.locator("#evaluation-thanks")).to_have_text(
        "Thank you! Your answers have been received."
    )
    await expect(ani.locator("#evaluation-form")).to_be_hidden()

    # Budi forgets the rating first: the form says so, then he answers by name.
    await budi.get_by_label("What do I now understand?").fill("Pentingnya jadwal")
    await budi.get_by_role("button", name="Send my answers").click()
    await expect(budi.locator("#eval-error")).to_have_text("Choose a rating from 1 to 5.")
    await budi.get_by_role("radio", name="4").check()
    await budi.get_by_role("button", name="Send my answers").click()
    await expect(budi.locator("#evaluation-thanks")).to_be_visible()

    answers = leader.locator("#eval-answers li")
    await expect(answers).to_have_count(2)
    await expect(leader.locator("#eval-count")).to_have_text("2")
    anonymous = answers.filter(has_text="Cara membagi waktu belajar")
    await expect(anonymous.locator("strong")).to_have_text("Anonymous")
    await expect(anonymous).to_contain_text("rating 5 of 5")
    assert "Ani" not in await anonymous.inner_text()
    named = answers.filter(has_text="Pentingnya jadwal")
    await expect(named.locator("strong")).to_have_text("Budi")
    await expect(named).to_contain_text("rating 4 of 5")
    await leader.get_by_role("button", name="Close evaluation").click()
    await expect(leader.locator("#eval-lead-state")).to_have_text("The evaluation is closed.")
    for page in members:
        await expect(page.locator("#evaluation-panel")).to_be_hidden()
    await leader.screenshot(path=str(SCREENSHOTS / "leader-evaluation.png"), full_page=True)

    # Members never see the leader's observation, notes or answers.
    for page in members:
        assert await page.locator("#obs-table, #notes-list, #eval-answers").count() == 0
    assert page_errors == []

    await leader.get_by_role("button", name="End session").click()
    for page in (leader, *members):
        await expect(page.locator("#final-text")).to_contain_text("The session has ended.")
    foreign = [url for url in requests if not url.startswith(base + "/")]
    assert foreign == [], foreign
    for ctx in (ani_ctx, budi_ctx, lead_ctx):
        await ctx.close()
