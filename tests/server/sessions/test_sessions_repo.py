from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.accounts.counselors import Counselor, create_counselor
from server.db.database import open_database
from server.platform.settings import Settings
from server.sessions.store import (
    Keep,
    SessionInputError,
    check_session_password,
    create_session,
    delete_session,
    get_counselor_session,
    get_session_by_code,
    list_counselor_sessions,
    parse_scheduled_at,
    set_session_status,
    update_session,
)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(Settings(data_dir=tmp_path))
    yield engine
    await engine.dispose()


@pytest.fixture
async def ani(db: AsyncEngine) -> Counselor:
    return await create_counselor(db, "ani", "kata-sandi-ani", "Bu Ani")


async def test_create_and_find_by_code_as_typed(db: AsyncEngine, ani: Counselor) -> None:
    when = datetime(2025, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    made = await create_session(
        db, ani.id, title="  Mengelola   emosi ", template="online", scheduled_at=when
    )
    assert made.title == "Mengelola emosi"
    assert made.status == "planned"
    assert made.scheduled_at == when
    assert made.scheduled_at is not None
    assert made.scheduled_at.tzinfo is not None
    assert not made.has_password
    for typed in (made.code, made.code.lower(), made.code.replace("-", ""), f" {made.code} "):
        found = await get_session_by_code(db, typed)
        assert found == made
    assert await get_session_by_code(db, "not a code") is None


async def test_code_collision_draws_another(db: AsyncEngine, ani: Counselor) -> None:
    first = await create_session(
        db, ani.id, title="A", template="online", new_code=lambda: "ACD-EFG"
    )
    draws = iter(["ACD-EFG", "ACD-EFG", "HJK-MNP"])
    second = await create_session(
        db, ani.id, title="B", template="online", new_code=lambda: next(draws)
    )
    assert (first.code, second.code) == ("ACD-EFG", "HJK-MNP")
    with pytest.raises(RuntimeError, match="no free session code"):
        await create_session(db, ani.id, title="C", template="online", new_code=lambda: "ACD-EFG")


async def test_password_is_hashed_and_checked(db: AsyncEngine, ani: Counselor) -> None:
    made = await create_session(db, ani.id, title="A", template="online", password="pelangi")
    assert made.password_hash is not None
    assert "pelangi" not in made.password_hash
    assert await check_session_password(made, "pelangi")
    assert not await check_session_password(made, "Pelangi")
    kept = await update_session(
        db, made.id, ani.id, title="A2", template="classic", scheduled_at=None
    )
    assert kept is not None
    assert kept.password_hash == made.password_hash
    removed = await update_session(
        db, made.id, ani.id, title="A2", template="classic", scheduled_at=None, password=None
    )
    assert removed is not None
    assert not removed.has_password
    assert await check_session_password(removed, "")


async def test_counselors_only_reach_their_own_sessions(db: AsyncEngine, ani: Counselor) -> None:
    budi = await create_counselor(db, "budi", "kata-sandi-budi")
    hers = await create_session(db, ani.id, title="Punya Ani", template="online")
    assert await get_counselor_session(db, hers.id, budi.id) is None
    assert await list_counselor_sessions(db, budi.id) == []
    changed = await update_session(
        db,
        hers.id,
        budi.id,
        title="Diambil",
        template="online",
        scheduled_at=None,
        password=Keep.KEEP,
    )
    assert changed is None
    assert not await delete_session(db, hers.id, budi.id)
    assert await get_counselor_session(db, hers.id, ani.id) == hers
    assert await delete_session(db, hers.id, ani.id)
    assert await get_counselor_session(db, hers.id, ani.id) is None


async def test_status_changes_stamp_times(db: AsyncEngine, ani: Counselor) -> None:
    made = await create_session(db, ani.id, title="A", template="online")
    opened = await set_session_status(db, made.id, "open")
    assert opened is not None
    assert opened.status == "open"
    assert opened.opened_at is not None
    ended = await set_session_status(db, made.id, "ended")
    assert ended is not None
    assert ended.ended_at is not None
    assert ended.opened_at == opened.opened_at
    reopened = await set_session_status(db, made.id, "open")
    assert reopened is not None
    assert reopened.ended_at is None
    assert reopened.opened_at == opened.opened_at
    assert await set_session_status(db, 999, "open") is None
    with pytest.raises(ValueError, match="status"):
        await set_session_status(db, made.id, "paused")


@pytest.mark.parametrize(
    ("fields", "field", "error_id"),
    [
        ({"title": ""}, "title", "title_empty"),
        ({"title": "   "}, "title", "title_empty"),
        ({"title": "x" * 121}, "title", "title_long"),
        ({"template": "nope"}, "template", "template_unknown"),
        ({"password": "abc"}, "password", "session_password_short"),
        ({"password": "x" * 1025}, "password", "session_password_long"),
        ({"scheduled_at": datetime(2025, 1, 1)}, "scheduled_at", "scheduled_invalid"),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    db: AsyncEngine, ani: Counselor, fields: dict[str, object], field: str, error_id: str
) -> None:
    values: dict[str, object] = {"title": "Baik", "template": "online", **fields}
    with pytest.raises(SessionInputError) as error:
        await create_session(db, ani.id, **values)  # type: ignore[arg-type]
    assert (error.value.field, error.value.error_id) == (field, error_id)
    assert await list_counselor_sessions(db, ani.id) == []


async def test_title_at_the_limit(db: AsyncEngine, ani: Counselor) -> None:
    made = await create_session(db, ani.id, title="x" * 120, template="classic")
    assert len(made.title) == 120


@pytest.mark.parametrize(
    "raw", ["tomorrow", "2025-13-01T10:00", "2025-02-30T10:00", "1999-12-31T10:00", "9" * 41]
)
def test_malformed_scheduled_times(raw: str) -> None:
    with pytest.raises(SessionInputError):
        parse_scheduled_at(raw)


def test_scheduled_time_parsing() -> None:
    assert parse_scheduled_at("  ") is None
    assert parse_scheduled_at("2025-03-04T09:30+07:00") == datetime(2025, 3, 4, 2, 30, tzinfo=UTC)
    local = parse_scheduled_at("2025-03-04T09:30")
    assert local is not None
    assert local.tzinfo is UTC
    assert local.astimezone().replace(tzinfo=None) == datetime(2025, 3, 4, 9, 30)
