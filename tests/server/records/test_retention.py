"""Retention: ended sessions' personal data go ``retention_days`` after the end, no sooner;
deleting a session deletes everything of it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from server.app import create_app
from server.cli import main
from server.counseling.plans import get_plan
from server.db.database import DATABASE
from server.db.schema import (
    attendance,
    evaluations,
    metadata,
    notes,
    participation,
    sessions,
)
from server.platform.settings import SETTINGS, Settings
from server.records.report import load_report
from server.records.retention import RETENTION_CLOCK, RETENTION_INTERVAL, purge_expired
from server.sessions.store import delete_session, get_session
from tests.server.accounts.helpers import add_counselor, csrf_of, log_in, start_client
from tests.server.records.helpers import (
    CONCLUSION_TEXT,
    NOTE_TEXT,
    fill_session,
    notes_key,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PERSONAL = (attendance, participation, notes, evaluations)


@pytest.fixture
async def client(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    return client


async def rows_of(client: TestClient, session_id: int) -> dict[str, int]:
    found = {}
    async with client.app[DATABASE].connect() as conn:
        for table in metadata.sorted_tables:
            if "session_id" in table.c:
                query = select(func.count()).select_from(table)
                query = query.where(table.c.session_id == session_id)
                found[table.name] = (await conn.execute(query)).scalar_one()
    return found


async def test_deleting_a_session_leaves_nothing(client: TestClient, tmp_path: Path) -> None:
    made = await fill_session(client)
    other = await fill_session(client, title="Sesi lain")
    before = await rows_of(client, made.id)
    # Everything but the counselor's own rows (their account, sessions and templates).
    assert set(before) == {t.name for t in metadata.sorted_tables} - {
        "counselors",
        "logins",
        "sessions",
        "templates",
    }
    assert all(count > 0 for count in before.values()), before
    assert (await log_in(client, "ani")).status == 303
    token = await csrf_of(client, f"/dashboard/sessions/{made.id}/delete")
    response = await client.post(
        f"/dashboard/sessions/{made.id}/delete", data={"csrf": token}, allow_redirects=False
    )
    assert response.status == 303
    assert await get_session(client.app[DATABASE], made.id) is None
    assert set((await rows_of(client, made.id)).values()) == {0}
    assert all(count > 0 for count in (await rows_of(client, other.id)).values())
    # The other session's rows are still there; delete it too and look at the file's bytes.
    assert await delete_session(client.app[DATABASE], other.id, 1)
    async with client.app[DATABASE].begin() as conn:
        await conn.exec_driver_sql("VACUUM")
    data = client.app[SETTINGS].database_path.read_bytes()
    for text in (NOTE_TEXT, "Sari", "Mengelola emosi", CONCLUSION_TEXT):
        assert text.encode() not in data, text


@pytest.mark.parametrize(
    ("ended_ago", "expired"),
    [
        (timedelta(days=30), False),  # exactly at the limit: kept
        (timedelta(days=30, seconds=1), True),  # one second past it: gone
        (timedelta(days=31), True),  # a day past it
    ],
)
async def test_personal_data_expire_after_retention_days(
    client: TestClient, ended_ago: timedelta, expired: bool
) -> None:
    db = client.app[DATABASE]
    key = notes_key(client)
    made = await fill_session(client, ended_at=NOW - ended_ago)
    result = await purge_expired(db, key, 30, NOW)
    counts = await rows_of(client, made.id)
    if not expired:
        assert result.sessions == 0
        assert all(counts[t.name] > 0 for t in PERSONAL)
        return
    assert result.sessions == 1
    assert all(counts[t.name] == 0 for t in PERSONAL), counts
    # Kept: the session, the plan without names, the stages, the group's conclusions.
    assert counts["stage_log"] == 3
    assert counts["reports"] == 1
    plan = await get_plan(db, made.id)
    assert plan is not None
    assert plan.topic == "Mengelola emosi"
    assert plan.expected_members == ""
    session = await get_session(db, made.id)
    assert session is not None
    report = await load_report(db, key, session, "id", retention_days=30, now=NOW)
    assert report.personal_data_expired
    assert report.conclusions.conclusions == CONCLUSION_TEXT
    assert report.conclusions.individual == ""  # it named a student (INDIVIDUAL_TEXT)
    assert report.conclusions.next_session != ""
    # A second run finds nothing more to do.
    assert (await purge_expired(db, key, 30, NOW)).sessions == 0


async def test_sessions_that_did_not_end_are_kept(client: TestClient) -> None:
    db = client.app[DATABASE]
    made = await fill_session(client, ended_at=NOW - timedelta(days=90))
    async with db.begin() as conn:
        await conn.execute(
            sessions.update()
            .where(sessions.c.id == made.id)
            .values(status="open", opened_at=NOW - timedelta(hours=3), ended_at=None)
        )
    assert (await purge_expired(db, notes_key(client), 30, NOW)).sessions == 0
    assert (await rows_of(client, made.id))["notes"] == 2


@pytest.mark.parametrize(
    ("opened_ago", "expired"), [(timedelta(days=31), False), (timedelta(days=31, seconds=1), True)]
)
async def test_an_abandoned_open_session_expires_a_day_after_the_limit(
    client: TestClient, opened_ago: timedelta, expired: bool
) -> None:
    """A session left open (the server stopped, its leader never came back) is not kept forever."""
    db = client.app[DATABASE]
    made = await fill_session(client)
    async with db.begin() as conn:
        await conn.execute(
            sessions.update()
            .where(sessions.c.id == made.id)
            .values(status="open", opened_at=NOW - opened_ago, ended_at=None)
        )
    result = await purge_expired(db, notes_key(client), 30, NOW)
    assert result.sessions == (1 if expired else 0)
    assert ((await rows_of(client, made.id))["notes"] == 0) == expired


async def test_the_report_says_when_data_expire(client: TestClient) -> None:
    made = await fill_session(client, ended_at=datetime.now(UTC) - timedelta(days=1))
    assert (await log_in(client, "ani")).status == 303
    page = await (await client.get(f"/dashboard/sessions/{made.id}/report")).text()
    expires = (datetime.now(UTC) + timedelta(days=29)).astimezone().strftime("%Y-%m-%d")
    assert f"dihapus otomatis setelah {expires}" in page


async def test_the_server_purges_at_start_and_then_periodically(
    aiohttp_client: Any, tmp_path: Path
) -> None:
    app = create_app(Settings(data_dir=tmp_path, retention_days=7))
    clock = [NOW]
    app[RETENTION_CLOCK] = lambda: clock[0]
    app[RETENTION_INTERVAL] = 0.05
    client: TestClient = await aiohttp_client(app)
    await add_counselor(client, "ani")
    made = await fill_session(client, ended_at=NOW - timedelta(days=6))
    await asyncio.sleep(0.2)
    assert (await rows_of(client, made.id))["notes"] == 2  # 6 of 7 days: kept
    clock[0] = NOW + timedelta(days=2)
    for _ in range(100):
        if (await rows_of(client, made.id))["notes"] == 0:
            break
        await asyncio.sleep(0.05)
    counts = await rows_of(client, made.id)
    assert all(counts[t.name] == 0 for t in PERSONAL), counts


async def test_retention_run_command(
    aiohttp_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani")
    old = await fill_session(client, ended_at=datetime.now(UTC) - timedelta(days=45))
    recent = await fill_session(client, ended_at=datetime.now(UTC) - timedelta(days=3))
    assert (await rows_of(client, old.id))["attendance"] == 4  # the server's own run: too late
    code = await asyncio.to_thread(main, ["retention", "run", "--data-dir", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "Retention (30 days): personal data of 1 ended session(s) deleted" in out
    assert (await rows_of(client, old.id))["attendance"] == 0
    assert (await rows_of(client, recent.id))["attendance"] == 4
    assert (await rows_of(client, recent.id))["reports"] == 1
