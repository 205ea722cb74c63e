"""Benchmark: what a student on a weak link gets (adaptive media), measured in their browser.

A real ``lingkar serve`` and real Chromium: a counselor and five members with fake cameras
(simulcast), one of whom is the weak member. Its Chromium runs in a network namespace behind a
veth pair with a ``tbf`` rate limit on what it receives (tests/weaklink.py; needs root). Its
page is a 1280x800 laptop in "Normal". The others receive as little as they can, so that their
decoders leave the 2-core machine's CPU to the rest: the counselor and one member choose
"counselor only" and send their camera in all three layers; three members choose "audio only",
and their camera sends only its smallest layer, as the data saver makes it.

Cases, each settled for ``--settle`` seconds and measured for ``--window`` seconds, from
``getStats()`` in the weak member's page:

- 600 kbit/s down (and up): audio concealment, the leader's video frame rate and freezes;
- 300 kbit/s: audio concealment, and whether every video is paused with its tile saying so;
- unlimited: the layer (frameWidth) of the leader's video in an enlarged tile, and of a small
  member tile.

Then two more members join, the second on a phone (390x844, its default data mode), making the
session 1+7, and the phone's data
(sent and received) is measured over ``--phone-window`` seconds with no rate limit.

    sudo .venv/bin/python -m bench.adaptive [--settle 20] [--window 30] [--phone-window 60]

The last line is:
    audio_concealed_600k=<f> video_fps_600k=<f> freezes_per_min_600k=<f>
    audio_concealed_300k=<f> mb_per_hour_phone=<f> layer_unlimited=<px>
(on one line).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import ssl
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from playwright.async_api import Browser, Page, async_playwright

from tests.browser import steps
from tests.conftest import CHROMIUM_ARGS
from tests.serverproc import start_server
from tests.weaklink import WeakLink, available

# Wraps RTCPeerConnection so the page's statistics can be read.
RECORD_PCS = """(() => { const Original = window.RTCPeerConnection; window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Original.prototype; })();"""

# The weak member's view: audio totals, one tile's inbound video, and the bytes of the page.
READ = """async (name) => {
  const pc = window.__pcs[window.__pcs.length - 1];
  const out = {concealed: 0, samples: 0, bytes: 0, frames: 0, freezes: 0, width: 0, height: 0};
  const tile = [...document.querySelectorAll('.tile')].find(
    t => t.querySelector('.tile-name')?.textContent === name);
  const stream = tile ? tile.querySelector('video').srcObject : null;
  const track = stream ? stream.getVideoTracks()[0] : null;
  const receiver = track ? pc.getReceivers().find(r => r.track === track) : null;
  (await pc.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      out.concealed += s.concealedSamples || 0; out.samples += s.totalSamplesReceived || 0; }
    if (s.type === 'transport') out.bytes += (s.bytesReceived || 0) + (s.bytesSent || 0);
  });
  if (receiver) (await receiver.getStats()).forEach(s => {
    if (s.type === 'inbound-rtp') { out.frames = s.framesDecoded || 0;
      out.freezes = s.freezeCount || 0; out.width = s.frameWidth || 0;
      out.height = s.frameHeight || 0; }
  });
  out.state = tile ? (tile.dataset.videoState || '') : '';
  out.note = tile ? (tile.querySelector('.tile-note')?.textContent || '') : '';
  out.paused = [...document.querySelectorAll('.tile[data-video-state=\"paused\"]')].length;
  out.remote = [...document.querySelectorAll('.tile:not(.self)')].length;
  const link = document.getElementById('link-quality');
  out.estimate = Number(link?.dataset.estimateKbps || 0);
  out.quality = link?.dataset.quality || '';
  return out; }"""


# What a publishing page sends: each layer's frame size, frame rate and what limits it.
OUTBOUND = """async () => { const pc = window.__pcs[window.__pcs.length - 1]; const out = [];
  if (!pc) return out;
  (await pc.getStats()).forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video')
    out.push([s.rid, s.frameWidth, s.framesPerSecond, s.qualityLimitationReason]); });
  return out; }"""


async def read(page: Page, name: str) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(READ, name)
    return result


async def measure(page: Page, leader: str, seconds: float) -> dict[str, float]:
    """Sample once a second; frame rate from frames decoded, stalls as seconds with none."""
    first = await read(page, leader)
    previous = first
    stalled = 0
    trace = []
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        await asyncio.sleep(1.0)
        now = await read(page, leader)
        if now["frames"] == previous["frames"]:
            stalled += 1
        # Per second: the server's estimate (kbit/s), the leader's frames and width, videos
        # paused on the page.
        trace.append(
            f"{now['estimate']}/{now['frames'] - previous['frames']}/{now['width']}/{now['paused']}"
        )
        previous = now
    print("#   estimate/frames/width/paused each second:", " ".join(trace))
    elapsed = time.monotonic() - start
    last = previous
    samples = max(1, last["samples"] - first["samples"])
    return {
        "audio_concealed": (last["concealed"] - first["concealed"]) / samples,
        "fps": (last["frames"] - first["frames"]) / elapsed,
        "freezes_per_min": (last["freezes"] - first["freezes"]) * 60 / elapsed,
        "stalled_seconds": float(stalled),
        "kbps": (last["bytes"] - first["bytes"]) * 8 / elapsed / 1000,
        "width": float(last["width"]),
        "paused": float(last["paused"]),
        "remote": float(last["remote"]),
        "note": last["note"],  # type: ignore[dict-item]
    }


AUDIO_ONLY = "Audio only (about 30 MB an hour)"


COUNTERS = (
    "lingkar_retransmissions_total",
    "lingkar_nacks_refused_congested_total",
    "lingkar_nacks_refused_late_total",
    "lingkar_layer_switches_total",
    "lingkar_keyframe_requests_forwarded_total",
    "lingkar_keyframe_requests_limited_total",
)


def server_counters(base: str) -> dict[str, float]:
    """The server's forwarding counters from its /metrics (this machine may read them)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(base + "/metrics", context=context, timeout=10) as response:
        text = response.read().decode()
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in COUNTERS:
            values[name.removeprefix("lingkar_").removesuffix("_total")] = float(value)
    return values


