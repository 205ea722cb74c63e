"""Guessing session codes is slowed per address (issue 14): 20 unknown codes a minute, then
429 for every code, known or not, on the join page, the home form and the join API; a student
who types one code (or another address) is untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from server.app import create_app
from server.db.database import DATABASE
from server.platform.limits import UNKNOWN_CODES_PER_ADDRESS
from server.platform.settings import Settings
from server.sessions.store import create_session
from tests.server.accounts.helpers import add_counselor


async def test_code_guessing_is_slowed_per_address(aiohttp_client: Any, tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path, trusted_proxies=("127.0.0.1",)))
    client: TestClient = await aiohttp_client(app)
    counselor = await add_counselor(client, "ani")
    record = await create_session(app[DATABASE], counselor.id, title="Kelas 9A", template="online")
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    student = {"X-Forwarded-For": "192.0.2.20"}

    # Unknown codes answer 404 until the limit; then even the real code is 429 from there.
    for i in range(UNKNOWN_CODES_PER_ADDRESS):
        wrong = f"/s/AAA-{'BCDEFGHJKLMNPQRSTUVWXYZ2'[i]}AA"
        assert (await client.get(wrong, headers=guesser)).status == 404
    refused = await client.get(f"/s/{record.code}", headers=guesser)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) > 0
    english = await client.get(f"/s/{record.code}?lang=en", headers=guesser)
    assert "Too many unknown codes" in await english.text()
    home = await client.get(f"/join?code={record.code}", headers=guesser)
    assert home.status == 429
    api = await client.post(
        f"/api/sessions/{record.code}/join",
        json={"name": "Tebak", "consent": True},
        headers={**guesser, "Origin": str(client.make_url("")).rstrip("/")},
    )
    assert api.status == 429
    assert (await api.json())["error"] == "rate_limited"

    # A student at another address, typing the code once (even mistyped first), is untouched.
    assert (await client.get("/s/AAA-AAA", headers=student)).status == 404
    assert (await client.get(f"/s/{record.code}", headers=student)).status == 200
    form = await client.get(
        f"/join?code={record.code.lower()}", headers=student, allow_redirects=False
    )
    assert form.status == 303
