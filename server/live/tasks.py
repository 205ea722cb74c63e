"""The tasks one live session runs (closing a peer, an inbox's queue, a renegotiation): held
until done so that none is destroyed while pending, and cancelled together when it ends."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("lingkar.live")


class SessionTasks:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("session task failed", exc_info=task.exception())

    async def cancel_all(self) -> None:
        """Cancel and await every task but the one running this (the end may come from one of
        the session's own tasks, e.g. a counselor's inbox running "end": it finishes itself)."""
        others = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        if others:
            await asyncio.gather(*others, return_exceptions=True)