def counter_change(before: dict[str, float], after: dict[str, float]) -> str:
    return " ".join(f"{k}={after[k] - before.get(k, 0):.0f}" for k in sorted(after))


async def choose_receive(page: Page, label: str) -> None:
    await page.locator("#room").get_by_label("Data saver").select_option(label=label)


async def run(args: argparse.Namespace) -> dict[str, float]:
    link = WeakLink(7)
    link.open()
    server = None
    try:
        data_dir = Path(tempfile.mkdtemp(prefix="bench-adaptive-"))
        os.environ["LINGKAR_DEBUG_LOGGERS"] = "lingkar.rtc.bandwidth"
        server = start_server(data_dir, host="0.0.0.0")
        port = server.base_url.rsplit(":", 1)[1]
        base = server.base_url
        weak_base = f"https://{link.host_address}:{port}"
        requests: list[str] = []
        async with async_playwright() as playwright:
            main: Browser = await playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
            )
            weak_browser = await playwright.chromium.launch(
                executable_path=str(link.chromium()), headless=True, args=CHROMIUM_ARGS
            )
            leader, code = await steps.open_room_as_leader(
                main, base, data_dir, "bu.sari", "Bu Sari", requests, init_scripts=(RECORD_PCS,)
            )
            await choose_receive(leader, "Counselor only")
            for i in range(4):
                name = f"Siswa {i}"
                member, _ = await steps.join_admitted(main, leader, base, code, name, requests)
                # One member sends all three layers (the small tile's case), the others are
                # on the data saver's "audio only": their camera sends its smallest layer.
                await choose_receive(member, "Counselor only" if i == 0 else AUDIO_ONLY)
            weak, _ = await join_weak(weak_browser, leader, weak_base, code, requests)
            await weak.locator("#grid").scroll_into_view_if_needed()
            results: dict[str, float] = {}
            print(f"# machine: {platform.node()} {os.cpu_count()} cores, {time.ctime()}")

            for rate in (600, 300):
                link.limit(rate, None)
                print(f"# settling at {rate} kbit/s")
                await measure(weak, "Bu Sari", args.settle)
                before = server_counters(base)
                figures = await measure(weak, "Bu Sari", args.window)
                print(f"# {rate} kbit/s: {figures}")
                change = counter_change(before, server_counters(base))
                print(f"#   server, all subscribers: {change}")
                results[f"audio_concealed_{rate}k"] = figures["audio_concealed"]
                results[f"video_fps_{rate}k"] = figures["fps"]
                results[f"freezes_per_min_{rate}k"] = figures["freezes_per_min"]
                results[f"videos_paused_{rate}k"] = figures["paused"]
                results[f"videos_{rate}k"] = figures["remote"]

            link.limit(None, None)
            await weak.get_by_role("button", name="Enlarge Bu Sari's video").click()
            await asyncio.sleep(args.settle)
            large = await measure(weak, "Bu Sari", args.window / 3)
            small = await read(weak, "Siswa 0")
            print(f"# unlimited: large tile {large}, small tile width {small['width']}")
            results["layer_unlimited"] = large["width"]
            results["layer_unlimited_small"] = float(small["width"])

            extra, _ = await steps.join_admitted(main, leader, base, code, "Siswa 5", requests)
            await choose_receive(extra, "Counselor only")
            phone_context = await steps.new_context(main, requests, **steps.PHONE)
            phone = await phone_context.new_page()
            await phone_context.add_init_script(RECORD_PCS)
            await steps.join_as(phone, base, code, "Siswa HP")
            await leader.get_by_role("button", name="Admit Siswa HP").click()
            await phone.get_by_role("button", name="Raise hand").wait_for()
            await asyncio.sleep(args.settle)
            figures = await measure(phone, "Bu Sari", args.phone_window)
            results["mb_per_hour_phone"] = figures["kbps"] * 3600 / 8 / 1000
            print(f"# phone 1+7, default mode: {figures}")
            print(f"# the counselor's camera: {await leader.evaluate(OUTBOUND)}")
            await weak_browser.close()
            await main.close()
        return results
    finally:
        if server is not None:
            server.stop()
            if args.log:
                print("".join(line for line in server.output if "bandwidth" in line))
        link.close()


