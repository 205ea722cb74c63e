"""The data saver changed in the room, in every direction, by what the student hears and sees.

A student whose tiles are playing picks each of the room's data-saver modes in turn and back.
What she hears is the audio energy Chromium measures while it plays a received track out
(``totalAudioEnergy``: it stays still when the element plays nothing, however many packets
arrive); what she sees is the frames her tiles decode.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page, expect

from tests.browser.steps import (
    LAPTOP,
    _sleep,
    eventually,
    join_admitted,
    join_as,
    new_context,
    open_room_as_leader,
)
from tests.serverproc import ServerProcess

NORMAL = "Normal (follows your connection)"
SAVER = "Saver (about 150 MB an hour)"
AUDIO_ONLY = "Audio only (about 30 MB an hour)"
COUNSELOR_ONLY = "Counselor only"

TILE = """(name) => { const t = [...document.querySelectorAll('.tile:not(.self)')]
  .find(x => x.querySelector('.tile-name').textContent === name);
  return t ? {energy: Number(t.dataset.audioEnergy || 0),
    frames: Number(t.dataset.framesDecoded || 0), ready: t.querySelector('video').readyState}
    : null; }"""


async def tile(page: Page, name: str) -> dict[str, float]:
    value = await page.evaluate(TILE, name)
    assert value is not None, f"no tile for {name}"
    return dict(value)


async def hears(page: Page, name: str) -> None:
    async def growing() -> bool:
        before = (await tile(page, name))["energy"]
        await _sleep(1.5)
        return (await tile(page, name))["energy"] > before

    await eventually(growing, f"{name}'s voice played out", 20)


async def sees(page: Page, name: str) -> None:
    async def growing() -> bool:
        before = (await tile(page, name))["frames"]
        await _sleep(1.0)
        return (await tile(page, name))["frames"] > before

    await eventually(growing, f"{name}'s video decoded", 25)


async def sees_nothing_of(page: Page, name: str) -> None:
    async def still() -> bool:
        before = (await tile(page, name))["frames"]
        await _sleep(1.5)
        return (await tile(page, name))["frames"] == before

    await eventually(still, f"{name}'s video stopped", 20)


async def choose(page: Page, label: str) -> None:
    await page.locator("#room").get_by_label("Data saver").select_option(label=label)


async def test_every_data_saver_change_keeps_the_sound(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    leader, code = await open_room_as_leader(
        browser, base, data_dir, "bu.tari", "Bu Tari", requests
    )
    await join_admitted(browser, leader, base, code, "Budi", requests)
    context = await new_context(browser, requests, **LAPTOP)
    ani = await context.new_page()
    await join_as(ani, base, code, "Ani", data_mode=NORMAL)
    await leader.get_by_role("button", name="Admit Ani").click()
    await expect(ani.get_by_role("button", name="Raise hand")).to_be_visible()

    for name in ("Bu Tari", "Budi"):
        await sees(ani, name)
        await hears(ani, name)

    # Normal -> audio only: every voice still heard, no video.
    await choose(ani, AUDIO_ONLY)
    for name in ("Bu Tari", "Budi"):
        await sees_nothing_of(ani, name)
        await hears(ani, name)

    # Audio only -> Normal: the videos come back, the voices stay.
    await choose(ani, NORMAL)
    for name in ("Bu Tari", "Budi"):
        await sees(ani, name)
        await hears(ani, name)

    # Normal -> counselor only: her video and voice; Budi's video stops.
    await choose(ani, COUNSELOR_ONLY)
    await sees_nothing_of(ani, "Budi")
    await sees(ani, "Bu Tari")
    await hears(ani, "Bu Tari")

    # Counselor only -> audio only -> saver -> Normal.
    await choose(ani, AUDIO_ONLY)
    await sees_nothing_of(ani, "Bu Tari")
    await hears(ani, "Bu Tari")
    await choose(ani, SAVER)
    await sees(ani, "Bu Tari")
    for name in ("Bu Tari", "Budi"):
        await hears(ani, name)
    await choose(ani, NORMAL)
    for name in ("Bu Tari", "Budi"):
        await sees(ani, name)
        await hears(ani, name)
