"""The session's team on its edit page: co-counselors and the observers' password."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.db.database import DATABASE
from server.sessions.store import create_session, get_session
from server.sessions.team import is_co_leader, list_co_leaders
from tests.server.accounts.helpers import add_counselor, csrf_of, log_in, start_client


@pytest.fixture
async def owner(aiohttp_client: Any, tmp_path: Path) -> TestClient:
    client = await start_client(aiohttp_client, tmp_path)
    await add_counselor(client, "ani", "Bu Ani")
    await add_counselor(client, "ratna", "Bu Ratna")
    assert (await log_in(client, "ani")).status == 303
    await client.get("/?lang=en")  # the pages in English from here on (a cookie)
    return client


async def team_post(client: TestClient, session_id: int, path: str, **fields: str) -> Any:
    token = await csrf_of(client, f"/dashboard/sessions/{session_id}/edit")
    return await client.post(
        f"/dashboard/sessions/{session_id}/{path}",
        data={"csrf": token, **fields},
        allow_redirects=False,
    )


async def test_owner_adds_and_removes_a_co_counselor(
    owner: TestClient, aiohttp_client: Any
) -> None:
    db = owner.app[DATABASE]
    record = await create_session(db, 1, title="Bersama", template="online")
    response = await team_post(owner, record.id, "co-leaders", username="ratna")
    assert response.status == 303
    assert response.headers["Location"].endswith(f"/dashboard/sessions/{record.id}/edit#team")
    assert [c.username for c in await list_co_leaders(db, record.id)] == ["ratna"]
    page = await (await owner.get(f"/dashboard/sessions/{record.id}/edit")).text()
    assert "Bu Ratna" in page
    assert "Remove Bu Ratna from the team" in page

    # Ratna, logged in on her own, sees it under "Sessions you co-lead" and may enter the
    # room's page, but not edit or delete it.
    ratna = await aiohttp_client(owner.server)
    assert (await log_in(ratna, "ratna")).status == 303
    await ratna.get("/?lang=en")
    dashboard = await (await ratna.get("/dashboard")).text()
    assert "Sessions you co-lead" in dashboard
    assert "Bersama" in dashboard
    assert "counselor: Bu Ani" in dashboard
    assert (await ratna.get(f"/s/{record.code}/lead")).status == 200
    assert (await ratna.get(f"/dashboard/sessions/{record.id}/edit")).status == 404
    assert (await ratna.get(f"/dashboard/sessions/{record.id}/delete")).status == 404

    ratna_id = (await list_co_leaders(db, record.id))[0].id
    response = await team_post(owner, record.id, f"co-leaders/{ratna_id}/remove")
    assert response.status == 303
    assert not await is_co_leader(db, record.id, ratna_id)
    assert (await ratna.get(f"/s/{record.code}/lead")).status == 404


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Type a counselor&#39;s user name."),
        ("nobody", "No counselor of this server has this user name."),
        ("ani", "You already lead this session."),
    ],
)
async def test_bad_co_counselor_says_why_in_view(
    owner: TestClient, username: str, message: str
) -> None:
    record = await create_session(owner.app[DATABASE], 1, title="Bersama", template="online")
    response = await team_post(owner, record.id, "co-leaders", username=username)
    assert response.status == 400
    page = await response.text()
    assert message in page
    assert 'aria-invalid="true" aria-describedby="co-leader-error"' in page
    assert await list_co_leaders(owner.app[DATABASE], record.id) == []


async def test_a_co_counselor_is_added_once(owner: TestClient) -> None:
    record = await create_session(owner.app[DATABASE], 1, title="Bersama", template="online")
    assert (await team_post(owner, record.id, "co-leaders", username="ratna")).status == 303
    again = await team_post(owner, record.id, "co-leaders", username="ratna")
    assert again.status == 400
    assert "This counselor is already on the team." in await again.text()
    assert len(await list_co_leaders(owner.app[DATABASE], record.id)) == 1


async def test_another_counselor_cannot_change_the_team(
    owner: TestClient, aiohttp_client: Any
) -> None:
    record = await create_session(owner.app[DATABASE], 1, title="Bersama", template="online")
    ratna = await aiohttp_client(owner.server)
    assert (await log_in(ratna, "ratna")).status == 303
    token = await csrf_of(ratna, "/dashboard")
    response = await ratna.post(
        f"/dashboard/sessions/{record.id}/co-leaders",
        data={"csrf": token, "username": "ratna"},
        allow_redirects=False,
    )
    assert response.status == 404
    assert await list_co_leaders(owner.app[DATABASE], record.id) == []


async def test_observer_password_set_shown_and_removed(owner: TestClient) -> None:
    db = owner.app[DATABASE]
    record = await create_session(db, 1, title="Bersama", template="online")
    observe = await (await owner.get(f"/s/{record.code}/observe")).text()
    assert "Joining as an observer" in observe
    assert 'id="join-password"' not in observe
    short = await team_post(owner, record.id, "observer-password", password="ab")
    assert short.status == 400
    assert "An observer password needs at least 4 characters." in await short.text()
    assert (await team_post(owner, record.id, "observer-password", password="amati")).status == 303
    stored = await get_session(db, record.id)
    assert stored is not None
    assert stored.observer_password_hash is not None
    assert not stored.has_password  # the members' password is another one
    observe = await (await owner.get(f"/s/{record.code}/observe")).text()
    assert 'id="join-password"' in observe
    assert (await team_post(owner, record.id, "observer-password", remove="1")).status == 303
    stored = await get_session(db, record.id)
    assert stored is not None
    assert stored.observer_password_hash is None
