"""Where live sessions' snapshots (server/live/snapshot.py) are kept: sealed, one per open
session, in the data directory's ``live/`` folder (one machine) or in Redis (a cluster, where
another node must be able to restore a session whose node died).

A snapshot is written after every change of state (coalesced: at most one write per turn of the
event loop per session), read when a session is opened again in a new process, and deleted when
the session ends. It holds names and the evaluation's answers, so it is sealed with the notes key
(AES-256-GCM, bound to its session). On disk the folder is private to the server's user (0700)
and a write goes to a temporary file renamed over the old one: a process killed mid-write leaves
the previous snapshot whole. In Redis each is one key, written whole (``SET``), expiring a day
after its last write, in case its session's end was never seen.

A store that cannot write (the disk, Redis down) logs it and the session goes on: a snapshot is
a way back after a failure, never a condition of the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

from server.platform.sealing import SealError, seal, unseal

log = logging.getLogger("lingkar.live")

_KIND = "live_snapshot"
# A Redis snapshot outlives its last write by this long (a session normally ends, and its
# snapshot is deleted, well before; abandoned sessions end after at most a day).
REDIS_TTL_S = 24 * 3600
REDIS_PREFIX = "lingkar:snapshot:"


class Backend(Protocol):
    async def write(self, session_id: int, blob: bytes) -> None: ...
    async def read(self, session_id: int) -> bytes | None: ...
    async def remove(self, session_id: int) -> None: ...


class FileBackend:
    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self._folder.chmod(0o700)

    def _path(self, session_id: int) -> Path:
        return self._folder / f"{session_id}.snap"

    async def write(self, session_id: int, blob: bytes) -> None:
        # A few kilobytes on the local disk: written in place, not in a thread.
        path = self._path(session_id)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(temporary, path)

    async def read(self, session_id: int) -> bytes | None:
        try:
            return self._path(session_id).read_bytes()
        except FileNotFoundError:
            return None

    async def remove(self, session_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(session_id).unlink()


class RedisBackend:
    def __init__(self, client: Any) -> None:  # a redis.asyncio.Redis
        self._client = client

    async def write(self, session_id: int, blob: bytes) -> None:
        await self._client.set(f"{REDIS_PREFIX}{session_id}", blob, ex=REDIS_TTL_S)

    async def read(self, session_id: int) -> bytes | None:
        found = await self._client.get(f"{REDIS_PREFIX}{session_id}")
        return None if found is None else bytes(found)

    async def remove(self, session_id: int) -> None:
        await self._client.delete(f"{REDIS_PREFIX}{session_id}")


class SnapshotStore:
    def __init__(self, backend: Backend, key: bytes) -> None:
        self._backend = backend
        self._key = key
        # Sessions whose snapshot is due, with the function that captures it.
        self._due: dict[int, Callable[[], dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # One write at a time per session, in order (a Redis write may take a moment).
        self._locks: dict[int, asyncio.Lock] = {}
        self._failing = False

    @classmethod
    def in_folder(cls, folder: Path, key: bytes) -> SnapshotStore:
        return cls(FileBackend(folder), key)

    def save_soon(self, session_id: int, capture: Callable[[], dict[str, Any]]) -> None:
        """Write the session's snapshot at the end of this turn of the event loop (several
        changes in one turn make one write)."""
        if session_id not in self._due:
            asyncio.get_running_loop().call_soon(self._flush, session_id)
        self._due[session_id] = capture

    def _flush(self, session_id: int) -> None:
        capture = self._due.pop(session_id, None)
        if capture is None:
            return
        try:
            data = capture()
        except Exception:
            log.exception("session %d: its snapshot could not be made", session_id)
            return
        self._spawn(self.save(session_id, data))

    async def save(self, session_id: int, data: dict[str, Any]) -> None:
        """Write now (a write due later for this session is dropped: this one is newer)."""
        self._due.pop(session_id, None)
        blob = seal(self._key, _KIND, session_id, None, data)
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            try:
                await self._backend.write(session_id, blob)
            except Exception as exc:
                self._failed(session_id, exc)
            else:
                if self._failing:
                    log.warning("snapshots are written again")
                self._failing = False

    def _failed(self, session_id: int, exc: Exception) -> None:
        if not self._failing:  # once per outage, not once per change
            log.warning(
                "session %d: its snapshot could not be written (%s: %s); the session goes on",
                session_id,
                type(exc).__name__,
                exc,
            )
        self._failing = True

    async def load(self, session_id: int) -> dict[str, Any] | None:
        """The session's last snapshot; None when there is none, it cannot be read now, or it
        does not open (another key, a damaged file): the session then opens afresh."""
        try:
            blob = await self._backend.read(session_id)
        except Exception as exc:
            log.warning("session %d: its snapshot could not be read (%s)", session_id, exc)
            return None
        if blob is None:
            return None
        try:
            data = unseal(self._key, _KIND, session_id, None, blob)
        except (SealError, ValueError):
            log.warning("session %d: its snapshot does not open; it starts afresh", session_id)
            return None
        return data if isinstance(data, dict) else None

    def cancel(self, session_id: int) -> None:
        """Drop a write not yet started (this copy of the session must not write any more)."""
        self._due.pop(session_id, None)

    def delete_soon(self, session_id: int) -> None:
        self._due.pop(session_id, None)
        self._spawn(self._delete(session_id))

    async def _delete(self, session_id: int) -> None:
        lock = self._locks.setdefault(session_id, asyncio.Lock())
        async with lock:
            try:
                await self._backend.remove(session_id)
            except Exception as exc:
                log.warning("session %d: its snapshot could not be deleted (%s)", session_id, exc)
        self._locks.pop(session_id, None)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait for the writes and deletions under way (at shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
