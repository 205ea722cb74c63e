"""The session plan (RPL) on the dashboard's create and edit forms, and plan.json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.counseling.plans import Plan, get_plan
from server.db.database import DATABASE
from server.db.schema import plans, sessions
from server.sessions.store import list_counselor_sessions
from tests.server.accounts.helpers import add_counselor, csrf_of, log_in, start_client

PLAN_FORM = {
    "topic": "  Mengelola   emosi ",
    "topic_kind": "free",
    "goals": "Mengenali marah\r\nMenenangkan diri",
    "field": "social",
    "materials": "Lembar kerja",
    "evaluation_plan": "Laiseg UCA",
    "expected_members": "Sari, Budi",
    "group_size": "9",
}


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    assert (await log_in(client, "ani")).status == 303
    return client


async def create(client: TestClient, **fields: str) -> Any:
    token = await csrf_of(client, "/dashboard")
    data = {"csrf": token, "title": "Sesi", "template": "online", **fields}
    return await client.post("/dashboard/sessions", data=data, allow_redirects=False)


async def counts(client: TestClient) -> tuple[int, int]:
    async with client.app[DATABASE].connect() as conn:
        made = (await conn.execute(select(func.count()).select_from(sessions))).scalar_one()
        planned = (await conn.execute(select(func.count()).select_from(plans))).scalar_one()
    return made, planned


async def test_the_create_form_stores_the_plan(client: TestClient) -> None:
    page = await (await client.get("/dashboard")).text()
    for name in ("topic", "topic_kind", "goals", "field", "materials", "evaluation_plan"):
        assert f'name="{name}"' in page
    assert 'name="group_size" type="number"' in page
    assert "Topik bebas (dari anggota kelompok)" in page
    response = await create(client, **PLAN_FORM)
    assert response.status == 303
    [made] = await list_counselor_sessions(client.app[DATABASE], 1)
    plan = await get_plan(client.app[DATABASE], made.id)
    assert plan == Plan(
        topic="Mengelola emosi",
        topic_kind="free",
        goals="Mengenali marah\nMenenangkan diri",
        field="social",
        materials="Lembar kerja",
        evaluation_plan="Laiseg UCA",
        expected_members="Sari, Budi",
        group_size=9,
    )


async def test_a_session_without_a_plan_makes_no_plan_row(client: TestClient) -> None:
    assert (await create(client)).status == 303
    assert await counts(client) == (1, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("topic", "x" * 201, "Topik paling banyak 200 karakter."),
        ("goals", "x" * 4001, "Tujuan layanan paling banyak 4000 karakter."),
        ("materials", "x" * 4001, "Materi paling banyak 4000 karakter."),
        ("evaluation_plan", "x" * 4001, "Rencana evaluasi paling banyak 4000 karakter."),
        ("expected_members", "x" * 4001, "Daftar anggota paling banyak 4000 karakter."),
        ("topic_kind", "homework", "Pilih topik tugas atau topik bebas."),
        ("field", "sport", "Pilih bidang pribadi, sosial, belajar, atau karier."),
        ("group_size", "1", "Jumlah anggota harus angka 2 sampai 40."),
        ("group_size", "41", "Jumlah anggota harus angka 2 sampai 40."),
        ("group_size", "-5", "Jumlah anggota harus angka 2 sampai 40."),
        ("group_size", "delapan", "Jumlah anggota harus angka 2 sampai 40."),
        ("group_size", "٣", "Jumlah anggota harus angka 2 sampai 40."),
    ],
)
async def test_a_bad_plan_stores_nothing(
    client: TestClient, field: str, value: str, message: str
) -> None:
    response = await create(client, **{**PLAN_FORM, field: value})
    assert response.status == 400
    page = await response.text()
    assert "Periksa isian yang ditandai di bawah." in page
    assert message in page
    assert f'id="create-{field}-error"' in page
    assert await counts(client) == (0, 0)


@pytest.mark.parametrize("size", ["2", "40", " 8 "])
async def test_group_size_limits_are_inclusive(client: TestClient, size: str) -> None:
    assert (await create(client, group_size=size)).status == 303
    plan = await get_plan(client.app[DATABASE], 1)
    assert plan is not None
    assert plan.group_size == int(size)


async def test_errors_in_english(client: TestClient) -> None:
    await client.get("/dashboard?lang=en")
    response = await create(client, group_size="99", field="sport")
    page = await response.text()
    assert "The group size must be a number from 2 to 40." in page
    assert "Choose the personal, social, learning or career field." in page


async def test_the_edit_form_shows_and_changes_the_plan(client: TestClient) -> None:
    await create(client, **PLAN_FORM)
    path = "/dashboard/sessions/1/edit"
    page = await (await client.get(path)).text()
    assert 'value="Mengelola emosi"' in page
    assert '<option value="free" selected>' in page
    assert '<option value="social" selected>' in page
    assert "Mengenali marah\nMenenangkan diri</textarea>" in page
    assert 'value="9"' in page
    token = await csrf_of(client, path)
    changed = {**PLAN_FORM, "topic": "Stres ujian", "field": "learning", "group_size": ""}
    response = await client.post(
        path,
        data={"csrf": token, "title": "Sesi", "template": "online", **changed},
        allow_redirects=False,
    )
    assert response.status == 303
    plan = await get_plan(client.app[DATABASE], 1)
    assert plan is not None
    assert (plan.topic, plan.field, plan.group_size) == ("Stres ujian", "learning", None)
    bad = await client.post(
        path,
        data={"csrf": token, "title": "Sesi", "template": "online", "topic_kind": "x"},
        allow_redirects=False,
    )
    assert bad.status == 400
    assert (await get_plan(client.app[DATABASE], 1)) == plan


async def test_an_emptied_plan_is_emptied(client: TestClient) -> None:
    await create(client, **PLAN_FORM)
    token = await csrf_of(client, "/dashboard/sessions/1/edit")
    await client.post(
        "/dashboard/sessions/1/edit",
        data={"csrf": token, "title": "Sesi", "template": "online"},
        allow_redirects=False,
    )
    assert await get_plan(client.app[DATABASE], 1) == Plan()


async def test_plan_json_for_the_leader(client: TestClient) -> None:
    await create(client, scheduled_at="2025-03-04T09:30", **PLAN_FORM)
    response = await client.get("/dashboard/sessions/1/plan.json")
    assert response.status == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    body = await response.json()
    assert body["session"]["title"] == "Sesi"
    assert body["session"]["scheduled_at"].startswith("2025-03-04")
    assert body["plan"] == {
        "topic": "Mengelola emosi",
        "topic_kind": "free",
        "goals": "Mengenali marah\nMenenangkan diri",
        "field": "social",
        "materials": "Lembar kerja",
        "evaluation_plan": "Laiseg UCA",
        "expected_members": "Sari, Budi",
        "group_size": 9,
    }
    await create(client)
    empty = await (await client.get("/dashboard/sessions/2/plan.json")).json()
    assert empty["plan"]["topic"] == ""
    assert empty["plan"]["group_size"] is None
    missing = await client.get("/dashboard/sessions/99/plan.json")
    assert missing.status == 404
    assert (await missing.json())["error"] == "not_found"
