from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.db.database import DATABASE
from server.sessions.store import GuidanceSession, create_session, list_counselor_sessions
from tests.server.accounts.helpers import add_counselor, csrf_of, log_in, start_client


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    assert (await log_in(client, "ani")).status == 303
    return client


async def sessions_of(client: TestClient, counselor_id: int = 1) -> list[GuidanceSession]:
    return await list_counselor_sessions(client.app[DATABASE], counselor_id)


async def create(client: TestClient, **fields: str) -> Any:
    token = await csrf_of(client, "/dashboard")
    data = {"csrf": token, "title": "Mengelola emosi", "template": "online", **fields}
    return await client.post("/dashboard/sessions", data=data, allow_redirects=False)


async def test_dashboard_needs_a_login(aiohttp_client: Any, tmp_path: Path) -> None:
    anonymous = await start_client(aiohttp_client, tmp_path)
    for path in ("/dashboard", "/dashboard/sessions/1/edit", "/dashboard/sessions/1/qr.svg"):
        response = await anonymous.get(path, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=")
    posted = await anonymous.post("/dashboard/sessions", data={}, allow_redirects=False)
    assert posted.status == 303


async def test_create_shows_code_link_and_qr(client: TestClient) -> None:
    empty = await (await client.get("/dashboard")).text()
    assert "Belum ada sesi" in empty
    response = await create(client, password="pelangi", scheduled_at="2025-03-04T09:30")
    assert response.status == 303
    [made] = await sessions_of(client)
    assert response.headers["Location"] == f"/dashboard#session-{made.id}"
    assert made.has_password
    page = await (await client.get("/dashboard")).text()
    assert made.code in page
    assert "Mengelola emosi" in page
    assert "2025-03-04 09:30" in page
    assert "Akan datang" in page
    link = f"http://{client.host}:{client.port}/s/{made.code}"
    assert re.search(rf'<input id="session-{made.id}-link"[^>]*readonly value="{link}"', page)
    assert f'href="/s/{made.code}/lead"' in page
    assert f'src="/dashboard/sessions/{made.id}/qr.svg"' in page
    qr = await client.get(f"/dashboard/sessions/{made.id}/qr.svg")
    assert qr.status == 200
    assert qr.content_type == "image/svg+xml"
    svg = await qr.text()
    assert svg.startswith("<svg")
    assert "<script" not in svg


async def test_groups_follow_the_status(client: TestClient) -> None:
    db = client.app[DATABASE]
    from server.sessions.store import set_session_status

    for title, status in (("Satu", "open"), ("Dua", "ended"), ("Tiga", None)):
        made = await create_session(db, 1, title=title, template="classic")
        if status:
            await set_session_status(db, made.id, status)
    page = await (await client.get("/dashboard")).text()
    assert page.index("Sedang berlangsung") < page.index("Satu") < page.index("Akan datang")
    assert (
        page.index("Akan datang") < page.index("Tiga") < page.index("Selesai") < page.index("Dua")
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": ""}, "Judul sesi wajib diisi."),
        ({"title": "x" * 121}, "Judul sesi paling banyak 120 karakter."),
        ({"template": "nope"}, "Pilih salah satu model tahapan"),
        ({"scheduled_at": "besok pagi"}, "Tanggal dan waktu tidak valid"),
        ({"scheduled_at": "2025-02-30T10:00"}, "Tanggal dan waktu tidak valid"),
        ({"password": "abc"}, "Kata sandi sesi minimal 4 karakter."),
    ],
)
async def test_bad_input_shows_a_clear_error_and_stores_nothing(
    client: TestClient, fields: dict[str, str], message: str
) -> None:
    response = await create(client, **fields)
    assert response.status == 400
    text = await response.text()
    assert message in text
    assert 'aria-invalid="true"' in text
    assert await sessions_of(client) == []


async def test_oversized_form_is_refused(client: TestClient) -> None:
    response = await create(client, title="x" * 70_000)
    assert response.status == 413
    assert await sessions_of(client) == []


async def test_create_without_csrf_changes_nothing(client: TestClient) -> None:
    response = await client.post(
        "/dashboard/sessions", data={"title": "Tanpa token", "template": "online"}
    )
    assert response.status == 403
    assert await sessions_of(client) == []


