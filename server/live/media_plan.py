"""What each person receives of the others' videos: priority, tile size, last-N and data budget.

Every second (and when a page reports a new view) this turns the session's state into the
forwarding core's inputs for each admitted person (rtc's ``Want`` per video and a receive cap),
and tells each person what their videos are now (``media``):

- **Priority** (rtc/allocation.py serves videos in this order): a shared screen, then the
  leader's camera, then members who spoke in the last :data:`RECENT_SPEAKER_S`, then the others.
- **Tiles** (``view``): a video whose tile is off screen, or in a hidden tab, is not sent; a
  visible one gets the smallest layer that covers its size in device pixels.
- **Last-N**: a page says how many camera videos it shows (``max_videos``: a phone shows fewer).
  The leader's camera and any screen always come; then the most recent speakers; the others are
  named tiles without video. A member shown stays at least :data:`MIN_SHOWN_S`, and only
  speech lasting :data:`SPEAKING_COUNTS_S` counts, so tiles do not jump at every cough.
- **Data budget**: under the saver, what a person receives is capped so that what they send
  and receive together stays within ``SAVER_MB_PER_HOUR``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from rtc import Room, TrackId, Want
from rtc.allocation import SCREEN_PRIORITY
from server.live import protocol as p
from server.live.participant import Participant
from server.platform.limits import SAVER_MB_PER_HOUR, SAVER_MIN_RECEIVE_BPS


class PlannedSession(Protocol):
    """What the plan reads of its live session (server/live/session.py) and how it tells a
    person: the people, who may be forwarded, the room, and sending."""

    participants: dict[str, Participant]
    room: Room

    def admitted(self) -> list[Participant]: ...

    def forwarded(self, track: TrackId) -> bool: ...

    def send(self, person: Participant, message: p.ServerMessage) -> None: ...


# A member who spoke this recently is ranked before the silent ones.
RECENT_SPEAKER_S = 20.0
# Speech shorter than this (a cough, "ya") does not move anyone into view.
SPEAKING_COUNTS_S = 1.0
# A member brought into view by last-N stays at least this long.
MIN_SHOWN_S = 8.0

PRIORITY_SCREEN = SCREEN_PRIORITY  # the forwarding core knows it too (rtc/allocation.py)
PRIORITY_LEADER = 1
PRIORITY_SPEAKER = 2
PRIORITY_OTHER = 3

SAVER_BPS = SAVER_MB_PER_HOUR * 1_000_000 * 8 / 3600


@dataclass
class _Shown:
    """Who is in view by last-N for one person, and since when."""

    since: dict[str, float]


class MediaPlan:
    """The per-session state of the plan (who is shown to whom), updated from the loop."""

    def __init__(self, session: PlannedSession) -> None:
        self._session = session
        self._shown: dict[str, _Shown] = {}
        self._sent: dict[str, p.Media] = {}

    def note_levels(self, speaking: set[str], now: float) -> None:
        """Who speaks now (heard, from the audio levels): the last-N order's input."""
        for person in self._session.admitted():
            if person.id in speaking:
                if person.speaking_since is None:
                    person.speaking_since = now
                if now - person.speaking_since >= SPEAKING_COUNTS_S:
                    person.last_spoke = now
            else:
                person.speaking_since = None

    def update(self, now: float | None = None) -> None:
        """Give the core every person's wants and cap; send each their ``media``."""
        now = time.monotonic() if now is None else now
        session = self._session
        for person in session.admitted():
            if person.peer is None:
                continue
            self.apply_to(person, now)
        present = {x.id for x in session.admitted()}
        for gone in [pid for pid in self._shown if pid not in present]:
            del self._shown[gone]
            self._sent.pop(gone, None)

    def apply_to(self, person: Participant, now: float) -> None:
        session = self._session
        room = session.room
        try:
            subscriptions = room.subscriptions(person.id)
        except KeyError:
            return
        videos = [t for t in subscriptions if t.kind != "audio"]
        shown = self._last_n(person, [t for t in videos if t.kind == "video"], now)
        wants = {track: self._want(person, track, shown, now) for track in videos}
        room.set_wants(person.id, wants)
        room.set_receive_cap(person.id, self._cap(person))
        self._tell(person, wants)

    def _want(self, person: Participant, track: TrackId, shown: set[str], now: float) -> Want:
        view = person.view
        publisher = self._session.participants.get(track.peer_id)
        if track.kind == "screen":
            priority = PRIORITY_SCREEN
        elif publisher is not None and publisher.leads:
            priority = PRIORITY_LEADER
        elif publisher is not None and now - publisher.last_spoke < RECENT_SPEAKER_S:
            priority = PRIORITY_SPEAKER
        else:
            priority = PRIORITY_OTHER
        if view is not None and view.hidden:
            return Want(priority=priority, visible=False)
        if track.kind == "video" and track.peer_id not in shown:
            return Want(priority=priority, visible=False)
        tile = _tile(view, track)
        if tile is None:
            return Want(priority=priority)
        if not tile.visible:
            return Want(priority=priority, visible=False)
        return Want(
            priority=priority,
            width=tile.width or None,
            height=tile.height or None,
        )

    def _last_n(self, person: Participant, cameras: list[TrackId], now: float) -> set[str]:
        """The publishers whose camera this person's page shows with video."""
        limit = person.view.max_videos if person.view is not None else None
        everyone = {t.peer_id for t in cameras}
        if limit is None or limit >= len(everyone):
            self._shown.pop(person.id, None)
            return everyone
        participants = self._session.participants
        must = {pid for pid in everyone if (x := participants.get(pid)) and x.leads}
        ranked = sorted(
            (pid for pid in everyone if pid not in must),
            key=lambda pid: _rank(participants.get(pid)),
        )
        state = self._shown.setdefault(person.id, _Shown({}))
        kept = {
            pid: since for pid, since in state.since.items() if pid in everyone and pid not in must
        }
        room_for = max(0, limit - len(must))
        desired = ranked[:room_for]
        # Newcomers to the top replace those shown longest, once they have had their time.
        for pid in desired:
            if pid in kept:
                continue
            if len(kept) < room_for:
                kept[pid] = now
                continue
            leaving = [x for x in kept if x not in desired and now - kept[x] >= MIN_SHOWN_S]
            if leaving:
                oldest = min(leaving, key=lambda x: kept[x])
                del kept[oldest]
                kept[pid] = now
        while len(kept) > room_for:
            del kept[min(kept, key=lambda x: kept[x])]
        state.since = kept
        return must | set(kept)

    def _cap(self, person: Participant) -> float | None:
        if person.receive != "saver":
            return None
        upload = self._session.room.upload_bps(person.id)
        return max(float(SAVER_MIN_RECEIVE_BPS), SAVER_BPS - upload)

    def _tell(self, person: Participant, wants: dict[TrackId, Want]) -> None:
        session = self._session
        report = session.room.downlink(person.id)
        videos = []
        for track, info in sorted(report.videos.items()):
            want = wants.get(track)
            state: str = info.state
            publisher = session.participants.get(track.peer_id)
            if publisher is None or not session.forwarded(track):
                state = "off"
            elif want is not None and not want.visible and state != "on":
                state = "hidden"
            videos.append(
                p.MediaVideo(
                    participant=track.peer_id,
                    kind="screen" if track.kind == "screen" else "video",
                    state=state,  # type: ignore[arg-type]
                    width=info.width,
                    height=info.height,
                )
            )
        cap = self._cap(person)
        message = p.Media(
            quality=report.quality,
            estimate_kbps=report.estimate_bps // 1000,
            budget_kbps=None if cap is None else int(cap // 1000),
            videos=videos,
        )
        previous = self._sent.get(person.id)
        if previous is not None and _same(previous, message):
            return
        self._sent[person.id] = message
        session.send(person, message)

    def link(self, person: Participant) -> p.LinkQuality:
        """The person's link for the leader's view."""
        if person.peer is None or not person.connected:
            return "unknown"
        try:
            return self._session.room.downlink(person.id).quality
        except KeyError:
            return "unknown"


def _tile(view: p.View | None, track: TrackId) -> p.Tile | None:
    if view is None:
        return None
    kind = "screen" if track.kind == "screen" else "video"
    return next((t for t in view.tiles if t.participant == track.peer_id and t.kind == kind), None)


def _rank(person: Participant | None) -> tuple[float, float]:
    if person is None:
        return (float("inf"), 0.0)
    return (-person.last_spoke, person.admitted_at or person.joined_at)


def _same(a: p.Media, b: p.Media) -> bool:
    # The estimate moves all the time; a change under 10 % is not news.
    close = abs(a.estimate_kbps - b.estimate_kbps) <= 0.1 * max(a.estimate_kbps, 1)
    return (
        close and a.quality == b.quality and a.budget_kbps == b.budget_kbps and a.videos == b.videos
    )
