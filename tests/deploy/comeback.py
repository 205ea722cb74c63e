"""Coming back after the process that hosted a session died, as the web client does, and the
state the tests left checked afterwards (tests/deploy/test_workers.py, test_cluster.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from tests.live.client import LiveClient

Reply = tuple[int, dict[str, Any]]


async def until_ok(
    call: Callable[[], Awaitable[Reply]], deadline: float, retry_on: frozenset[str]
) -> Reply:
    """Repeat a signalling call while the server recovers: a 503, or an error in ``retry_on``;
    anything else fails the test."""
    while True:
        status, reply = await call()
        if status == 200 or time.monotonic() > deadline:
            return status, reply
        assert status == 503 or reply.get("error") in retry_on, reply
        await asyncio.sleep(0.25)


async def enter_again(
    person: LiveClient,
    action: str,
    body: dict[str, Any],
    deadline: float,
    retry_on: frozenset[str],
) -> dict[str, Any]:
    """``lead`` or ``rejoin`` until the server answers, then connect; the entry answer."""
    status, entry = await until_ok(
        lambda: person.post(f"/api/sessions/{person.code}/{action}", body), deadline, retry_on
    )
    assert status == 200, entry
    person.entry = entry
    await person.connect()
    return entry


async def state_kept(leader: LiveClient, member: LiveClient, member_id: str, waiting: str) -> None:
    """The state the tests set before the death: the second stage, the member's hand up and
    muted by the counselor with the camera on, connected again; ``waiting`` alone in the lobby."""
    await leader.wait_message(
        "roster",
        lambda m: (
            m["stage"]["index"] == 1
            and member_id in m["hands"]
            and any(p["id"] == member_id and p["connected"] for p in m["participants"])
        ),
    )
    await leader.wait_message(
        "waiting", lambda m: [x["id"] for x in m["participants"]] == [waiting]
    )
    you = await member.wait_message("you", lambda m: True)
    assert (you["muted_by_leader"], you["muted"], you["hand"], you["camera"]) == (
        True,
        True,
        True,
        True,
    )
