"""The session's chat: in memory only, gone when the session ends, and one rule for who sees a
line (everyone for a line to all; for a line to the counselors, they and its sender)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from server.live import protocol as p
from server.live.participant import Participant
from server.platform.limits import CHAT_HISTORY_MESSAGES

ChatTo = Literal["all", "leader"]


@dataclass(frozen=True)
class ChatLine:
    sender: str
    name: str
    text: str
    to: ChatTo
    at: float

    def message(self) -> p.ChatOut:
        return p.ChatOut(sender=self.sender, name=self.name, text=self.text, to=self.to, at=self.at)


def sees(person: Participant, line: ChatLine) -> bool:
    """The one visibility rule: a line to all reaches everyone in the room; a line to the
    counselors reaches every counselor (the owner and co-counselors) and its own sender."""
    return line.to == "all" or person.leads or line.sender == person.id


class Chat:
    """The last CHAT_HISTORY_MESSAGES lines, for those who come in (or back) later."""

    def __init__(self) -> None:
        self._lines: deque[ChatLine] = deque(maxlen=CHAT_HISTORY_MESSAGES)

    def post(self, sender: Participant, text: str, to: ChatTo) -> ChatLine:
        line = ChatLine(sender=sender.id, name=sender.name, text=text, to=to, at=time.time())
        self._lines.append(line)
        return line

    def history_for(self, person: Participant) -> Iterator[p.ChatOut]:
        """The lines so far that ``person`` may see, oldest first."""
        return (line.message() for line in self._lines if sees(person, line))

    def clear(self) -> None:
        self._lines.clear()

    def __len__(self) -> int:
        return len(self._lines)
