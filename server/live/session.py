"""One open session in memory: its people, its rules, and the media rules that follow from them.

The server is the authority. Every change of state ends in :meth:`LiveSession.apply`, which
recomputes from the state alone what each published track may reach and what each admitted
person receives, then tells the forwarding core (rtc) and every client. Nothing here trusts a
client's idea of its own permissions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rtc import AudioLevel, Room, TrackId
from server.counseling.stages import OPEN, Preset, Stage
from server.live import protocol as p
from server.live import views
from server.live.floor import Floor, next_turn
from server.live.media_plan import MediaPlan
from server.live.names import clean_display_name, ensure_unique
from server.live.observation import Participation
from server.live.participant import Participant, Presence, new_id
from server.live.permissions import OBSERVER_GRANT, Permission, Role
from server.live.recorder import Recorder
from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import (
    CHAT_HISTORY_MESSAGES,
    MAX_MEMBERS_PER_SESSION,
    MAX_OBSERVERS,
    MAX_WAITING,
)

log = logging.getLogger("lingkar.live")


@dataclass(frozen=True)
class ChatLine:
    sender: str
    name: str
    text: str
    to: Literal["all", "leader"]
    at: float


class LiveSession:
    """A session between its leader's entry and its end."""

    def __init__(
        self,
        *,
        session_id: int,
        code: str,
        title: str,
        stages: Sequence[Stage],
        room: Room,
    ) -> None:
        self.session_id = session_id
        self.code = code
        self.title = title
        self.stages = list(stages)
        self.stage_index = 0
        self.stage_started = time.monotonic()
        # The current stage's permission preset, applied on entering it (enter_stage).
        self.preset: Preset = self.stages[0].preset if self.stages else OPEN
        self.floor: Floor | None = None
        self.participation: dict[str, Participation] = {}
        self.room = room
        self.participants: dict[str, Participant] = {}
        self.locked = False
        self.queue_while_locked = False
        self.policy: p.Policy = self.preset.policy
        # Whether the observers see the observation figures (the leader decides).
        self.observers_see_figures = False
        self.chat: deque[ChatLine] = deque(maxlen=CHAT_HISTORY_MESSAGES)
        self.ended = False
        # Offers refused for want of a media port, and peers closed for never connecting
        # (server/live/connection.py); /metrics sums them.
        self.offers_without_port = 0
        self.peers_never_connected = 0
        self.on_end: Callable[[LiveSession], None] | None = None
        # Writes attendance, stages, participation, notes and evaluations
        # (server/live/recorder.py).
        self.recorder: Recorder | None = None
        self.evaluation_open = False
        # The answers so far, for a leader who reconnects (memory only; stored sealed too).
        self.evaluation_answers: list[p.EvaluationAnswerOut] = []
        self._tasks: set[asyncio.Task[None]] = set()
        # What each person receives of the others' videos (tiles, last-N, data budget).
        self.media = MediaPlan(self)
        room.on_track_published = self._on_track_published
        room.on_track_unpublished = self._on_track_unpublished

    # ---- people ------------------------------------------------------------------------------

    def participant(self, participant_id: str) -> Participant:
        found = self.participants.get(participant_id)
        if found is None or not found.present:
            raise LingkarError(ErrorId.NOT_FOUND, "no such participant in this session")
        return found

    def leaders(self) -> list[Participant]:
        """The counselors in the session (the owner and co-counselors), present."""
        return [x for x in self.participants.values() if x.leads and x.present]

    def present(self) -> list[Participant]:
        return [x for x in self.participants.values() if x.present]

    def admitted(self) -> list[Participant]:
        return [x for x in self.participants.values() if x.in_room]

    def waiting(self) -> list[Participant]:
        return sorted(
            (x for x in self.participants.values() if x.presence is Presence.WAITING),
            key=lambda x: x.joined_at,
        )

    def add_leader(self, name: str, counselor_id: int, role: Role = Role.LEADER) -> Participant:
        """A counselor enters (again): their own earlier entry, in another tab, is closed;
        another counselor's (the owner, a co-counselor) stays."""
        self._check_open()
        for previous in self.leaders():
            if previous.counselor_id == counselor_id:
                self._depart(
                    previous, Presence.LEFT, p.Status(status="removed", message="replaced")
                )
        leader = Participant(
            id=new_id(),
            name=clean_display_name(name),
            role=role,
            presence=Presence.ADMITTED,
            can_share=True,
            counselor_id=counselor_id,
        )
        leader.admitted_at = time.time()
        self.participants[leader.id] = leader
        self.record(leader, "admitted")
        return leader

    def add_member(self, raw_name: object, role: Role = Role.MEMBER) -> Participant:
        """A student (or an observer) enters the lobby."""
        self._check_open()
        name = clean_display_name(raw_name)
        ensure_unique(name, (x.name for x in self.present()))
        if role is Role.OBSERVER:
            if sum(1 for x in self.present() if x.is_observer) >= MAX_OBSERVERS:
                raise LingkarError(ErrorId.SESSION_FULL, "this session has enough observers")
        elif sum(1 for x in self.present() if x.is_member) >= MAX_MEMBERS_PER_SESSION + MAX_WAITING:
            raise LingkarError(ErrorId.SESSION_FULL, "this session has no room for more people")
        if self.locked and not self.queue_while_locked:
            raise LingkarError(ErrorId.SESSION_LOCKED, "the counselor has locked this session")
        member = Participant(id=new_id(), name=name, role=role, presence=Presence.WAITING)
        if role is Role.OBSERVER and self.observers_see_figures:
            member.granted = OBSERVER_GRANT
        self.participants[member.id] = member
        self.record(member, "waiting")
        self.send_waiting()
        return member

    def admitted_members(self) -> int:
        return sum(1 for x in self.admitted() if x.is_member)

    def _check_open(self) -> None:
        if self.ended:
            raise LingkarError(ErrorId.SESSION_NOT_OPEN, "this session has ended")

    # ---- leaving ------------------------------------------------------------------------------

    def _depart(self, person: Participant, presence: Presence, farewell: p.Status | None) -> None:
        """Take a person out of the session: stop their media at once, then close."""
        person.presence = presence
        person.left_at = time.time()
        self.record(person, presence.value)
        person.resume_token = ""
        person.token = ""
        person.hand_raised_at = None
        if farewell is not None:
            self.send(person, farewell)
        peer, person.peer = person.peer, None
        person.channel = None
        person.connected = False
        if peer is not None:
            # Pausing first stops forwarding synchronously; closing the connection may take a
            # moment and must not delay that (removal: media gone within REMOVE_DEADLINE_S).
            for track in list(self.room.tracks):
                if track.peer_id == person.id:
                    self.room.pause(track)
            self.spawn(self.room.remove_peer(person.id))

    def depart(self, person: Participant, presence: Presence, farewell: p.Status | None) -> None:
        self._depart(person, presence, farewell)
        self.apply()

    def depart_many(
        self, people: list[Participant], presence: Presence, farewell: p.Status | None
    ) -> None:
        """Several leave at once (deny all, expired lobby entries); one apply() after."""
        try:
            for person in people:
                self._depart(person, presence, farewell)
        finally:
            self.apply()

    # ---- the rules ------------------------------------------------------------------------------

    def may_unmute(self, person: Participant) -> bool:
        # Being muted by the leader is not a ban: under "members may unmute" a member may unmute
        # again, as in any meeting; under "ask to speak" only after the leader's request. While
        # someone has the floor, only they and the leader are heard.
        if not person.in_room or not person.can(Permission.PUBLISH):
            return False
        if person.can(Permission.PRESENT):
            return True
        if self.floor is not None:
            return self.floor.holder == person.id
        return self.policy == "members_may_unmute" or person.unmute_granted

    def heard(self, person: Participant) -> bool:
        return person.in_room and person.microphone and self.may_unmute(person)

    def may_show_video(self, person: Participant) -> bool:
        return person.can(Permission.PUBLISH) and (
            person.can(Permission.PRESENT) or self.preset.video
        )

    def seen(self, person: Participant) -> bool:
        return (
            person.in_room
            and person.camera
            and not person.camera_stopped_by_leader
            and self.may_show_video(person)
        )

    def may_share(self, person: Participant) -> bool:
        return person.can(Permission.PUBLISH) and (
            person.can(Permission.PRESENT) or self.preset.share or person.can_share
        )

    def sharing(self, person: Participant) -> bool:
        return person.in_room and person.screen and self.may_share(person)

    def may_chat_to_all(self, person: Participant) -> bool:
        """Observers write to the counselors only; members as the stage allows."""
        return person.can(Permission.PUBLISH) and (
            person.can(Permission.PRESENT) or self.preset.chat
        )

    # ---- stages and the floor -------------------------------------------------------------------

    def record(self, person: Participant, outcome: str) -> None:
        if self.recorder is not None:
            self.recorder.person(person, outcome)

    def record_stage(self) -> None:
        if self.recorder is not None and self.stages:
            self.recorder.stage(self.stage_index, self.stages[self.stage_index].key, time.time())

    def enter_stage(self, index: int) -> None:
        """Enter a stage and apply its preset afresh: what was allowed before is not carried."""
        self.stage_index = index
        self.stage_started = time.monotonic()
        self.record_stage()
        self.preset = self.stages[index].preset
        self.policy = self.preset.policy
        self.floor = None
        for member in self.present():
            if not member.is_member:
                continue
            member.can_share = False
            member.unmute_granted = False
            member.unmute_asked = False
            if self.policy == "ask_to_speak":
                member.microphone = False
            if not self.preset.video:
                member.camera = False
            if not self.may_share(member):
                member.screen = False
        self.apply()

    def give_floor(self, floor: Floor | None) -> None:
        """Hand the floor over (None: it returns to the stage's rules)."""
        self.floor = floor
        if floor is not None:
            holder = self.participants.get(floor.holder)
            if holder is not None:
                holder.hand_raised_at = None
        self.apply()

    def pass_floor(self) -> None:
        """The current turn is over: the next member in turn, or the stage's rules again."""
        if self.floor is None:
            return
        present = {x.id for x in self.admitted()}
        self.give_floor(next_turn(self.floor, present, time.monotonic()))

    def tick(self, dt: float, levels: dict[str, AudioLevel]) -> None:
        """Called every LEVELS_INTERVAL_S by the session's keep-alive loop."""
        now = time.monotonic()
        for person in self.admitted():
            if person.is_member:
                self.stats(person).tick(
                    dt,
                    person.connected,
                    self.heard(person),
                    levels.get(person.id),
                    person.peer,
                    now,
                )
        if self.floor is not None and (
            self.floor.expired(now) or self.floor.holder not in {x.id for x in self.admitted()}
        ):
            self.pass_floor()

    def roster_order(self) -> list[Participant]:
        return views.roster_order(self)

    def forwarded(self, track: TrackId) -> bool:
        person = self.participants.get(track.peer_id)
        if person is None:
            return False
        if track.kind == "audio":
            return self.heard(person)
        if track.kind == "video":
            return self.seen(person)
        return self.sharing(person)

    def apply(self) -> None:
        """Bring media and every client in line with the state. Idempotent."""
        if self.ended:
            return
        self._enforce()
        self._sync_subscriptions()
        self.broadcast_state()

    def _enforce(self) -> None:
        for track in self.room.tracks:
            if self.forwarded(track):
                if self.room.is_paused(track):
                    self.room.resume(track)
            elif not self.room.is_paused(track):
                self.room.pause(track)

    def _sync_subscriptions(self) -> None:
        in_room = {x.id for x in self.admitted() if x.peer is not None}
        for subscriber in self.present():
            if subscriber.peer is None:
                continue
            wanted = (
                {
                    t
                    for t in self.room.tracks
                    if t.peer_id in in_room
                    and t.peer_id != subscriber.id
                    and self._wants(subscriber, t)
                }
                if subscriber.in_room
                else set()
            )
            current = set(self.room.subscriptions(subscriber.id))
            for track in current - wanted:
                self.room.unsubscribe(subscriber.id, track)
            for track in sorted(wanted - current):
                self.room.subscribe(subscriber.id, track)

    def _wants(self, subscriber: Participant, track: TrackId) -> bool:
        """The data saver's modes that choose tracks: audio only, or the leader (and any shared
        screen) only. The saver's budget is the forwarding core's (server/live/media_plan.py)."""
        if subscriber.receive == "audio_only":
            return track.kind == "audio"
        if subscriber.receive == "leader_only":
            publisher = self.participants.get(track.peer_id)
            return track.kind == "screen" or (publisher is not None and publisher.leads)
        return True

    def _on_track_published(self, track: TrackId) -> None:
        # A new track must not reach anyone before the rules say it may: pause first.
        if not self.forwarded(track):
            self.room.pause(track)
        self.apply()

    def _on_track_unpublished(self, track: TrackId) -> None:
        self.apply()

    # ---- messages out -------------------------------------------------------------------------

    def send(self, person: Participant, message: p.ServerMessage) -> None:
        channel = person.channel
        if channel is None or channel.readyState != "open":
            return
        try:
            channel.send(p.encode(message))
        except Exception:  # a closing transport must not break the sender's caller
            log.debug("send to %s failed", person.id, exc_info=True)

    def send_to_leaders(self, message: p.ServerMessage) -> None:
        for leader in self.leaders():
            self.send(leader, message)

    def activity(self, by: Participant, action: str, target: Participant | None = None) -> None:
        """Tell everyone who leads what one of them did (admitted whom, changed the stage)."""
        self.send_to_leaders(
            p.Activity(
                by=by.id,
                by_name=by.name,
                action=action,
                target="" if target is None else target.id,
                target_name="" if target is None else target.name,
            )
        )

    def broadcast_state(self) -> None:
        roster = views.roster(self)
        for person in self.admitted():
            self.send(person, roster)
            self.send(person, views.you(self, person))
        self.send_waiting()

    def send_waiting(self) -> None:
        leaders = self.leaders()
        if leaders:
            lobby = views.waiting(self)
            for leader in leaders:
                self.send(leader, lobby)

    def set_observers_see_figures(self, allowed: bool) -> None:
        self.observers_see_figures = allowed
        for person in self.participants.values():
            if person.is_observer:
                person.granted = OBSERVER_GRANT if allowed else frozenset()
        self.apply()

    def observation(self) -> p.Observation:
        members = [x for x in self.participants.values() if x.is_member]
        return views.observation(self, members)

    def send_observation(self) -> None:
        """The figures, to everyone in the room allowed to see them."""
        figures = self.observation()
        for person in self.admitted():
            if person.can(Permission.OBSERVE_FIGURES):
                self.send(person, figures)

    def link(self, person: Participant) -> p.LinkQuality:
        return self.media.link(person)

    def greet(self, person: Participant) -> None:
        """Everything a freshly opened control channel needs, and nothing more than its due."""
        self.send(
            person,
            p.Welcome(
                protocol=p.PROTOCOL_VERSION,
                id=person.id,
                name=person.name,
                role=person.role.value,
                title=self.title,
                permissions=views.permission_names(person),
            ),
        )
        self.send(person, views.status(self, person))
        if person.in_room:
            self.send(person, views.roster(self))
            self.send(person, views.you(self, person))
            for line in self.chat:
                if line.to == "all" or person.leads or line.sender == person.id:
                    self.send(person, _chat_out(line))
            if self.evaluation_open and person.can(Permission.ANSWER_EVALUATION):
                self.send(person, p.EvaluationState(open=True, answered=person.evaluated))
        if person.can(Permission.EVALUATION):
            self.send_waiting()
            self.send(person, p.EvaluationState(open=self.evaluation_open, answered=False))
            for answer in self.evaluation_answers:
                self.send(person, answer)

    def greet_admitted(self, person: Participant) -> None:
        """What an admitted person may now see: the chat so far (the roster follows in apply)."""
        for line in self.chat:
            if line.to == "all" or line.sender == person.id:
                self.send(person, _chat_out(line))

    def stats(self, person: Participant) -> Participation:
        return self.participation.setdefault(person.id, Participation())

    # ---- chat ---------------------------------------------------------------------------------

    def post_chat(self, sender: Participant, text: str, to: Literal["all", "leader"]) -> None:
        line = ChatLine(sender=sender.id, name=sender.name, text=text, to=to, at=time.time())
        self.stats(sender).chats += 1
        self.chat.append(line)
        out = _chat_out(line)
        for person in self.admitted():
            if to == "all" or person.leads or person.id == sender.id:
                self.send(person, out)

    # ---- tasks and the end --------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` as this session's task: held until done, cancelled when it ends."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("session task failed", exc_info=task.exception())

    async def end(self) -> None:
        """End for everyone: each is told, then every connection is closed."""
        if self.ended:
            return
        for person in self.present():
            self.send(person, p.Status(status="ended"))
            person.presence = Presence.LEFT
            person.left_at = time.time()
            if person.admitted_at is not None:
                self.record(person, "admitted")
            else:
                self.record(person, "waiting")
        self.ended = True
        if self.recorder is not None:
            self.recorder.finish(
                time.time(),
                {
                    x.id: self.stats(x)
                    for x in self.participants.values()
                    if x.is_member and x.admitted_at is not None
                },
            )
        self.chat.clear()
        # Let the "ended" messages leave before the transports close.
        await asyncio.sleep(0.2)
        await self.room.close()
        if self.recorder is not None:
            await self.recorder.close()
        # The end may come from one of this session's own tasks (the leader's inbox running
        # "end"): that one finishes by itself, the others are cancelled and awaited.
        others = [task for task in self._tasks if task is not asyncio.current_task()]
        for task in others:
            task.cancel()
        if others:
            await asyncio.gather(*others, return_exceptions=True)
        if self.on_end is not None:
            self.on_end(self)


def _chat_out(line: ChatLine) -> p.ChatOut:
    return p.ChatOut(sender=line.sender, name=line.name, text=line.text, to=line.to, at=line.at)
