"""The open sessions of this server process, by code; made when a leader enters."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from aiohttp import web
from aiortc import RTCIceServer
from sqlalchemy.ext.asyncio import AsyncEngine

from rtc import Room
from server.connection import keep_alive
from server.live_session import LiveSession, StageLabel
from server.sessions import GuidanceSession, set_session_status
from server.stages import TEMPLATES

log = logging.getLogger("lingkar.live")


async def live_sessions_context(app: web.Application) -> AsyncIterator[None]:
    """Open sessions live from start-up to cleanup; a stop closes them for their people."""
    from server.keys import DATABASE, LIVE_SESSIONS

    live = LiveSessions(app[DATABASE], ice_servers=[])
    app[LIVE_SESSIONS] = live
    yield
    await live.close()


class LiveSessions:
    def __init__(self, db: AsyncEngine, ice_servers: list[RTCIceServer]) -> None:
        self._db = db
        self._ice_servers = ice_servers
        self._by_code: dict[str, LiveSession] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, code: str) -> LiveSession | None:
        return self._by_code.get(code)

    def __len__(self) -> int:
        return len(self._by_code)

    def all(self) -> list[LiveSession]:
        return list(self._by_code.values())

    async def open(self, record: GuidanceSession) -> LiveSession:
        """The live session for ``record``, made (and the record marked open) on first entry."""
        live = self._by_code.get(record.code)
        if live is not None:
            return live
        template = TEMPLATES.get(record.template) or next(iter(TEMPLATES.values()))
        stages = [
            StageLabel(key=s.key, names={"id": s.name_id, "en": s.name_en}) for s in template.stages
        ]
        live = LiveSession(
            session_id=record.id,
            code=record.code,
            title=record.title,
            stages=stages,
            room=Room(self._ice_servers),
        )
        live.on_end = self._ended
        self._by_code[record.code] = live
        await set_session_status(self._db, record.id, "open")
        self._spawn(keep_alive(live))
        return live

    def _ended(self, live: LiveSession) -> None:
        if self._by_code.get(live.code) is live:
            del self._by_code[live.code]
        self._spawn(self._mark_ended(live.session_id))

    async def _mark_ended(self, session_id: int) -> None:
        await set_session_status(self._db, session_id, "ended")

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Server stop: every open session closes for its people; the stored session stays
        open, so the leader can enter again when the server is back."""
        for live in list(self._by_code.values()):
            live.on_end = None
            del self._by_code[live.code]
            try:
                await live.end()
            except Exception:
                log.exception("ending a session at shutdown failed")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
