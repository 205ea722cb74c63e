"""Keep one bad data-channel message from closing a whole peer connection.

aiortc delivers data-channel messages from inside its DTLS receive loop: a text message with
invalid UTF-8 (``data.decode("utf8")`` raises) or a message handler that raises ends that loop
and the peer connection with it. aiortc also does not enforce its advertised max-message-size on
receive. This wraps the SCTP transport's delivery of one peer connection so that such a message
is refused, reported and dropped, and everything else goes on. It relies on the private
``RTCSctpTransport._data_channel_receive`` of the pinned aiortc series; rtc's self-test
checks that the hook is there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from aiortc import rtcsctptransport

log = logging.getLogger("lingkar.rtc.datachannel")

Refusal = Literal["too_large", "malformed"]

_STRING = rtcsctptransport.WEBRTC_STRING
_BINARY = rtcsctptransport.WEBRTC_BINARY


def guard_data_channels(
    pc: Any, max_message_bytes: int, on_refused: Callable[[Refusal], None]
) -> None:
    """Install the guard on ``pc``'s SCTP transport (after the remote description is set)."""
    sctp = pc.sctp
    if sctp is None:
        return
    original: Callable[[int, int, bytes], Awaitable[None]] = sctp._data_channel_receive

    async def guarded(stream_id: int, pp_id: int, data: bytes) -> None:
        if pp_id in (_STRING, _BINARY) and len(data) > max_message_bytes:
            on_refused("too_large")
            return
        if pp_id == _STRING:
            try:
                data.decode("utf8")
            except UnicodeDecodeError:
                on_refused("malformed")
                return
        try:
            await original(stream_id, pp_id, data)
        except Exception:
            # A malformed DCEP open or a raising handler: drop the message, keep the connection.
            log.warning("data-channel message dropped", exc_info=True)
            on_refused("malformed")

    sctp._data_channel_receive = guarded


def hook_available() -> bool:
    """Whether the aiortc internals this guard wraps are still there."""
    return callable(getattr(rtcsctptransport.RTCSctpTransport, "_data_channel_receive", None))
