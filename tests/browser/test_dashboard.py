"""A counselor's first day: the administrator makes the account with the CLI, the counselor logs
in from a phone, creates a session and finds its code, link and QR code on the dashboard."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from playwright.async_api import Browser, expect

from server.sessions.codes import ALPHABET
from tests import serverproc
from tests.browser.steps import SCREENSHOTS, log_in
from tests.serverproc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "kata sandi guru bk"


def add_counselor(data_dir: Path, username: str) -> None:
    serverproc.add_counselor(data_dir, username, "Bu Ani", PASSWORD)


async def test_login_create_session_and_see_code_and_qr_on_a_phone(
    server: ServerProcess, data_dir: Path, browser: Browser, tmp_path: Path
) -> None:
    banner = "".join(server.output)
    assert "No counselor account exists yet" in banner
    assert "lingkar counselor add NAME --data-dir" in banner
    add_counselor(data_dir, "bu.ani")

    context = await browser.new_context(
        ignore_https_errors=True,
        viewport={"width": 360, "height": 740},
        is_mobile=True,
        locale="id-ID",
    )
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(server.base_url + "/")
    await page.get_by_role("link", name="Masuk untuk mengelola sesi").click()
    await page.get_by_label("Nama pengguna").fill("bu.ani")
    await page.get_by_label("Kata sandi").fill(PASSWORD)
    await page.get_by_role("button", name="Masuk").click()
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_text("Belum ada sesi")).to_be_visible()

    await page.get_by_label("Judul atau topik sesi").fill("Mengelola emosi di sekolah")
    await page.get_by_label("Model tahapan").select_option("classic")
    await page.get_by_label("Tanggal dan waktu (boleh kosong)").fill("2025-03-04T09:30")
    await page.get_by_label("Kata sandi sesi (boleh kosong)").fill("pelangi")
    await page.get_by_role("button", name="Buat sesi").click()
    await page.wait_for_url(re.compile(r".*/dashboard#session-\d+$"))

    card = page.locator("article.session")
    await expect(card).to_have_count(1)
    code = await card.locator(".code").inner_text()
    assert re.fullmatch(rf"[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}", code)
    await expect(card.get_by_role("heading")).to_have_text("Mengelola emosi di sekolah")
    link = card.get_by_label("Tautan untuk anggota kelompok")
    await expect(link).to_have_value(f"{server.base_url}/s/{code}")
    qr = card.get_by_role("img", name=re.compile(code))
    await expect(qr).to_be_visible()
    assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
    await expect(card.get_by_role("link", name="Buka sebagai pemimpin kelompok")).to_have_attribute(
        "href", f"/s/{code}/lead"
    )

    # Usable on a 360 px phone: nothing wider than the screen.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(tmp_path / "dashboard-360x740.png"))
    await page.screenshot(path=str(tmp_path / "dashboard-360-full.png"), full_page=True)

    # The join form on the home page takes the code as a student types it.
    await page.goto(server.base_url + "/")
    await page.get_by_label("Kode sesi").fill(code.lower().replace("-", " "))
    await page.get_by_role("button", name="Gabung").click()
    await page.wait_for_url(f"**/s/{code}")
    assert errors == [] or all("404" in e for e in errors)
    await context.close()


async def test_a_busy_dashboard_stays_short_and_findable(
    server: ServerProcess, data_dir: Path, browser: Browser
) -> None:
    """Fourteen sessions, twelve of them ended, one of those ended by itself: the cards are
    compact (link and QR code on demand), the ended ones collapsed and in pages of ten, a filter
    finds by title and date and says when it does not understand, and a notice tells the
    counselor what ended by itself until she hides it."""
    serverproc.add_counselor(data_dir, "bu.maya", "Bu Maya", PASSWORD)
    context = await browser.new_context(
        ignore_https_errors=True, viewport={"width": 1280, "height": 800}, locale="en-US"
    )
    page = await context.new_page()
    await log_in(page, server.base_url, "bu.maya")
    for week in range(1, 15):
        await page.get_by_label("Session title or topic").fill(f"Kelas 9A minggu {week}")
        if week == 14:
            await page.get_by_label("Date and time (optional)").fill("2025-03-04T09:30")
        await page.get_by_role("button", name="Create session").click()
        await page.wait_for_url(re.compile(r".*/dashboard#session-\d+$"))
    # The newest card, reached by its address, shows its link and QR code at once.
    newest = page.locator("article.session", has_text="Kelas 9A minggu 14")
    await expect(newest.get_by_role("img", name=re.compile("QR code"))).to_be_visible()

    # Twelve ended (as if led and closed), week 11 by itself: nobody was in it.
    with sqlite3.connect(data_dir / "lingkar.sqlite3") as db:
        for week in range(1, 13):
            db.execute(
                "UPDATE sessions SET status = 'ended', opened_at = ?, ended_at = ?, "
                "end_reason = ? WHERE title = ?",
                (
                    f"2026-11-{week:02d} 02:00:00.000000",
                    f"2026-11-{week:02d} 03:00:00.000000",
                    "abandoned" if week == 11 else None,
                    f"Kelas 9A minggu {week}",
                ),
            )
    await page.goto(server.base_url + "/dashboard")

    await page.screenshot(path=str(SCREENSHOTS / "dashboard-1280x800.png"))
    notice = page.get_by_role("status").filter(has_text="Closed by themselves")
    await expect(notice).to_contain_text("Kelas 9A minggu 11")
    await expect(notice).to_contain_text("nobody in them for 30 minutes")
    week11 = page.locator("article.session", has_text="Kelas 9A minggu 11")

    # Upcoming cards are compact: no QR code or link until asked for.
    week13 = page.locator("article.session", has_text="Kelas 9A minggu 13")
    await expect(week13.get_by_role("img")).to_be_hidden()
    await week13.get_by_text("Link and QR code").click()
    await expect(week13.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    await expect(week13.get_by_label("Link for the group members")).to_have_value(
        re.compile(r"/s/[A-Z0-9]{3}-[A-Z0-9]{3}$")
    )

    # The ended ones are collapsed; opened, ten at a time, newest first.
    ended = page.locator("details.ended-group")
    await expect(ended.locator("article.session").first).to_be_hidden()
    await page.get_by_role("heading", name="Ended").click()
    cards = ended.locator("article.session")
    await expect(cards).to_have_count(10)
    await expect(cards.first).to_contain_text("Kelas 9A minggu 12")
    await expect(week11.locator(".abandoned-note")).to_have_text(
        "Ended by itself: nobody was in it for 30 minutes."
    )
    await expect(page.get_by_text("Page 1 of 2")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "dashboard-ended-1280x800.png"))
    await page.get_by_role("link", name="Older").click()
    await expect(cards).to_have_count(2)
    await expect(cards.last).to_contain_text("Kelas 9A minggu 1")
    await expect(page.get_by_text("Page 2 of 2")).to_be_visible()

    # Find by title, then by date.
    search = page.get_by_role("search", name="Find sessions")
    await search.get_by_label("Title contains").fill("minggu 3")
    await search.get_by_role("button", name="Find").click()
    await expect(page.locator("article.session")).to_have_count(1)
    await expect(page.locator("article.session")).to_contain_text("Kelas 9A minggu 3")
    await search.get_by_role("link", name="Show all").click()
    await search.get_by_label("Date").fill("2025-03-04")
    await search.get_by_role("button", name="Find").click()
    await expect(page.locator("article.session")).to_have_count(1)
    await expect(page.locator("article.session")).to_contain_text("Kelas 9A minggu 14")
    await search.get_by_label("Title contains").fill("nothing like this")
    await search.get_by_role("button", name="Find").click()
    await expect(page.get_by_text("No session matches.")).to_be_visible()

    # A date the server does not understand is said so, in view, and the list shows all.
    await page.goto(server.base_url + "/dashboard?on=2025-13-45&page=x")
    error = page.get_by_role("alert")
    await expect(error).to_contain_text("That date was not understood")
    await expect(error).to_be_in_viewport()
    # (two upcoming, and the first page of ten ended ones)
    await expect(page.locator("article.session")).to_have_count(12)

    # The notice goes once hidden, and stays gone.
    await page.get_by_role("button", name="Hide this notice").click()
    await page.wait_for_url("**/dashboard")
    await expect(page.get_by_text("Closed by themselves")).to_have_count(0)
    await page.reload()
    await expect(page.get_by_text("Closed by themselves")).to_have_count(0)
    await expect(week11.locator(".abandoned-note")).to_have_count(1)

    for width, height in ((1366, 768), (390, 844)):
        await page.set_viewport_size({"width": width, "height": height})
        assert await page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        ), f"the dashboard scrolls sideways at {width}x{height}"
        await page.screenshot(path=str(SCREENSHOTS / f"dashboard-{width}x{height}.png"))
