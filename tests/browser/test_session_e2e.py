"""A whole group guidance session in real browsers: a counselor and three students.

The counselor logs in, creates a session and opens it; three students join from the link (one on
a 390 px phone): consent, device check, lobby. The counselor admits two and denies one; video
flows every way; Mute all silences the members; a shared screen, a stage change and chat reach
everyone; a member leaves; the counselor ends the session. No page asks another origin anything.
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
    frames_rising,
    join_as,
    log_in,
    new_context,
    until_true,
)
from tests.serverproc import ServerProcess

NORMAL = "Normal (follows your connection)"


async def expect_phone_default_saver(page: Page, base: str, code: str) -> None:
    """A phone's device check offers the data saver, chosen already."""
    await page.goto(f"{base}/s/{code}")
    saver = page.get_by_label("Device check").get_by_label("Data saver")
    await expect(saver).to_have_value("saver")


async def test_a_whole_session_in_real_browsers(
    server: ServerProcess, data_dir: Path, screen_browser: Browser
) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    base = server.base_url
    serverproc.add_counselor(data_dir, "bu.sari", "Bu Sari", PASSWORD)
    requests: list[str] = []
    browser = screen_browser

    # The counselor logs in and creates the session on the dashboard.
    lead_ctx = await new_context(browser, requests, **LAPTOP)
    leader = await lead_ctx.new_page()
    leader.on("dialog", lambda dialog: dialog.accept())
    await log_in(leader, base, "bu.sari")
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
    # She is on Wi-Fi today: "Normal" instead of the phone's default data saver.
    ani_ctx = await new_context(browser, requests, **PHONE)
    ani = await ani_ctx.new_page()
    await expect_phone_default_saver(ani, base, code)
    await join_as(ani, base, code, "Ani", shots="member-phone", data_mode=NORMAL)
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
    # Nothing scrolls sideways on the phone.
    assert await ani.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
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
