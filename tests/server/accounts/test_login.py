from __future__ import annotations

import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.accounts.auth import SESSION_COOKIE
from server.accounts.counselors import set_password
from server.app import create_app
from server.db.database import DATABASE
from server.platform.ratelimit import (
    LOGIN_FAILURES_PER_ACCOUNT,
    LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS,
    LOGIN_FAILURES_PER_ADDRESS,
)
from server.platform.settings import Settings
from tests.server.accounts.helpers import PASSWORD, add_counselor, csrf_of, log_in, start_client


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    return client


async def test_login_page_is_a_real_form(client: TestClient) -> None:
    response = await client.get("/login")
    assert response.status == 200
    text = await response.text()
    assert "Masuk untuk guru BK" in text
    assert '<label for="login-username">' in text
    assert 'type="password"' in text
    assert "<script" not in text
    assert "style=" not in text


async def test_login_success_opens_the_dashboard(client: TestClient) -> None:
    response = await log_in(client, "ani")
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard"
    cookie = response.cookies[SESSION_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == str(12 * 3600)
    assert not cookie["secure"], "plain http in tests; https sets Secure"
    dashboard = await client.get("/dashboard")
    assert dashboard.status == 200
    assert "Bu Ani" in await dashboard.text()


async def test_user_name_is_case_insensitive_and_next_is_followed(client: TestClient) -> None:
    token = await csrf_of(client, "/login?next=/dashboard/sessions/1/edit")
    response = await client.post(
        "/login",
        data={
            "csrf": token,
            "username": " ANI ",
            "password": PASSWORD,
            "next": "/dashboard/sessions/1/edit",
        },
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/dashboard/sessions/1/edit"


# Every trick seen or known for leaving a site through a "next" parameter (issue 14): schemes,
# protocol-relative and triple slashes, backslashes raw and encoded, control characters that
# aiohttp drops from a Location header (tab, newline), encoded slashes, dot segments.
REDIRECT_TRICKS = [
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "//evil.example/",
    "///evil.example/",
    "////evil.example",
    "/\\evil",
    "/\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/%09/evil.example",
    "/\n/evil.example",
    "/%0a/evil.example",
    "/\r\nLocation: https://evil.example",
    "/%0d%0aSet-Cookie: a=b",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5C/evil.example",
    "/%5cevil.example",
    "/./\\evil.example",
    "/.//evil.example",
    "/../evil.example",
    "/%2e%2e/evil.example",
    " /dashboard",
    "/dashboard ",
    "/\x00/evil.example",
    "/" + "a" * 3000,
    "evil.example",
    "",
]


@pytest.mark.parametrize("target", REDIRECT_TRICKS)
async def test_next_never_leaves_the_site(client: TestClient, target: str) -> None:
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login",
        data={"csrf": token, "username": "ani", "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/dashboard"


@pytest.mark.parametrize(
    "target",
    ["/dashboard/sessions/12/report", "/dashboard?q=kelas%209A&on=2026-11-02", "/s/ABC-DEF/lead"],
)
async def test_next_keeps_our_own_paths(client: TestClient, target: str) -> None:
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login",
        data={"csrf": token, "username": "ani", "password": PASSWORD, "next": target},
        allow_redirects=False,
    )
    assert response.headers["Location"] == target


async def test_wrong_password_or_unknown_user(client: TestClient) -> None:
    for username, password in (("ani", "salah-sekali!"), ("nobody", PASSWORD), ("ani", "")):
        response = await log_in(client, username, password)
        assert response.status == 401
        assert "Nama pengguna atau kata sandi salah." in await response.text()
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_account_rate_limit_at_the_limit_and_one_past(client: TestClient) -> None:
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert (await log_in(client, "ani", "salah-sekali!")).status == 401
    blocked = await log_in(client, "ani", PASSWORD)  # even the right password, from there
    assert blocked.status == 429
    assert "Terlalu banyak percobaan" in await blocked.text()
    assert int(blocked.headers["Retry-After"]) > 0
    # Another account from the same address (one school NAT) is not blocked.
    await add_counselor(client, "budi")
    assert (await log_in(client, "budi")).status == 303


async def test_success_resets_the_account_counter(client: TestClient) -> None:
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
        assert (await log_in(client, "ani", "salah-sekali!")).status == 401
    assert (await log_in(client, "ani")).status == 303
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS - 1):
        assert (await log_in(client, "ani", "salah-sekali!")).status == 401
    assert (await log_in(client, "ani")).status == 303


async def test_address_rate_limit_at_the_limit_and_one_past(client: TestClient) -> None:
    for i in range(LOGIN_FAILURES_PER_ADDRESS):
        assert (await log_in(client, f"guess{i}", "salah-sekali!")).status == 401
    assert (await log_in(client, "ani")).status == 429


async def test_rate_limited_page_is_in_english_too(client: TestClient) -> None:
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        await log_in(client, "ani", "salah-sekali!")
    token = await csrf_of(client, "/login?lang=en")
    response = await client.post(
        "/login?lang=en", data={"csrf": token, "username": "ani", "password": "x" * 10}
    )
    assert response.status == 429
    assert "Too many failed login attempts" in await response.text()


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(client: TestClient) -> None:
    await client.get("/login")
    for data in (
        {"username": "ani", "password": PASSWORD},
        {"csrf": "forged", "username": "ani", "password": PASSWORD},
        {"csrf": "", "username": "ani", "password": PASSWORD},
    ):
        response = await client.post("/login", data=data, allow_redirects=False)
        assert response.status == 403
        assert "kedaluwarsa" in await response.text()
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_post_from_another_origin_is_refused(client: TestClient) -> None:
    token = await csrf_of(client, "/login")
    data = {"csrf": token, "username": "ani", "password": PASSWORD}
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": f"http://{client.host}:1"},
        # A sandboxed frame elsewhere sends "null" too, but its fetch metadata gives it away.
        {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        response = await client.post("/login", data=data, headers=headers, allow_redirects=False)
        assert response.status == 403, headers
    own = f"http://{client.host}:{client.port}"
    ok = await client.post("/login", data=data, headers={"Origin": own}, allow_redirects=False)
    assert ok.status == 303


async def test_our_own_post_under_no_referrer_is_accepted(client: TestClient) -> None:
    """With Referrer-Policy no-referrer, Chromium sends "Origin: null" for our own form."""
    token = await csrf_of(client, "/login")
    data = {"csrf": token, "username": "ani", "password": PASSWORD}
    headers = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    ok = await client.post("/login", data=data, headers=headers, allow_redirects=False)
    assert ok.status == 303


async def test_logout_needs_the_token_and_ends_the_login(client: TestClient) -> None:
    await log_in(client, "ani")
    assert (await client.post("/logout", data={}, allow_redirects=False)).status == 403
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200
    token = await csrf_of(client, "/dashboard")
    out = await client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert out.status == 303
    assert out.headers["Location"] == "/"
    assert (await client.get("/dashboard", allow_redirects=False)).status == 303


async def test_a_password_reset_ends_existing_logins(client: TestClient) -> None:
    await log_in(client, "ani")
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200
    ani = await add_counselor(client, "ani2")
    await set_password(client.app[DATABASE], ani.id - 1, "kata-sandi-baru")
    response = await client.get("/dashboard", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/dashboard"


async def test_secret_key_file_is_private_and_kept(tmp_path: Path, aiohttp_client: Any) -> None:
    await start_client(aiohttp_client, tmp_path)
    key_file = tmp_path / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    first = key_file.read_text()
    assert len(bytes.fromhex(first.strip())) == 32
    await start_client(aiohttp_client, tmp_path)
    assert key_file.read_text() == first


async def test_logs_hold_no_names_passwords_or_addresses(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Guards the privacy rule: Lingkar's own log lines (the access log is off in lingkar serve)."""
    caplog.set_level(logging.DEBUG, logger="lingkar")
    await log_in(client, "ani", "salah-sekali!")
    await log_in(client, "ani")
    ours = [r for r in caplog.records if r.name.startswith("lingkar")]
    assert ours, "the login handler does log that something happened"
    logged = "\n".join(r.getMessage() for r in ours)
    for secret in ("salah-sekali", PASSWORD, "ani", "127.0.0.1"):
        assert secret not in logged


async def test_nobody_elses_failures_lock_the_counselor_out(
    aiohttp_client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Behind a trusted proxy, addresses come from X-Forwarded-For: an attacker fails for Ani's
    account from one address, then from many; Ani still logs in from her own address, and the
    log names the address an attack comes from, never the account or a password."""
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies=("127.0.0.1",)))
    client: TestClient = await aiohttp_client(app)
    await add_counselor(client, "ani", "Bu Ani")

    async def attempt(address: str, password: str) -> int:
        token = await csrf_of(client, "/login")
        response = await client.post(
            "/login",
            data={"csrf": token, "username": "ani", "password": password},
            headers={"X-Forwarded-For": address},
            allow_redirects=False,
        )
        return response.status

    caplog.set_level(logging.INFO, logger="lingkar")
    for _ in range(LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS):
        assert await attempt("203.0.113.66", "tebak-tebakan-1") == 401
    assert await attempt("203.0.113.66", PASSWORD) == 429, "the guessing address waits"
    for i in range(LOGIN_FAILURES_PER_ACCOUNT):
        await attempt(f"198.51.100.{i + 1}", "tebak-tebakan-2")
    assert await attempt("198.51.100.1", PASSWORD) == 429, "so does one of the many"
    assert await attempt("192.0.2.10", PASSWORD) == 303, "Ani's clean address logs in"
    logged = caplog.text
    assert "too many failed attempts from 203.0.113.66" in logged
    assert "ani" not in logged
    assert "tebak-tebakan" not in logged
    assert PASSWORD not in logged


async def test_logout_revokes_the_cookie_even_a_copy(client: TestClient) -> None:
    """Issue 14: a copy of the login cookie taken before logout is refused after it."""
    assert (await log_in(client, "ani")).status == 303
    copy = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE].value
    assert (await client.get("/dashboard", allow_redirects=False)).status == 200
    token = await csrf_of(client, "/dashboard")
    assert (await client.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 303
    replay = await client.get("/dashboard", allow_redirects=False, cookies={SESSION_COOKIE: copy})
    assert replay.status == 303
    assert replay.headers["Location"].startswith("/login")


async def test_log_out_everywhere_ends_every_browsers_login(
    client: TestClient, aiohttp_client: Any
) -> None:
    other: TestClient = await aiohttp_client(client.server)
    for browser in (client, other):
        assert (await log_in(browser, "ani")).status == 303
        assert (await browser.get("/dashboard", allow_redirects=False)).status == 200
    token = await csrf_of(client, "/dashboard")
    response = await client.post(
        "/logout", data={"csrf": token, "everywhere": "1"}, allow_redirects=False
    )
    assert response.status == 303
    for browser in (client, other):
        assert (await browser.get("/dashboard", allow_redirects=False)).status == 303
    # A fresh login works again.
    assert (await log_in(other, "ani")).status == 303
    assert (await other.get("/dashboard", allow_redirects=False)).status == 200