async def test_edit_and_remove_password(client: TestClient) -> None:
    await create(client, password="pelangi")
    [made] = await sessions_of(client)
    form = await client.get(f"/dashboard/sessions/{made.id}/edit")
    assert 'value="Mengelola emosi"' in await form.text()
    token = await csrf_of(client, f"/dashboard/sessions/{made.id}/edit")
    changed = await client.post(
        f"/dashboard/sessions/{made.id}/edit",
        data={"csrf": token, "title": "Karier", "template": "classic", "scheduled_at": ""},
        allow_redirects=False,
    )
    assert changed.status == 303
    [after] = await sessions_of(client)
    assert (after.title, after.template, after.code) == ("Karier", "classic", made.code)
    assert after.password_hash == made.password_hash, "an empty password field keeps it"
    await client.post(
        f"/dashboard/sessions/{made.id}/edit",
        data={"csrf": token, "title": "Karier", "template": "classic", "remove_password": "1"},
    )
    [after] = await sessions_of(client)
    assert not after.has_password
    bad = await client.post(
        f"/dashboard/sessions/{made.id}/edit",
        data={"csrf": token, "title": "", "template": "classic"},
    )
    assert bad.status == 400
    assert (await sessions_of(client))[0].title == "Karier"


async def test_delete_asks_then_deletes(client: TestClient) -> None:
    await create(client)
    [made] = await sessions_of(client)
    confirm = await client.get(f"/dashboard/sessions/{made.id}/delete")
    assert "Ya, hapus sesi ini" in await confirm.text()
    assert len(await sessions_of(client)) == 1
    token = await csrf_of(client, f"/dashboard/sessions/{made.id}/delete")
    done = await client.post(
        f"/dashboard/sessions/{made.id}/delete", data={"csrf": token}, allow_redirects=False
    )
    assert done.status == 303
    assert await sessions_of(client) == []


async def test_another_counselors_session_is_not_found(client: TestClient) -> None:
    budi = await add_counselor(client, "budi")
    his = await create_session(client.app[DATABASE], budi.id, title="Punya Budi", template="online")
    token = await csrf_of(client, "/dashboard")
    base = f"/dashboard/sessions/{his.id}"
    for path in (f"{base}/edit", f"{base}/delete", f"{base}/qr.svg"):
        assert (await client.get(path)).status == 404, path
    edit = {"csrf": token, "title": "Diambil", "template": "online"}
    assert (await client.post(f"{base}/edit", data=edit)).status == 404
    assert (await client.post(f"{base}/delete", data={"csrf": token})).status == 404
    page = await (await client.get("/dashboard")).text()
    assert "Punya Budi" not in page
    [still] = await sessions_of(client, budi.id)
    assert still.title == "Punya Budi"


@pytest.mark.parametrize(
    "path", ["/dashboard/sessions/abc/edit", "/dashboard/sessions/1234567890/edit"]
)
async def test_malformed_ids_are_not_found(client: TestClient, path: str) -> None:
    assert (await client.get(path)).status == 404


async def test_home_join_form(client: TestClient) -> None:
    await create(client)
    [made] = await sessions_of(client)
    home = await (await client.get("/")).text()
    assert '<label for="join-code">' in home
    assert 'href="/login"' in home
    for typed in (
        made.code,
        made.code.lower().replace("-", ""),
        f" {made.code[:3]} {made.code[4:]}",
    ):
        response = await client.get("/join", params={"code": typed}, allow_redirects=False)
        assert response.status == 303
        assert response.headers["Location"] == f"/s/{made.code}"


@pytest.mark.parametrize(
    ("typed", "status", "message"),
    [
        ("ABC", 400, "Kode itu tidak sesuai bentuknya."),
        ("x" * 5000, 400, "Kode itu tidak sesuai bentuknya."),
        ("<script>", 400, "Kode itu tidak sesuai bentuknya."),
        ("ACD-EFG", 404, "Tidak ada sesi dengan kode itu."),
    ],
)
async def test_home_join_errors(client: TestClient, typed: str, status: int, message: str) -> None:
    response = await client.get("/join", params={"code": typed})
    assert response.status == status
    text = await response.text()
    assert message in text
    assert "Selamat datang di Lingkar" in text
    assert "<script>" not in text
