"""The ``control`` data channel of one participant: limit, parse, queue, dispatch, reply.

aiortc calls the message handler synchronously from its receive loop, and an exception there
closes the whole peer connection, so :meth:`ControlInbox.on_message` never raises: it only
checks the rate, parses and queues. One task per participant runs the queue in order, so an
``answer`` is applied before the message that follows it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from server.live import protocol as p
from server.live.controls import dispatch
from server.live.participant import Participant
from server.live.session import LiveSession
from server.platform.errors import ErrorId, LingkarError
from server.platform.limits import (
    CONTROL_BURST,
    CONTROL_RATE_PER_SECOND,
    CONTROL_REPLY_BURST,
    CONTROL_REPLY_RATE_PER_SECOND,
)

log = logging.getLogger("lingkar.control")

# The JSON a browser sends for an answer or a pong starts so (server/live/protocol.py encodes
# and browsers' JSON.stringify keeps "type" first); anything else is checked after parsing.
_REPLY_PREFIXES = ('{"type":"answer"', '{"type": "answer"', '{"type":"pong"', '{"type": "pong"')


class TokenBucket:
    """``rate`` messages per second on average, bursts of up to ``burst``."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._last = clock()

    def allow(self) -> bool:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class ControlInbox:
    """Receives one participant's control messages and runs them one at a time."""

    def __init__(self, session: LiveSession, person: Participant) -> None:
        self._session = session
        self._person = person
        self._bucket = TokenBucket(CONTROL_RATE_PER_SECOND, CONTROL_BURST)
        self._replies = TokenBucket(CONTROL_REPLY_RATE_PER_SECOND, CONTROL_REPLY_BURST)
        self._queue: asyncio.Queue[p.ClientMessage] = asyncio.Queue(maxsize=CONTROL_BURST)
        # The session holds the task until it is done, so a cancelled one is never destroyed
        # while pending (a departure closes the inbox; the session's end gathers what is left).
        self._task = session.spawn(self._run())
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self._task.cancel()

    def refuse(self, error: ErrorId, message: str, ref: str = "") -> None:
        self._session.send(self._person, p.Error(error=error.value, message=message, ref=ref))

    def on_message(self, raw: object) -> None:
        """aiortc's synchronous callback: must never raise."""
        try:
            self._receive(raw)
        except Exception:
            log.exception("control message handling failed")

    def _spend(self, bucket: TokenBucket) -> bool:
        """One message from ``bucket``; when it is empty, the sender is told and it is dropped."""
        if bucket.allow():
            return True
        self.refuse(ErrorId.RATE_LIMITED, "too many messages; slow down")
        return False

    def _receive(self, raw: object) -> None:
        if self.closed:
            return
        person = self._person
        person.last_seen = time.monotonic()
        if not person.connected and person.inbox is self:
            # Heard from again on the same channel after a stall the heartbeat took for a drop
            # (a phone's link stalling 10 s, a lossy link's data channel backing off): back in
            # the room, not removed when the grace period ends while still talking.
            person.connected = True
            person.disconnected_at = None
            self._session.apply()
        # Answers to the server's own offers and pongs to its pings have a bucket of their own:
        # the person's other messages, however many, never make the server's renegotiation or
        # heartbeat lose a reply (a refused answer would leave its offer outstanding for good).
        reply = isinstance(raw, str) and raw.startswith(_REPLY_PREFIXES)
        if not self._spend(self._replies if reply else self._bucket):
            return
        if not isinstance(raw, str):
            # docs/protocol.md: text messages only. A binary frame is refused, never acted on.
            self.refuse(ErrorId.MALFORMED, "binary messages are not part of the protocol")
            return
        try:
            message = p.parse_client_message(raw)
        except LingkarError as exc:
            self.refuse(exc.error, exc.message)
            return
        # Looked like a reply by its first bytes but is not one: it counts as any message.
        if reply and not isinstance(message, p.Answer | p.Pong) and not self._spend(self._bucket):
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.refuse(ErrorId.RATE_LIMITED, "too many messages waiting", p.message_type(message))

    async def _run(self) -> None:
        while True:
            message = await self._queue.get()
            if self._session.ended or not self._person.present:
                continue
            try:
                await dispatch(self._session, self._person, message)
            except LingkarError as exc:
                self.refuse(exc.error, exc.message, p.message_type(message))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("control handler failed for %s", p.message_type(message))
                self.refuse(ErrorId.MALFORMED, "the server could not apply that message")
