"""The open sessions of this server process, by code; made when a leader enters."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import asdict
from typing import Any

from aiohttp import web
from aiortc import RTCIceServer
from sqlalchemy.ext.asyncio import AsyncEngine

from rtc import DownlinkReport, Room, ports
from server.accounts.auth import load_or_create_secret
from server.counseling.custom_templates import resolve_template
from server.counseling.stages import ONLINE
from server.db.database import DATABASE
from server.db.schema import ABANDONED
from server.live import protocol as p
from server.live.connection import keep_alive
from server.live.participant import Presence
from server.live.recorder import Recorder
from server.live.rejoin import RejoinTokens
from server.live.session import LiveSession
from server.live.snapshot import capture, restore
from server.live.snapshot_store import SnapshotStore
from server.live.turn import server_ice_servers
from server.platform.notes_key import load_or_create_notes_key
from server.platform.settings import SETTINGS
from server.sessions.store import (
    GuidanceSession,
    get_session_by_code,
    open_sessions,
    set_session_status,
)

log = logging.getLogger("lingkar.live")

# How often open sessions are checked for being abandoned (at most; less when the limit is short).
SWEEP_INTERVAL_S = 30.0


# The open sessions in memory (``LiveSessions``), from start-up to cleanup.
LIVE_SESSIONS: web.AppKey[LiveSessions] = web.AppKey("live_sessions")
# Signs and checks the tokens that bring members back after a restart (server/live/rejoin.py).
REJOIN_TOKENS = web.AppKey("rejoin_tokens", RejoinTokens)
# Where the open sessions' snapshots are kept: Redis in a cluster (set by the worker); by
# default a folder in the data directory.
SNAPSHOTS = web.AppKey("snapshots", SnapshotStore)
# Whether this process may end, as abandoned, a session stored as open that it does not host
# (by code). A single process: every such session. Session workers (server/workers/): only the
# first, and only sessions no other worker hosts.
SWEEPS_UNHOSTED: web.AppKey[Callable[[str], bool]] = web.AppKey("sweeps_unhosted")


def _everything(code: str) -> bool:
    return True


async def live_sessions_context(app: web.Application) -> AsyncIterator[None]:
    """Open sessions live from start-up to cleanup; a stop closes them for their people."""
    settings = app[SETTINGS]
    # Media sockets bind in media_ports (rtc/ports.py); refuse to start if that cannot hold.
    ports.install(asyncio.get_running_loop())
    await ports.self_test(*settings.media_ports)
    app[REJOIN_TOKENS] = RejoinTokens(load_or_create_secret(settings))
    notes_key = load_or_create_notes_key(settings)
    live = LiveSessions(
        app[DATABASE],
        ice_servers=server_ice_servers(settings),
        rejoin=app[REJOIN_TOKENS],
        notes_key=notes_key,
        abandoned_after_s=settings.abandoned_minutes * 60.0,
        snapshots=app.get(SNAPSHOTS)
        or SnapshotStore.in_folder(settings.data_dir / "live", notes_key),
        sweeps_unhosted=app.get(SWEEPS_UNHOSTED, _everything),
    )
    live.start_sweeping()
    app[LIVE_SESSIONS] = live
    yield
    await live.close()


class LiveSessions:
    def __init__(
        self,
        db: AsyncEngine,
        ice_servers: list[RTCIceServer],
        rejoin: RejoinTokens | None = None,
        notes_key: bytes | None = None,
        abandoned_after_s: float | None = None,
        snapshots: SnapshotStore | None = None,
        sweeps_unhosted: Callable[[str], bool] = _everything,
    ) -> None:
        self._db = db
        # Each open session's state, kept so that a new process can restore it.
        self._snapshots = snapshots
        self._sweeps_unhosted = sweeps_unhosted
        # An open session nobody is in for this long ends by itself (None: never).
        self._abandoned_after_s = abandoned_after_s
        # Since when (time.monotonic) a live session has had nobody in it, by code; and since
        # when a session stored as open has had no live session in this process, by id.
        self._empty_since: dict[str, float] = {}
        self._idle_since: dict[int, float] = {}
        # Sessions being ended because nobody was in them (their end is stored with the reason).
        self._abandoned: set[int] = set()
        self._notes_key = notes_key
        self._ice_servers = ice_servers
        self._rejoin = rejoin
        self._by_code: dict[str, LiveSession] = {}
        # Forwarding counters of the rooms already closed, so /metrics' totals never go down.
        self._closed_counters: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, code: str) -> LiveSession | None:
        return self._by_code.get(code)

    def all(self) -> list[LiveSession]:
        return list(self._by_code.values())

    async def open(self, stored: GuidanceSession) -> LiveSession:
        """The live session of ``stored``, made (and ``stored`` marked open) on first entry."""
        live = self._by_code.get(stored.code)
        if live is not None:
            return live
        template = await resolve_template(self._db, stored.template, stored.counselor_id)
        live = self._by_code.get(stored.code)
        if live is not None:
            return live  # opened by a request that came in while the template was read
        if template is None:
            # Deleted meanwhile (server/counseling/custom_templates.py refuses that while the
            # session is upcoming): the session still opens, on the online model. No names in the
            # log.
            log.warning("session %d: its template is gone; the online model is used", stored.id)
            template = ONLINE
        live = LiveSession(
            session_id=stored.id,
            code=stored.code,
            title=stored.title,
            stages=template.stages,
            room=Room(self._ice_servers),
        )
        restored = await self._restore(live)
        if self._notes_key is not None:
            live.recorder = Recorder(self._db, self._notes_key, stored.id)
            if not restored:  # a restored stage goes on in its own row of the stage log
                live.log_stage()
        live.on_end = self._ended
        rejoin = self._rejoin
        if rejoin is not None:
            live.mint_rejoin = lambda person: rejoin.mint(live, person)
        snapshots = self._snapshots
        if snapshots is not None:
            live.on_change = lambda x: snapshots.save_soon(
                x.session_id, lambda: capture(x, x.spent_rejoins)
            )
        self._by_code[stored.code] = live
        await set_session_status(self._db, stored.id, "open")
        live.changed()
        self._spawn(keep_alive(live))
        return live

    async def _restore(self, live: LiveSession) -> bool:
        """Put back the state of the session's last snapshot, if it has one (the process that
        hosted it died or stopped); whether it did."""
        data = None if self._snapshots is None else await self._snapshots.load(live.session_id)
        if data is None:
            return False
        try:
            spent = restore(live, data)
        except (ValueError, KeyError, TypeError):
            log.warning("session %d: its snapshot is unreadable; it starts afresh", live.session_id)
            live.participants.clear()
            live.participation.clear()
            return False
        live.spent_rejoins = spent
        if self._rejoin is not None:
            self._rejoin.remember(spent)
        log.info("session %d: restored from its snapshot", live.session_id)
        return True

    async def reopen(self, code: str) -> LiveSession | None:
        """The live session of ``code``, restored from its snapshot when this process does not
        hold it (a member's rejoin after the hosting process died); None when there is nothing
        to restore (no snapshot, or the session is not open)."""
        live = self._by_code.get(code)
        if live is not None or self._snapshots is None:
            return live
        stored = await get_session_by_code(self._db, code)
        if stored is None or stored.status != "open":
            return None
        if await self._snapshots.load(stored.id) is None:
            return None
        return await self.open(stored)

    def counter_totals(self) -> dict[str, int]:
        """Forwarding counters (rtc.CountersSnapshot's fields) summed over this process's life."""
        totals = Counter(self._closed_counters)
        for live in self._by_code.values():
            totals.update(_session_counters(live))
        return dict(totals)

    def downlinks(self) -> list[DownlinkReport]:
        """Every connected, admitted person's downlink now (for /metrics: no names)."""
        reports = []
        for live in self._by_code.values():
            for person in live.admitted():
                if person.peer is None:
                    continue
                try:
                    reports.append(live.room.downlink(person.id))
                except KeyError:
                    continue
        return reports

    def _ended(self, live: LiveSession) -> None:
        self._closed_counters.update(_session_counters(live))
        if self._by_code.get(live.code) is live:
            del self._by_code[live.code]
            self._empty_since.pop(live.code, None)
        if self._snapshots is not None:
            self._snapshots.delete_soon(live.session_id)
        self._spawn(self._mark_ended(live.session_id))

    async def _mark_ended(self, session_id: int) -> None:
        reason = ABANDONED if session_id in self._abandoned else None
        self._abandoned.discard(session_id)
        await set_session_status(self._db, session_id, "ended", reason=reason)

    def start_sweeping(self) -> None:
        """Check now and then for open sessions nobody is in (see ``sweep``)."""
        if self._abandoned_after_s is not None:
            self._spawn(self._sweep_forever(self._abandoned_after_s))

    async def _sweep_forever(self, limit_s: float) -> None:
        interval = min(SWEEP_INTERVAL_S, limit_s / 4)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:
                log.exception("checking for abandoned sessions failed")

    async def sweep(self, now: float | None = None) -> list[int]:
        """End the open sessions that have had nobody in them (no counselor, no admitted
        member) for the configured time: live ones here, and ones stored as open that have no
        live session here (a counselor who closed the tab before a restart). Returns their ids."""
        limit = self._abandoned_after_s
        if limit is None:
            return []
        now = time.monotonic() if now is None else now
        ended: list[int] = []
        for live in list(self._by_code.values()):
            if any(x.leads or x.in_room for x in live.present()):
                self._empty_since.pop(live.code, None)
                continue
            if now - self._empty_since.setdefault(live.code, now) >= limit and not live.ended:
                log.info("session %d: nobody in it for %.0f s; it ends", live.session_id, limit)
                self._abandoned.add(live.session_id)
                ended.append(live.session_id)
                await live.end()
        # Not another worker's: its live sessions are not live here.
        stored = {
            k: v for k, v in (await open_sessions(self._db)).items() if self._sweeps_unhosted(v)
        }
        live_ids = {x.session_id for x in self._by_code.values()}
        for session_id in list(self._idle_since):
            if session_id not in stored or session_id in live_ids:
                del self._idle_since[session_id]
        for session_id in stored:
            if session_id in live_ids or session_id in ended:
                continue
            if now - self._idle_since.setdefault(session_id, now) >= limit:
                del self._idle_since[session_id]
                log.info(
                    "session %d: open with nobody in it for %.0f s; it ends", session_id, limit
                )
                await set_session_status(self._db, session_id, "ended", reason=ABANDONED)
                if self._snapshots is not None:
                    self._snapshots.delete_soon(session_id)
                ended.append(session_id)
        return ended

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def release(self, code: str) -> None:
        """Another process holds this session now (a cluster node that was taken for dead and
        came back): everyone here is told to come back (``restarting``, with rejoin tokens; the
        way back leads to the other copy), and this copy ends without writing its snapshot, its
        record or its end: the other copy's are the session's."""
        live = self._by_code.pop(code, None)
        if live is None:
            return
        log.warning("session %d: held by another node now; the copy here ends", live.session_id)
        live.on_end = None
        live.on_change = None
        live.recorder = None
        if self._snapshots is not None:
            self._snapshots.cancel(live.session_id)
        self._empty_since.pop(code, None)
        self._announce_restart(live)
        try:
            await live.end()
        except Exception:
            log.exception("ending a released session failed")

    def _announce_restart(self, live: LiveSession) -> None:
        """Tell everyone the server is restarting (not that the session ended), with a token
        to come back as they were; then they count as gone, so ``end`` says nothing more."""
        for person in live.present():
            token = ""
            if self._rejoin is not None and not person.leads:
                # The leader comes back through /lead with their login cookie.
                token = self._rejoin.mint(live, person)
            live.send(person, p.Status(status="restarting", rejoin_token=token))
            person.presence = Presence.LEFT

    async def close(self) -> None:
        """Server stop: every open session closes for its people; the stored session stays
        open, so the leader can enter again when the server is back."""
        for live in list(self._by_code.values()):
            live.on_end = None
            live.on_change = None
            del self._by_code[live.code]
            if self._snapshots is not None:
                # As it is now, before everyone is told and counted as gone: the restarted
                # server puts it back (server/live/snapshot.py).
                await self._snapshots.save(live.session_id, capture(live, live.spent_rejoins))
            self._announce_restart(live)
            try:
                await live.end()
            except Exception:
                log.exception("ending a session at shutdown failed")
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._snapshots is not None:
            await self._snapshots.drain()


def _session_counters(live: LiveSession) -> dict[str, int]:
    """The forwarding core's counters of one session, and its connection refusals."""
    counters = asdict(live.room.counters)
    counters["offers_without_port"] = live.offers_without_port
    counters["peers_never_connected"] = live.peers_never_connected
    return counters