async def join_weak(
    browser: Browser, leader: Page, base: str, code: str, requests: list[str]
) -> tuple[Page, list[str]]:
    context = await steps.new_context(browser, requests, **steps.LAPTOP)
    await context.add_init_script(RECORD_PCS)
    page = await context.new_page()
    await steps.join_as(page, base, code, "Lemah", data_mode="Normal (follows your connection)")
    await leader.get_by_role("button", name="Admit Lemah").click()
    await page.get_by_role("button", name="Raise hand").wait_for()
    return page, []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--settle", type=float, default=20.0)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--phone-window", type=float, default=60.0)
    parser.add_argument("--log", action="store_true", help="print the adaptation's decisions")
    args = parser.parse_args()
    reason = available()
    if reason:
        sys.exit(f"bench.adaptive: {reason}")
    results = asyncio.run(run(args))
    print(
        f"audio_concealed_600k={results['audio_concealed_600k']:.4f} "
        f"video_fps_600k={results['video_fps_600k']:.1f} "
        f"freezes_per_min_600k={results['freezes_per_min_600k']:.2f} "
        f"audio_concealed_300k={results['audio_concealed_300k']:.4f} "
        f"mb_per_hour_phone={results['mb_per_hour_phone']:.0f} "
        f"layer_unlimited={results['layer_unlimited']:.0f}"
    )


if __name__ == "__main__":
    main()
