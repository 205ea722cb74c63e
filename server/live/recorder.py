"""The counseling record a live session leaves: attendance, stages held, participation,
the leader's notes and the members' evaluation (tables in server/db/schema.py).

Writes are queued and run one at a time per session, in order, off the message path: a slow
disk never delays forwarding or the control channel. Notes and evaluation answers are sealed
(server/platform/sealing.py) before they reach the database. Chat is never written.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.schema import attendance, evaluations, notes, participation, stage_log
from server.live.observation import Participation
from server.live.participant import Participant
from server.platform.sealing import seal

log = logging.getLogger("lingkar.record")

# Queued writes per session; past this the oldest work is still done, new work waits.
MAX_PENDING_WRITES = 1000


def _when(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


class Recorder:
    """Writes one session's record; ``close()`` waits for everything queued."""

    def __init__(self, db: AsyncEngine, notes_key: bytes, session_id: int) -> None:
        self._db = db
        self._key = notes_key
        self.session_id = session_id
        self._queue: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue(
            maxsize=MAX_PENDING_WRITES
        )
        self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                await job()
            except Exception:
                log.exception("writing the session record failed")
            finally:
                self._queue.task_done()

    def _submit(self, job: Callable[[], Awaitable[None]]) -> None:
        try:
            self._queue.put_nowait(job)
        except asyncio.QueueFull:
            log.error("session record queue full: a write was dropped")

    async def close(self) -> None:
        await self._queue.join()
        self._task.cancel()

    async def _upsert(
        self,
        conn: AsyncConnection,
        table: Table,
        participant_id: str,
        values: dict[str, Any],
        **keys: str,
    ) -> None:
        """One row per session and participant (and ``keys``): insert it, or update it."""
        key = (table.c.session_id == self.session_id) & (table.c.participant == participant_id)
        for column, value in keys.items():
            key = key & (table.c[column] == value)
        if (await conn.execute(select(table.c.id).where(key))).first() is None:
            await conn.execute(
                insert(table).values(
                    session_id=self.session_id, participant=participant_id, **keys, **values
                )
            )
        else:
            await conn.execute(update(table).where(key).values(**values))

    async def _close_stage(self, conn: AsyncConnection, when: datetime | None) -> None:
        await conn.execute(
            update(stage_log)
            .where((stage_log.c.session_id == self.session_id) & stage_log.c.ended_at.is_(None))
            .values(ended_at=when)
        )

    # ---- attendance and stages --------------------------------------------------------------

    def person(self, person: Participant, outcome: str) -> None:
        """Insert or update a participant's attendance row."""
        values: dict[str, Any] = {
            "name": person.name,
            "role": person.role.value,
            "joined_at": _when(person.arrived_at),
            "admitted_at": _when(person.admitted_at),
            "left_at": _when(person.left_at),
            "outcome": outcome,
        }

        async def job() -> None:
            async with self._db.begin() as conn:
                await self._upsert(conn, attendance, person.id, values)

        self._submit(job)

    def stage(self, position: int, key: str, at: float) -> None:
        """A stage begins; the one before it ends at the same moment."""
        when = _when(at)

        async def job() -> None:
            async with self._db.begin() as conn:
                await self._close_stage(conn, when)
                await conn.execute(
                    insert(stage_log).values(
                        session_id=self.session_id,
                        position=position,
                        stage_key=key,
                        started_at=when,
                    )
                )

        self._submit(job)

    def finish(self, at: float, figures: dict[str, Participation]) -> None:
        """The session ended: close the last stage and keep the participation figures."""
        when = _when(at)

        async def job() -> None:
            async with self._db.begin() as conn:
                await self._close_stage(conn, when)
                await conn.execute(
                    delete(participation).where(participation.c.session_id == self.session_id)
                )
                for participant_id, figure in figures.items():
                    await conn.execute(
                        insert(participation).values(
                            session_id=self.session_id,
                            participant=participant_id,
                            speaking_seconds=round(figure.speaking_seconds, 1),
                            turns=figure.turns,
                            hands=figure.hands,
                            chats=figure.chats,
                            present_seconds=round(figure.present_seconds, 1),
                        )
                    )

        self._submit(job)

    # ---- notes and evaluation ---------------------------------------------------------------

    def note(
        self, author: str, participant_id: str, text: str, ratings: dict[str, int | None]
    ) -> None:
        """``author``: "" for the counselors' notes, else the observer's participant key (part
        of what is sealed over, so a note cannot be moved to another author's row)."""
        kind = "note" if not author else f"note:{author}"
        sealed = seal(
            self._key, kind, self.session_id, participant_id, {"text": text, "ratings": ratings}
        )
        now = datetime.now(UTC)

        async def job() -> None:
            async with self._db.begin() as conn:
                await self._upsert(
                    conn,
                    notes,
                    participant_id,
                    {"sealed": sealed, "updated_at": now},
                    author=author,
                )

        self._submit(job)

    def evaluation(self, participant_id: str | None, rating: int, answers: dict[str, str]) -> None:
        """One member's answers; ``participant_id`` None when answered anonymously."""
        sealed = seal(self._key, "evaluation", self.session_id, participant_id, answers)
        now = datetime.now(UTC)

        async def job() -> None:
            async with self._db.begin() as conn:
                await conn.execute(
                    insert(evaluations).values(
                        session_id=self.session_id,
                        participant=participant_id,
                        rating=rating,
                        sealed=sealed,
                        created_at=now,
                    )
                )

        self._submit(job)
