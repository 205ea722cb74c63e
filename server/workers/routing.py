"""Which worker a request goes to: the session directory, and the rules that fill it.

A live session lives in exactly one worker. The supervisor keeps the directory (session code
to worker index) and sends every request that names a session code (``/api/sessions/{code}/...``,
``/s/{code}...``) to the worker that hosts it. A session gets its worker when it opens: the
leader's ``lead`` (or a member's ``rejoin``, which may restore it from its snapshot) goes to the
worker with the fewest sessions, and the directory keeps that choice while the worker hosts it.
The workers say what they host every few seconds; an entry whose worker, alive, no longer hosts
it is dropped after a while. A worker that died keeps its entries: its sessions come back on it
when it is restarted.

Requests without a session code (pages, the dashboard, login, static files), and those naming a
code no worker hosts, can be served by any worker: they go by the client's address, so that one
client's failed logins and unknown codes are counted by one worker's rate limiters. (A client
that changes its address meets another worker's limiters: with N workers, an attacker with many
addresses gets up to N times the per-account login attempts.)
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field

from server.sessions.codes import normalize_code

# The session-scoped paths: the API's and the pages'.
_SESSION_PATH = re.compile(r"^/(?:api/sessions|s)/([^/]+)")
# The calls that may open (or restore) a live session: they place it.
_PLACING = re.compile(r"^/api/sessions/[^/]+/(?:lead|rejoin)$")
# An entry whose worker is up but does not host the session is dropped after this long (the
# leader's page takes a few seconds from ``lead`` to its first offer; the worker's report comes
# every REPORT_INTERVAL_S).
UNHOSTED_GRACE_S = 60.0


def session_code(path: str) -> str | None:
    """The session code a request's path names (canonical form), if any."""
    match = _SESSION_PATH.match(path)
    return None if match is None else normalize_code(match.group(1))


def places_session(method: str, path: str) -> bool:
    return method == "POST" and _PLACING.match(path) is not None


def spread(key: str, count: int) -> int:
    """A stable worker index for ``key`` (the same in every process, unlike ``hash``)."""
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % count


@dataclass
class _Entry:
    worker: int
    since: float
    hosted_at: float | None = None  # when its worker last said it hosts it


@dataclass
class Directory:
    """Session code -> worker index, for ``count`` workers."""

    count: int
    _entries: dict[str, _Entry] = field(default_factory=dict)

    def worker_of(self, code: str) -> int | None:
        entry = self._entries.get(code)
        return None if entry is None else entry.worker

    def place(self, code: str, now: float | None = None) -> tuple[int, bool]:
        """The worker of ``code``, placing it on the least loaded one when it has none; and
        whether this call placed it (the caller undoes a placement whose request failed)."""
        entry = self._entries.get(code)
        if entry is not None:
            return entry.worker, False
        loads = [0] * self.count
        for other in self._entries.values():
            loads[other.worker] += 1
        # Ties go by the code's own spread, so that equal workers share new sessions evenly.
        first = spread(code, self.count)
        order = [(first + i) % self.count for i in range(self.count)]
        chosen = min(order, key=lambda i: loads[i])
        self._entries[code] = _Entry(chosen, time.monotonic() if now is None else now)
        return chosen, True

    def unplace(self, code: str, worker: int) -> None:
        """Undo a placement whose request failed, unless the worker hosts it meanwhile."""
        entry = self._entries.get(code)
        if entry is not None and entry.worker == worker and entry.hosted_at is None:
            del self._entries[code]

    def report(self, worker: int, hosted: set[str], now: float | None = None) -> None:
        """Worker ``worker`` (alive) hosts exactly ``hosted`` now."""
        now = time.monotonic() if now is None else now
        for code in hosted:
            entry = self._entries.get(code)
            if entry is None or entry.worker != worker:
                entry = self._entries[code] = _Entry(worker, now)
            entry.hosted_at = now
        for code, entry in list(self._entries.items()):
            if entry.worker != worker or code in hosted:
                continue
            if now - (entry.hosted_at or entry.since) > UNHOSTED_GRACE_S:
                del self._entries[code]

    def forget(self, code: str) -> None:
        self._entries.pop(code, None)

    def codes(self) -> set[str]:
        return set(self._entries)

    def load(self, worker: int) -> int:
        return sum(1 for x in self._entries.values() if x.worker == worker)
