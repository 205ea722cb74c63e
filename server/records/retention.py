"""Retention: ended sessions' personal data are deleted ``retention_days`` after the end.

What goes (docs/privacy.md): attendance (names and times), participation figures, the
leader's notes and ratings, the members' evaluations, the plan's expected-member names, and
the per-student follow-up of the report (individual counseling, referral). What stays until
the counselor deletes the session: the session itself, the plan without names, the stages held
and the group-level conclusions and next-session plan, the counselor's record of the service.

It runs in the server (at start, then hourly) and as ``lingkar retention run``. A session's
data expire when more than ``retention_days`` have passed since it ended: exactly at the limit
they are still there. Planned sessions are not touched; a session left open (the server stopped
and its leader never came back) counts as abandoned a day after it opened.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

from aiohttp import web
from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.db.database import DATABASE, open_database
from server.db.schema import attendance, evaluations, notes, participation, plans, reports, sessions
from server.platform.config_file import load_settings
from server.platform.notes_key import load_or_create_notes_key
from server.platform.sealing import SealError, seal, unseal
from server.platform.settings import SETTINGS, Settings, SettingsError
from server.records.report import PERSONAL_CONCLUSION_FIELDS

log = logging.getLogger("lingkar.retention")

# A session still "open" this long after it opened was abandoned (the server stopped and its
# leader never came back): no group-guidance meeting lasts a day. Its data then age from the
# moment it opened.
ABANDONED_AFTER: Final = timedelta(days=1)
# How often the server looks for expired data; an hour late at most is within any promise.
RETENTION_INTERVAL_S: Final = 3600.0
PERSONAL_TABLES: Final = (attendance, participation, notes, evaluations)

Clock = Callable[[], datetime]
# Tests replace the clock and the interval before the application starts.
RETENTION_CLOCK: Final = web.AppKey[Clock]("retention_clock")
RETENTION_INTERVAL: Final = web.AppKey("retention_interval", float)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetentionResult:
    sessions: int  # sessions whose personal data were deleted in this run
    rows: int  # rows deleted or emptied


async def _strip_report(conn: AsyncConnection, key: bytes, session_id: int) -> int:
    row = (
        await conn.execute(select(reports.c.sealed).where(reports.c.session_id == session_id))
    ).first()
    if row is None:
        return 0
    try:
        value = unseal(key, "report", session_id, None, row[0])
    except SealError:
        # Unreadable with this key, and it may name students: it cannot be kept past the limit.
        log.warning("session %d: its report does not open with the notes key; deleted", session_id)
        await conn.execute(delete(reports).where(reports.c.session_id == session_id))
        return 1
    if not isinstance(value, dict) or not any(value.get(f) for f in PERSONAL_CONCLUSION_FIELDS):
        return 0
    kept = {name: text for name, text in value.items() if name not in PERSONAL_CONCLUSION_FIELDS}
    kept.update(dict.fromkeys(PERSONAL_CONCLUSION_FIELDS, ""))
    await conn.execute(
        update(reports)
        .where(reports.c.session_id == session_id)
        .values(sealed=seal(key, "report", session_id, None, kept))
    )
    return 1


async def purge_expired(
    db: AsyncEngine, key: bytes, retention_days: int, now: datetime | None = None
) -> RetentionResult:
    """Delete the personal data of every session that ended more than ``retention_days`` ago."""
    cutoff = (now or utc_now()) - timedelta(days=retention_days)
    async with db.connect() as conn:
        expired = [
            row[0]
            for row in await conn.execute(
                select(sessions.c.id).where(
                    or_(
                        and_(
                            sessions.c.status == "ended",
                            sessions.c.ended_at.is_not(None),
                            sessions.c.ended_at < cutoff,
                        ),
                        and_(
                            sessions.c.status == "open",
                            sessions.c.opened_at.is_not(None),
                            sessions.c.opened_at < cutoff - ABANDONED_AFTER,
                        ),
                    ),
                    or_(
                        *(exists().where(t.c.session_id == sessions.c.id) for t in PERSONAL_TABLES),
                        exists().where(
                            plans.c.session_id == sessions.c.id, plans.c.expected_members != ""
                        ),
                        exists().where(reports.c.session_id == sessions.c.id),
                    ),
                )
            )
        ]
    touched = rows = 0
    for session_id in expired:
        changed = 0
        async with db.begin() as conn:
            for table in PERSONAL_TABLES:
                result = await conn.execute(delete(table).where(table.c.session_id == session_id))
                changed += max(result.rowcount, 0)
            result = await conn.execute(
                update(plans)
                .where(plans.c.session_id == session_id, plans.c.expected_members != "")
                .values(expected_members="")
            )
            changed += max(result.rowcount, 0)
            changed += await _strip_report(conn, key, session_id)
        if changed:
            touched += 1
            rows += changed
    if touched:
        log.info("retention: personal data of %d ended session(s) deleted", touched)
    return RetentionResult(touched, rows)


# False in all session workers but the first (server/workers/): one purge is enough.
RUNS_RETENTION = web.AppKey("runs_retention", bool)


async def retention_context(app: web.Application) -> AsyncIterator[None]:
    """The app's cleanup context (after the database's): purge at start, then every interval."""
    settings = app[SETTINGS]
    if not app.get(RUNS_RETENTION, True):  # another session worker does it
        yield
        return
    key = load_or_create_notes_key(settings)
    clock = app.get(RETENTION_CLOCK, utc_now)
    interval = app.get(RETENTION_INTERVAL, RETENTION_INTERVAL_S)

    async def loop() -> None:
        while True:
            try:
                await purge_expired(app[DATABASE], key, settings.retention_days, clock())
            except (SQLAlchemyError, OSError):
                log.exception("retention: deleting expired personal data failed; will retry")
            await asyncio.sleep(interval)

    task = asyncio.create_task(loop(), name="lingkar-retention")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# ---- lingkar retention run ------------------------------------------------------------------


def add_retention_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retention = commands.add_parser(
        "retention", help="delete ended sessions' personal data after retention_days"
    )
    actions = retention.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help="delete expired personal data now (the server does it hourly)"
    )
    run.add_argument("--config", type=Path, help="TOML settings file (default: $LINGKAR_CONFIG)")
    run.add_argument("--data-dir", type=Path, help="where the database and notes.key live")
    run.add_argument("--database-url", help="SQLAlchemy URL (default: the SQLite file)")


async def _run(settings: Settings) -> RetentionResult:
    key = load_or_create_notes_key(settings)
    db = await open_database(settings)
    try:
        return await purge_expired(db, key, settings.retention_days)
    finally:
        await db.dispose()


def run_retention_command(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(
            config=args.config, data_dir=args.data_dir, database_url=args.database_url
        )
        result = asyncio.run(_run(settings))
    except SettingsError as exc:
        print(f"lingkar: configuration error: {exc}", file=sys.stderr)
        return 2
    except (OSError, SQLAlchemyError) as exc:
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        print(f"lingkar: cannot use the database: {first_line}", file=sys.stderr)
        return 2
    print(
        f"Retention ({settings.retention_days} days): personal data of {result.sessions} "
        f"ended session(s) deleted ({result.rows} rows)."
    )
    return 0
