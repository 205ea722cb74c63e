"""A participant as the browser is one: HTTPS join, one peer connection, the control channel.

Built on the aiortc test client of tests/rtc; speaks docs/protocol.md and nothing else.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from aiohttp.test_utils import TestClient
from aiortc import MediaStreamTrack

from tests.rtc.clients import Client, PatternTrack, ToneTrack, wait_for

Message = dict[str, Any]


class LiveClient:
    def __init__(
        self,
        http: TestClient,
        code: str,
        name: str,
        *,
        audio: MediaStreamTrack | None = None,
        video: MediaStreamTrack | bool = False,
    ) -> None:
        self.http = http
        self.code = code
        self.name = name
        self.rtc = Client(
            name,
            audio=audio if audio is not None else ToneTrack(),
            # Audio-only unless asked: every aiortc peer encodes and decodes in the test process,
            # and a test needing no pictures stays light on 2 cores.
            video=PatternTrack() if video is True else (video or None),
        )
        self.messages: list[Message] = []
        self.by_type: defaultdict[str, list[Message]] = defaultdict(list)
        self.tracks: dict[str, tuple[str, str]] = {}  # mid -> (participant, kind)
        self.entry: Message = {}
        self.answers = 0
        self.auto_answer = True
        self._tasks: set[asyncio.Task[None]] = set()
        self.rtc.control.on("message", self._on_message)

    @property
    def id(self) -> str:
        return str(self.entry["participant"])

    # ---- HTTPS ----

    async def post(self, path: str, body: Any, **headers: str) -> tuple[int, Message]:
        response = await self.http.post(path, json=body, headers=headers)
        return response.status, await response.json()

    async def join(
        self, password: str | None = None, consent: bool = True, observer: bool = False
    ) -> tuple[int, Message]:
        body: Message = {"name": self.name, "consent": consent}
        if password is not None:
            body["password"] = password
        path = "observe" if observer else "join"
        status, reply = await self.post(f"/api/sessions/{self.code}/{path}", body)
        if status == 200:
            self.entry = reply
        return status, reply

    async def lead(self) -> None:
        status, reply = await self.post(f"/api/sessions/{self.code}/lead", {})
        assert status == 200, reply
        self.entry = reply

    async def connect(self) -> None:
        offer = await self.rtc.make_offer()
        status, reply = await self.post(
            f"/api/sessions/{self.code}/participants/{self.id}/offer",
            {"type": "offer", "sdp": offer},
            Authorization=f"Bearer {self.entry['token']}",
        )
        assert status == 200, reply
        await self.rtc.accept_answer(reply["sdp"])
        await self.wait_for(lambda: bool(self.by_type["welcome"]), "welcome")

    # ---- the control channel ----

    def send(self, message: Message | str | bytes) -> None:
        if isinstance(message, dict):
            message = json.dumps(message)
        self.rtc.control.send(message)

    def _on_message(self, raw: str | bytes) -> None:
        message = json.loads(raw)
        self.messages.append(message)
        self.by_type[message["type"]].append(message)
        if message["type"] == "offer":
            for mid, info in message["tracks"].items():
                self.tracks[mid] = (info["participant"], info["kind"])
            if self.auto_answer:
                self._spawn(self._answer(message["sdp"]))
        elif message["type"] == "ping":
            self.send({"type": "pong", "nonce": message["nonce"]})

    async def _answer(self, sdp: str) -> None:
        if self.rtc.pc.signalingState == "closed":
            return
        answer = await self.rtc.answer(sdp)
        self.send({"type": "answer", "sdp": answer})
        self.answers += 1

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def last(self, kind: str) -> Message:
        assert self.by_type[kind], f"{self.name} got no {kind!r} message"
        return self.by_type[kind][-1]

    def errors(self) -> list[str]:
        return [m["error"] for m in self.by_type["error"]]

    async def wait_for(
        self, condition: Callable[[], bool], what: str, deadline: float = 15
    ) -> None:
        await wait_for(condition, deadline, f"{self.name}: {what}")

    async def wait_message(
        self, kind: str, condition: Callable[[Message], bool] = lambda m: True, after: int = 0
    ) -> Message:
        def found() -> bool:
            return any(condition(m) for m in self.by_type[kind][after:])

        await self.wait_for(found, f"a {kind!r} message")
        return next(m for m in self.by_type[kind][after:] if condition(m))

    # ---- media as received ----

    def _receiver(self, participant: str, kind: str) -> Any:
        for transceiver in self.rtc.pc.getTransceivers():
            if self.tracks.get(transceiver.mid) == (participant, kind):
                return transceiver.receiver
        return None

    async def packets_from(self, participant: str, kind: str) -> int:
        receiver = self._receiver(participant, kind)
        if receiver is None:
            return 0
        stats = await receiver.getStats()
        return sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp")

    async def total_packets(self) -> int:
        total = 0
        for transceiver in self.rtc.pc.getTransceivers():
            if transceiver.receiver is not None and transceiver.direction in (
                "recvonly",
                "sendrecv",
            ):
                stats = await transceiver.receiver.getStats()
                total += sum(s.packetsReceived for s in stats.values() if s.type == "inbound-rtp")
        return total

    def frames_from(self, participant: str, kind: str) -> int:
        receiver = self._receiver(participant, kind)
        if receiver is None or receiver.track is None:
            return 0
        return self.rtc.frames[receiver.track.id]

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.rtc.close()
