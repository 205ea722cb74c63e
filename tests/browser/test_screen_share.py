"""A shared screen as the students see it: the picture in their page, not frames at the server.

Each person in the room has a screen m-line of their own, and the server gives the m-lines of
those who left to newcomers. The page must show the sharer's screen, whoever else's screen
m-lines it has received and in whatever order. Checked here in rooms of 3, 2 and 5 (then 6),
with sharing started before and after people join and leave, by the counselor and by a member
she allowed: each student's screen area is visible, says whose screen it is, and its video
element shows a picture (non-zero size, not black).
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.steps import eventually, join_admitted, member_menu, open_room_as_leader
from tests.serverproc import ServerProcess

# The picture in the screen area: its size, and the share of lit pixels in a small copy of it.
SCREEN_PICTURE = """() => {
  const area = document.getElementById('screen-area');
  const video = document.getElementById('screen-video');
  if (!area || area.hidden || !video || !video.videoWidth) return {width: 0, lit: 0};
  const canvas = document.createElement('canvas');
  canvas.width = 64; canvas.height = 36;
  const context = canvas.getContext('2d');
  context.drawImage(video, 0, 0, 64, 36);
  const data = context.getImageData(0, 0, 64, 36).data;
  let lit = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 60) lit++;
  return {width: video.videoWidth, lit: lit / (64 * 36)};
}"""


async def sees_screen(page: Page, sharer: str) -> None:
    """The page shows ``sharer``'s screen: captioned, with a picture that is not black."""
    await expect(page.locator("#screen-area")).to_be_visible(timeout=20_000)
    # Looked at (a counselor's page may be scrolled down to her panel): a screen out of view
    # is, rightly, not sent.
    await page.locator("#screen-area").scroll_into_view_if_needed()
    await expect(page.locator("#screen-caption")).to_have_text(f"{sharer}'s screen")
    seen: dict[str, float] = {}

    async def picture() -> bool:
        seen.update(await page.evaluate(SCREEN_PICTURE))
        return seen["width"] > 0 and seen["lit"] > 0.05

    try:
        await eventually(picture, f"a picture of {sharer}'s screen", 30)
    except AssertionError as failure:
        state = await page.evaluate(
            "() => [document.getElementById('screen-area').className,"
            " document.querySelector('.tile.self .tile-name')?.textContent,"
            " document.getElementById('screen-video').readyState,"
            " document.getElementById('screen-area').dataset.framesDecoded]"
        )
        raise AssertionError(f"{failure}; the page showed {seen}, {state}") from None


async def share(page: Page, on: bool) -> None:
    button = page.get_by_role("button", name="Share screen")
    await button.click()
    await expect(button).to_have_attribute("aria-pressed", "true" if on else "false")


async def test_students_see_the_shared_screen_whatever_the_room_did(
    server: ServerProcess, data_dir: Path, screen_browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        screen_browser, base, data_dir, "bu.sari", "Bu Sari", requests
    )
    ani, _ = await join_admitted(screen_browser, leader, base, code, "Ani", requests)
    citra, _ = await join_admitted(screen_browser, leader, base, code, "Citra", requests)

    # A room of 3: the counselor shares; both students see her screen.
    await share(leader, True)
    for page in (ani, citra):
        await sees_screen(page, "Bu Sari")
    await share(leader, False)
    await expect(ani.locator("#screen-area")).to_be_hidden()

    # Citra leaves first; in the room of 2 the counselor shares again.
    await citra.get_by_role("button", name="Leave").click()
    await expect(citra.locator("#final-text")).to_have_text("You left the session.")
    await expect(leader.locator("#members-list")).not_to_contain_text("Citra")
    await share(leader, True)
    await sees_screen(ani, "Bu Sari")
    await share(leader, False)

    # Three more join (a room of 5); the counselor allows Dedi to share, and he does.
    dedi, _ = await join_admitted(screen_browser, leader, base, code, "Dedi", requests)
    eka, _ = await join_admitted(screen_browser, leader, base, code, "Eka", requests)
    fajar, _ = await join_admitted(screen_browser, leader, base, code, "Fajar", requests)
    await member_menu(leader, "Dedi")
    await leader.get_by_role("button", name="Allow Dedi to share the screen").click()
    await share(dedi, True)
    for page in (leader, ani, eka, fajar):
        await sees_screen(page, "Dedi")

    # Someone joins while Dedi shares (a room of 6): she sees it too.
    gita, _ = await join_admitted(screen_browser, leader, base, code, "Gita", requests)
    await sees_screen(gita, "Dedi")
    assert not [r for r in requests if not r.startswith(base)], "no other origin is asked"
