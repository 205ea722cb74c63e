"""The room's rules, read from the live session's state alone: who may unmute, who is heard,
seen, sharing, who may chat to all, and so which published tracks may be forwarded at all.

:class:`RoomRules` is the base of :class:`server.live.session.LiveSession`; it holds no state
of its own, and changes none."""

from __future__ import annotations

from rtc import TrackId
from server.counseling.stages import Preset
from server.live import protocol as p
from server.live.floor import Floor
from server.live.participant import Participant
from server.live.permissions import Permission
from server.platform.errors import ErrorId, LingkarError


class RoomRules:
    participants: dict[str, Participant]
    preset: Preset
    policy: p.Policy
    floor: Floor | None

    def may_unmute(self, person: Participant) -> bool:
        # Being muted by a counselor is not a ban: under "members may unmute" a member may
        # unmute again, as in any meeting; under "ask to speak" only after a counselor's
        # request. While someone has the floor, only they and the counselors are heard. Without
        # `publish` (an observer) never.
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

    def check_chat(self, person: Participant, to: str) -> None:
        """Raise why ``person`` may not write ``to`` (all, or the counselors) now, if not."""
        if to == "all" and person.is_observer:
            raise LingkarError(ErrorId.NOT_ALLOWED, "an observer writes to the counselors only")
        if to == "all" and not self.may_chat_to_all(person):
            raise LingkarError(
                ErrorId.NOT_ALLOWED,
                "chat to everyone is closed in this stage; the counselor can read",
            )

    def forwarded(self, track: TrackId) -> bool:
        """Whether anything of this published track may reach anyone now."""
        person = self.participants.get(track.peer_id)
        if person is None:
            return False
        if track.kind == "audio":
            return self.heard(person)
        if track.kind == "video":
            return self.seen(person)
        return self.sharing(person)
