"""A publisher track the core can name: whose, and which of its tracks (audio, camera, screen)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TrackKind = Literal["audio", "video", "screen"]


@dataclass(frozen=True, order=True)
class TrackId:
    """A publisher track the server can reference: whose, and which of its tracks."""

    peer_id: str
    kind: TrackKind

    @property
    def media_kind(self) -> Literal["audio", "video"]:
        return "audio" if self.kind == "audio" else "video"

    def __str__(self) -> str:
        return f"{self.peer_id}:{self.kind}"
