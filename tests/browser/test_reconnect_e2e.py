"""Entering before the camera is ready, and a dropped connection, in real browsers.

The counselor's browser takes 3 s to grant the camera and microphone, and she opens the room
at once: her page waits for the devices, so the student still gets her picture (it used to
enter with no tracks and send nothing all session). A student on a phone is admitted, video
both ways. Then her control channel is closed under her page (what a dead mobile connection
ends in); her page says it is reconnecting, resumes with its token on a new peer connection,
and is back in the room (not in the lobby, admitted once) with video both ways again. No page
asks another origin anything.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from tests.browser.steps import (
    eventually,
    frames_rising,
    join_admitted,
    open_room_as_leader,
    until_true,
)
from tests.serverproc import ServerProcess

# Keeps every data channel a page creates, so the test can close the live one.
RECORD_CHANNELS = """
(() => {
  const create = RTCPeerConnection.prototype.createDataChannel;
  window.__channels = [];
  RTCPeerConnection.prototype.createDataChannel = function (...args) {
    const channel = create.apply(this, args);
    window.__channels.push(channel);
    return channel;
  };
})();
"""

# A browser slow to grant the devices (a permission prompt still open).
SLOW_DEVICES = """
(() => {
  const devices = navigator.mediaDevices;
  const getUserMedia = devices.getUserMedia.bind(devices);
  devices.getUserMedia = (constraints) =>
    new Promise((resolve) => setTimeout(resolve, 3000)).then(() => getUserMedia(constraints));
})();
"""

# Records every text the room's status line shows (the reconnecting one lasts ~0.5 s).
WATCH_STATE = """() => {
  const line = document.getElementById('room-state');
  window.__states = [];
  new MutationObserver(() => window.__states.push(line.textContent)).observe(
    line, {childList: true, characterData: true, subtree: true});
}"""


async def test_a_dropped_member_reconnects_into_the_room(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    base = server.base_url
    requests: list[str] = []
    # The counselor clicks "Open the session room" at once, while her devices are not granted.
    leader, code = await open_room_as_leader(
        browser,
        base,
        data_dir,
        "bu.tika",
        "Bu Tika",
        requests,
        init_scripts=(SLOW_DEVICES,),
        wait_for_devices=False,
    )

    ani, page_errors = await join_admitted(
        browser, leader, base, code, "Ani", requests, init_scripts=(RECORD_CHANNELS,)
    )
    await frames_rising(leader, ["Ani"])
    await frames_rising(ani, ["Bu Tika"])

    # The connection drops under Ani's page.
    await ani.evaluate(WATCH_STATE)
    await ani.evaluate("() => window.__channels.at(-1).close()")
    await until_true(ani, "() => window.__states.includes('Reconnecting…')")

    # A new peer connection and control channel, and she is where she was.
    await until_true(
        ani, "() => window.__channels.length === 2 && window.__channels[1].readyState === 'open'"
    )
    await expect(ani.locator("#room")).not_to_have_class(re.compile(r"\breconnecting\b"))
    await expect(ani.get_by_role("button", name="Raise hand")).to_be_visible()
    await expect(ani.locator("#lobby-text")).to_be_hidden()
    await expect(leader.locator("#waiting-list").get_by_text("Ani", exact=True)).to_have_count(0)
    await frames_rising(leader, ["Ani"])
    await frames_rising(ani, ["Bu Tika"])

    async def one_tile_for_ani() -> bool:
        return await leader.locator(".tile .tile-name", has_text="Ani").count() == 1

    await eventually(one_tile_for_ani, "one tile for Ani at the leader's")
    assert page_errors == []
    assert all(url.startswith(base) or url.startswith("data:") for url in requests), requests
