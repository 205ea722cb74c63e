"""A counselor's first day: the administrator makes the account with the CLI, the counselor logs
in from a phone, creates a session and finds its code, link and QR code on the dashboard."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Browser, expect

from server.codes import ALPHABET
from tests import serverproc
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
