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
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any

from rtc import AudioLevel, Room, TrackId
from server.counseling.stages import OPEN, Preset, Stage
from server.live import forwarding, views
from server.live import protocol as p
from server.live.chat import Chat, ChatTo, sees
from server.live.floor import Floor, next_turn
from server.live.media_plan import MediaPlan
from server.live.names import clean_display_name, ensure_unique
from server.live.observation import Participation
from server.live.participant import Participant, Presence, new_id
from server.live.permissions import OBSERVER_GRANT, Permission, Role
from server.live.recorder import Recorder
from server.live.rules import RoomRules
from server.live.tasks import SessionTasks
from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import (
    MAX_MEMBERS_PER_SESSION,
    MAX_OBSERVERS,
    MAX_WAITING,
)

log = logging.getLogger("lingkar.live")


class LiveSession(RoomRules):
    """A session between its first counselor's entry and its end."""

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
        self.chat = Chat()
        self.ended = False
        # Offers refused for want of a media port, and peers closed for never connecting
        # (server/live/connection.py); /metrics sums them.
        self.offers_without_port = 0
        self.peers_never_connected = 0
        self.on_end: Callable[[LiveSession], None] | None = None
        # Called after every change of state (the registry keeps a snapshot: snapshot.py).
        self.on_change: Callable[[LiveSession], None] | None = None
        # The rejoin tokens used in this session (nonce: until when they were valid), so that
        # a restored session still refuses them.
        self.spent_rejoins: dict[str, float] = {}
        # Mints a person's rejoin token (server/live/rejoin.py; set by the registry).
        self.mint_rejoin: Callable[[Participant], str] | None = None
        # Writes attendance, stages, participation, notes and evaluations
        # (server/live/recorder.py).
        self.recorder: Recorder | None = None
        self.evaluation_open = False
        # The answers so far, for a leader who reconnects (memory only; stored sealed too).
        self.evaluation_answers: list[p.EvaluationAnswerOut] = []
        self._tasks = SessionTasks()
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
        restored = False
        for previous in self.leaders():
            if previous.counselor_id == counselor_id:
                restored = restored or previous.restored
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
            restored=restored,  # their page is told the chat from before is gone
        )
        leader.admitted_at = time.time()
        self.participants[leader.id] = leader
        self.log_attendance(leader, "admitted")
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
        self.log_attendance(member, "waiting")
        self.refresh_lobby()
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
        self.log_attendance(person, presence.value)
        person.resume_token = ""
        person.token = ""
        self._leave_room(person)
        if farewell is not None:
            self.send(person, farewell)
        if person.inbox is not None:  # its task ends, even when it runs this very departure
            person.inbox.close()
            person.inbox = None
        peer, person.peer = person.peer, None
        person.control_ready = False
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

    # ---- changes of state: each is a method here, and each ends in apply() -------------------

    def admit(self, people: Iterable[Participant], by: Participant | None = None) -> None:
        """Into the room from the lobby: a counselor's admit (``by``), or a member coming back
        after a restart as they were. The room's size counts either way, and each admission is
        in the attendance; a full room stops at the first member who does not fit."""
        try:
            for person in people:
                if person.presence is not Presence.WAITING:
                    raise LingkarError(ErrorId.CONFLICT, "that person is not waiting")
                if person.is_member and self.admitted_members() >= MAX_MEMBERS_PER_SESSION:
                    raise LingkarError(
                        ErrorId.SESSION_FULL, "the room already holds the most members"
                    )
                person.presence = Presence.ADMITTED
                person.admitted_at = time.time()
                person.lobby_view = None
                self.log_attendance(person, "admitted")
                self.send(person, p.Status(status="admitted"))
                self.send_rejoin(person)
                # What they may see of the chat so far; the roster and the rest follow in apply.
                for line in self.chat.history_for(person):
                    self.send(person, line)
                if by is not None:
                    self.activity(by, "admitted", person)
        finally:
            self.apply()

    def to_lobby(self, person: Participant, by: Participant) -> None:
        """Back to the lobby from the room: they wait again, at the end of the queue."""
        if not person.in_room:
            raise LingkarError(ErrorId.CONFLICT, "that person is not in the room")
        person.presence = Presence.WAITING
        self._leave_room(person)
        person.joined_at = time.time()
        self.activity(by, "to_lobby", person)
        self.send_rejoin(person)
        self.apply()

    def _leave_room(self, person: Participant) -> None:
        """What leaving the room resets, to the lobby or out of the session."""
        person.hand_raised_at = None
        person.screen = False
        person.unmute_granted = False
        person.unmute_asked = False

    def lock(self, locked: bool, queue: bool, by: Participant) -> None:
        self.locked = locked
        self.queue_while_locked = locked and queue
        self.activity(by, "locked" if locked else "unlocked")
        self.apply()  # the waiting are told (their lobby view) in apply

    def mute(
        self,
        people: Iterable[Participant],
        by: Participant,
        action: str,
        target: Participant | None = None,
    ) -> None:
        for person in people:
            person.microphone = False
            person.muted_by_leader = True
            person.unmute_granted = False
            person.unmute_asked = False
        self.activity(by, action, target)
        self.apply()

    def set_policy(self, policy: p.Policy) -> None:
        self.policy = policy
        if policy == "ask_to_speak":
            for target in self.admitted():
                if target.is_member and not target.unmute_granted:
                    target.microphone = False
        self.apply()

    def ask_unmute(self, target: Participant) -> None:
        """A counselor asks; an unmute is never forced: it waits for the member's reply."""
        target.unmute_asked = True
        self.send(target, p.UnmuteRequest())
        self.apply()

    def reply_unmute(self, person: Participant, accept: bool) -> None:
        if not person.unmute_asked:
            raise LingkarError(ErrorId.NOT_ALLOWED, "nobody asked you to unmute")
        person.unmute_asked = False
        if accept:
            person.unmute_granted = True
            person.muted_by_leader = False
            person.microphone = True
        self.send_to_leaders(p.UnmuteReplyOut(participant=person.id, accept=accept))
        self.apply()

    def stop_camera(self, target: Participant, by: Participant) -> None:
        target.camera = False
        target.camera_stopped_by_leader = True
        self.activity(by, "stopped_camera", target)
        self.apply()

    def allow_share(self, target: Participant, allowed: bool) -> None:
        target.can_share = allowed
        if not allowed:
            target.screen = False
        self.apply()

    def set_microphone(self, person: Participant, on: bool) -> None:
        if on:
            if not self.may_unmute(person):
                raise LingkarError(
                    ErrorId.NOT_ALLOWED, "ask to speak: the counselor must ask you to unmute"
                )
            person.muted_by_leader = False
        elif not person.can(Permission.PRESENT) and self.policy == "ask_to_speak":
            person.unmute_granted = False
        person.microphone = on
        self.apply()

    def set_camera(self, person: Participant, on: bool) -> None:
        if on and not self.may_show_video(person):
            raise LingkarError(ErrorId.NOT_ALLOWED, "cameras stay off in this stage")
        person.camera = on
        if on:
            person.camera_stopped_by_leader = False
        self.apply()

    def set_screen(self, person: Participant, on: bool) -> None:
        if on and not self.may_share(person):
            raise LingkarError(ErrorId.NOT_ALLOWED, "the counselor has not allowed you to share")
        person.screen = on
        self.apply()

    def set_hand(self, person: Participant, raised: bool) -> None:
        if not raised:
            person.hand_raised_at = None
        elif person.hand_raised_at is None:
            person.hand_raised_at = time.monotonic()
            self.stats(person).hands += 1
        self.apply()

    def set_receive(self, person: Participant, mode: p.ReceiveMode) -> None:
        person.receive = mode
        self.apply()
        if person.in_room and person.peer is not None:
            self.media.apply_to(person, time.monotonic())

    def set_view(self, person: Participant, view: p.View) -> None:
        """The page's tiles and how many videos it shows: only what reaches this person
        changes (their wants, at once), nothing anyone else sees: no apply() needed."""
        person.view = view
        if person.in_room and person.peer is not None:
            self.media.apply_to(person, time.monotonic())

    def answer_evaluation(
        self, person: Participant, rating: int, answers: dict[str, str], *, anonymous: bool
    ) -> None:
        """A member's closing evaluation, once; an anonymous one carries no identity anywhere:
        not in the database, not to the counselors."""
        if not self.evaluation_open:
            raise LingkarError(ErrorId.NOT_ALLOWED, "the evaluation is not open")
        if person.evaluated:
            raise LingkarError(ErrorId.CONFLICT, "you have already answered")
        person.evaluated = True
        who = None if anonymous else person
        if self.recorder is not None:
            self.recorder.evaluation(None if who is None else who.id, rating, answers)
        self.send(person, p.EvaluationState(open=True, answered=True))
        out = p.EvaluationAnswerOut(
            participant=None if who is None else who.id,
            name=None if who is None else who.name,
            rating=rating,
            **answers,
        )
        self.evaluation_answers.append(out)
        self.send_to_leaders(out)
        self.changed()

    def set_evaluation(self, open_: bool, by: Participant) -> None:
        self.evaluation_open = open_
        self.activity(by, "evaluation_opened" if open_ else "evaluation_closed")
        for person in self.admitted():
            # The counselors' own pages (another tab, a reconnection) learn the state too.
            answered = person.evaluated and person.can(Permission.ANSWER_EVALUATION)
            self.send(person, p.EvaluationState(open=open_, answered=answered))
        self.changed()

    def set_observers_see_figures(self, allowed: bool, by: Participant) -> None:
        self.observers_see_figures = allowed
        self.activity(by, "figures_shown" if allowed else "figures_hidden")
        for person in self.participants.values():
            if person.is_observer:
                person.granted = OBSERVER_GRANT if allowed else frozenset()
        self.apply()

    # ---- stages and the floor -------------------------------------------------------------------

    def log_attendance(self, person: Participant, outcome: str) -> None:
        if self.recorder is not None:
            self.recorder.person(person, outcome)

    def log_stage(self) -> None:
        if self.recorder is not None and self.stages:
            self.recorder.stage(self.stage_index, self.stages[self.stage_index].key, time.time())

    def enter_stage(self, index: int) -> None:
        """Enter a stage and apply its preset afresh: what was allowed before is not carried."""
        self.stage_index = index
        self.stage_started = time.monotonic()
        self.log_stage()
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

    def apply(self) -> None:
        """Bring media and every client in line with the state. Idempotent."""
        if self.ended:
            return
        forwarding.enforce(self)
        forwarding.sync_subscriptions(self)
        self.broadcast_state()
        self.changed()

    def changed(self) -> None:
        """The state changed (apply() says so itself): the registry's snapshot follows."""
        if self.on_change is not None and not self.ended:
            self.on_change(self)

    def _on_track_published(self, track: TrackId) -> None:
        # A new track must not reach anyone before the rules say it may: pause first.
        if not self.forwarded(track):
            self.room.pause(track)
        self.apply()

    def _on_track_unpublished(self, track: TrackId) -> None:
        self.apply()

    # ---- messages out -------------------------------------------------------------------------

    def send(self, person: Participant, message: p.ServerMessage) -> None:
        peer = person.peer
        if peer is None or not person.control_ready:
            return
        peer.send(p.encode(message))  # False when closing: the sender's caller goes on

    def send_rejoin(self, person: Participant) -> None:
        """A fresh rejoin token to a member or an observer (a counselor comes back with their
        login), for a return after the server stopped without warning."""
        if self.mint_rejoin is not None and not person.leads and person.present:
            self.send(person, p.RejoinToken(token=self.mint_rejoin(person)))

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
        self.refresh_lobby()

    def refresh_lobby(self) -> None:
        """The lobby as each one sees it: the list for the counselors, and for each person
        waiting their own view (waiting or locked, and their place in the queue), sent when it
        changed."""
        leaders = self.leaders()
        if leaders:
            lobby = views.waiting(self)
            for leader in leaders:
                self.send(leader, lobby)
        for position, person in enumerate(self.waiting(), 1):
            view = views.waiting_status(self, position)
            if view != person.lobby_view and person.control_ready:
                person.lobby_view = view
                self.send(person, view)

    def send_observation(self) -> None:
        """The figures, to everyone in the room allowed to see them."""
        figures = views.observation(self, [x for x in self.participants.values() if x.is_member])
        for person in self.admitted():
            if person.can(Permission.OBSERVE_FIGURES):
                self.send(person, figures)

    def link(self, person: Participant) -> p.LinkQuality:
        return self.media.link(person)

    def greet(self, person: Participant) -> None:
        """Everything a freshly opened control channel needs, and nothing more than its due."""
        status = views.status(self, person)
        person.lobby_view = status if person.presence is Presence.WAITING else None
        for message in views.greeting(self, person, status):
            self.send(person, message)
        self.send_rejoin(person)
        if person.can(Permission.EVALUATION):
            self.refresh_lobby()

    def stats(self, person: Participant) -> Participation:
        return self.participation.setdefault(person.id, Participation())

    def post_chat(self, sender: Participant, text: str, to: ChatTo) -> None:
        self.check_chat(sender, to)
        line = self.chat.post(sender, text, to)
        self.stats(sender).chats += 1
        out = line.message()
        for person in self.admitted():
            if sees(person, line):
                self.send(person, out)

    # ---- tasks and the end --------------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run ``coro`` as this session's task: held until done, cancelled when it ends."""
        return self._tasks.spawn(coro)

    async def end(self) -> None:
        """End for everyone: each is told, then every connection is closed."""
        if self.ended:
            return
        for person in self.present():
            self.send(person, p.Status(status="ended"))
            person.presence = Presence.LEFT
            person.left_at = time.time()
            if person.admitted_at is not None:
                self.log_attendance(person, "admitted")
            else:
                self.log_attendance(person, "waiting")
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
        await self._tasks.cancel_all()
        if self.on_end is not None:
            self.on_end(self)
