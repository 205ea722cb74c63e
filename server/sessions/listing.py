"""The dashboard's list of a counselor's sessions: filtered by title and date, grouped by
status (open, upcoming, ended), the ended ones newest first and in pages."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime

from aiohttp import web

from server.sessions.store import GuidanceSession

ENDED_PER_PAGE = 10
QUERY_MAX = 100

# Status -> the dashboard's group, in the order shown.
GROUPS = (
    ("open", "dashboard.group.open"),
    ("planned", "dashboard.group.upcoming"),
    ("ended", "dashboard.group.ended"),
)


def session_date(session: GuidanceSession) -> datetime:
    """The date a session is known by: its schedule, else when it opened, else its creation."""
    return session.scheduled_at or session.opened_at or session.created_at


@dataclass(frozen=True)
class ListQuery:
    """What the counselor asked the list for (``?q=&on=&page=``), checked."""

    text: str = ""
    on: date | None = None
    page: int = 1
    # A message id (i18n) when a parameter was not understood; the list then ignores it.
    error: str | None = None

    @property
    def filtering(self) -> bool:
        return bool(self.text) or self.on is not None

    @classmethod
    def parse(cls, request: web.Request) -> ListQuery:
        text = " ".join(request.query.get("q", "").split())[:QUERY_MAX]
        raw_date = request.query.get("on", "").strip()
        raw_page = request.query.get("page", "").strip()
        error = None
        on = None
        if raw_date:
            try:
                on = date.fromisoformat(raw_date)
            except ValueError:
                error = "dashboard.filter.bad_date"
        page = 1
        if raw_page:
            if raw_page.isdigit() and 1 <= int(raw_page) <= 100_000:
                page = int(raw_page)
            else:
                error = error or "dashboard.filter.bad_page"
        return cls(text=text, on=on, page=page, error=error)

    def matches(self, session: GuidanceSession) -> bool:
        if self.text and self.text.casefold() not in session.title.casefold():
            return False
        return self.on is None or session_date(session).astimezone().date() == self.on


@dataclass(frozen=True)
class Group:
    status: str
    label: str
    sessions: list[GuidanceSession]
    # Ended sessions only: all that match (sessions holds one page of them), and the pages.
    total: int
    page: int = 1
    pages: int = 1


def group_sessions(sessions: list[GuidanceSession], query: ListQuery) -> list[Group]:
    """The counselor's sessions that match, by group; the ended ones one page at a time."""
    found = [s for s in sessions if query.matches(s)]
    groups = []
    for status, label in GROUPS:
        members = [s for s in found if s.status == status]
        if status != "ended":
            groups.append(Group(status, label, members, len(members)))
            continue
        members.sort(key=lambda s: (s.ended_at or session_date(s), s.id), reverse=True)
        pages = max(1, math.ceil(len(members) / ENDED_PER_PAGE))
        page = min(query.page, pages)
        start = (page - 1) * ENDED_PER_PAGE
        groups.append(
            Group(status, label, members[start : start + ENDED_PER_PAGE], len(members), page, pages)
        )
    return groups
