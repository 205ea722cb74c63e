"""Where live sessions' snapshots (server/live/snapshot.py) are kept: one sealed file per open
session in the data directory's ``live/`` folder.

A snapshot is written after every change of state (coalesced: at most one write per turn of the
event loop per session), read when a session is opened again in a new process, and deleted when
the session ends. It holds names and the evaluation's answers, so it is sealed with the notes key
(AES-256-GCM, bound to its session) and the folder is private to the server's user (0700). A
write goes to a temporary file renamed over the old one: a process killed mid-write leaves the
previous snapshot whole.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.platform.sealing import SealError, seal, unseal

log = logging.getLogger("lingkar.live")

_KIND = "live_snapshot"


class SnapshotStore:
    def __init__(self, folder: Path, key: bytes) -> None:
        self._folder = folder
        self._key = key
        # Sessions whose snapshot is due, with the function that captures it.
        self._due: dict[int, Callable[[], dict[str, Any]]] = {}
        self._folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(OSError):
            self._folder.chmod(0o700)

    def _path(self, session_id: int) -> Path:
        return self._folder / f"{session_id}.snap"

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
            self.save(session_id, capture())
        except Exception:
            log.exception("session %d: its snapshot could not be written", session_id)

    def save(self, session_id: int, data: dict[str, Any]) -> None:
        """Write now (a write due later for this session is dropped: this one is newer)."""
        self._due.pop(session_id, None)
        blob = seal(self._key, _KIND, session_id, None, data)
        path = self._path(session_id)
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(blob)
        os.replace(temporary, path)

    def load(self, session_id: int) -> dict[str, Any] | None:
        """The session's last snapshot; None when there is none or it does not open (another
        key, a damaged file: the session then opens afresh, as before snapshots)."""
        try:
            blob = self._path(session_id).read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = unseal(self._key, _KIND, session_id, None, blob)
        except (SealError, ValueError):
            log.warning("session %d: its snapshot does not open; it starts afresh", session_id)
            return None
        return data if isinstance(data, dict) else None

    def delete(self, session_id: int) -> None:
        self._due.pop(session_id, None)
        with contextlib.suppress(FileNotFoundError):
            self._path(session_id).unlink()
