"""The browser harness itself: a real Chromium opens the real server over https."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.serverproc import ServerProcess


async def test_home_page_over_https_in_chromium(
    https_server: ServerProcess, browser: Browser
) -> None:
    assert https_server.base_url.startswith("https://")
    context = await browser.new_context(ignore_https_errors=True, locale="id-ID")
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    response = await page.goto(https_server.base_url + "/")
    assert response is not None
    assert response.status == 200
    assert await page.locator("h1").inner_text() == "Selamat datang di Lingkar"
    assert await page.get_by_role("status").inner_text() == "Server berjalan"
    # The stylesheet arrived and applied despite the strict CSP (no inline styles are used).
    background = await page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
    assert background == "rgb(247, 248, 246)"
    await page.get_by_role("link", name="English").click()
    await page.wait_for_url("**/?lang=en")
    assert await page.locator("h1").inner_text() == "Welcome to Lingkar"
    assert errors == []
    await context.close()


async def test_phone_viewport_has_no_horizontal_scroll(
    https_server: ServerProcess, browser: Browser
) -> None:
    context = await browser.new_context(
        ignore_https_errors=True, viewport={"width": 360, "height": 740}, is_mobile=True
    )
    page = await context.new_page()
    await page.goto(https_server.base_url + "/")
    scroll_width = await page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 360
    await context.close()
