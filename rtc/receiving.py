"""The receive side of a publisher's track: forward first, then only the RTCP bookkeeping.

aiortc's ``RTCRtpReceiver._handle_rtp_packet`` does, per incoming packet: feed the bitrate
estimator (REMB upstream), note the active SSRC, feed the stream statistics (RTCP receiver
reports), unwrap RTX, feed the NACK generator (NACK upstream), depayload the codec payload,
and add it to a jitter buffer that re-assembles frames for the decoder (and asks for a keyframe
when it has to drop packets). The forwarding core never decodes, so the last two only burned
CPU: the jitter buffer scans the frame assembled so far on every packet, and the depayload
copies the payload. At K=8 subscribers they were about two thirds of the handler's cost
(docs/performance.md).

:class:`ReceiveHandler` replaces the handler per receiver instance and keeps exactly the
duties the publisher needs from us: REMB (its sending rate), receiver reports (loss and RTT)
and NACKs (retransmissions). Keyframe requests on upstream loss are the forwarder's own
(:meth:`rtc.forwarder.Source._track_loss`). The active-SSRC table, used only by
``getSynchronizationSources()``, is not kept: the core never asks for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import pylibsrtp
from aiortc.codecs import is_rtx
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpreceiver import NackGenerator, StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unwrap_rtx

from rtc.ntpclock import current_ms

RtpHandler = Callable[[Any, int], Awaitable[None]]
# Task(eager_start=True) exists from Python 3.12 on.
EAGER_TASKS = sys.version_info >= (3, 12)
RtxLookup = Callable[[int], "int | None"]

logger = logging.getLogger(__name__)
_CONNECTED = DtlsState.CONNECTED

# aiortc 1.16 RTCRtpReceiver attributes, set once in __init__ (values read per packet).
RECEIVER_CODECS = "_RTCRtpReceiver__codecs"
RECEIVER_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"

# The REMB a publisher gets is at least this while its uplink shows no queue. aiortc's
# receive-side estimator (like Chromium's) trails what arrives, at ~1.08 times it, and has no
# probe detection: a browser that starts its simulcast at 300 kbit/s and listens to it switches
# its upper layers off and never gets them back (seen with Chromium 156: 60-90 kbit/s
# available, one layer sent). The floor lets it send a camera's three layers and a screen.
PUBLISHER_REMB_FLOOR_BPS = 2_000_000
# When aiortc's estimate falls (it saw the publisher's uplink queue up), the publisher gets
# that estimate, without the floor, for this long: a student on a thin uplink then drops its
# upper layers before the queue drowns its own audio. Longer each time it falls again soon.
UPSTREAM_HOLD_S = 10.0
UPSTREAM_MAX_HOLD_S = 60.0


class UpstreamRemb:
    """What REMB a publisher is told, from aiortc's estimate of its uplink."""

    __slots__ = ("_hold", "_last", "_last_fall", "_until")

    def __init__(self) -> None:
        self._last: int | None = None
        self._until = float("-inf")
        self._last_fall = float("-inf")
        self._hold = UPSTREAM_HOLD_S

    def bitrate(self, estimate: int, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        last, self._last = self._last, estimate
        if last is not None and estimate < last * 0.85:
            if now - self._last_fall < 3 * self._hold:
                self._hold = min(self._hold * 2, UPSTREAM_MAX_HOLD_S)
            elif now >= self._until:
                self._hold = UPSTREAM_HOLD_S
            self._last_fall = now
            self._until = now + self._hold
        if now < self._until:
            return estimate
        return max(estimate, PUBLISHER_REMB_FLOOR_BPS)


# One NACK generator per media SSRC of a track: a camera's layers, or a new SSRC after the
# browser replaced its track. More are not kept (a browser sending SSRC after SSRC).
MAX_NACKED_STREAMS = 8


def _attribute(receiver: Any, name: str) -> Any:
    try:
        return getattr(receiver, name)
    except AttributeError:
        raise RuntimeError(f"aiortc RTCRtpReceiver has no {name} attribute") from None


class ReceiveHandler:
    """Stands in for one receiver's ``_handle_rtp_packet``."""

    __slots__ = (
        "_codecs",
        "_estimator",
        "_nack",
        "_nacks",
        "_on_rtp",
        "_receiver",
        "_rtx_lookup",
        "_rtx_ssrc",
        "_streams",
        "_upstream",
    )

    def __init__(
        self, receiver: Any, on_rtp: RtpHandler, rtx_lookup: RtxLookup | None = None
    ) -> None:
        self._receiver = receiver
        self._on_rtp = on_rtp
        # Simulcast RTX streams are not in the SDP: the forwarder learns them from the
        # repaired-rtp-stream-id extension.
        self._rtx_lookup = rtx_lookup
        # The dicts are filled in place by receive(); the objects are never replaced.
        self._codecs: dict[int, Any] = _attribute(receiver, RECEIVER_CODECS)
        self._streams: dict[int, Any] = _attribute(receiver, RECEIVER_REMOTE_STREAMS)
        self._rtx_ssrc: dict[int, int] = _attribute(receiver, RECEIVER_RTX_SSRC)
        self._estimator: Any = _attribute(receiver, RECEIVER_ESTIMATOR)  # None for audio
        self._nack: Any = _attribute(receiver, RECEIVER_NACK_GENERATOR)  # None for audio
        # aiortc's generator follows one sequence space; simulcast layers have one each.
        self._nacks: dict[int, Any] = {}
        self._upstream = UpstreamRemb()
        _attribute(receiver, RECEIVER_RTCP_SSRC)

    async def __call__(self, packet: Any, arrival_time_ms: int) -> None:
        # Forwarding comes first: the subscribers should not wait for our bookkeeping.
        await self._on_rtp(packet, arrival_time_ms)
        receiver = self._receiver
        if not receiver._enabled:
            return
        estimator = self._estimator
        if estimator is not None:
            abs_send_time = packet.extensions.abs_send_time
            if abs_send_time is not None:
                remb = estimator.add(
                    abs_send_time=abs_send_time,
                    arrival_time_ms=arrival_time_ms,
                    payload_size=len(packet.payload) + packet.padding_size,
                    ssrc=packet.ssrc,
                )
                rtcp_ssrc = getattr(receiver, RECEIVER_RTCP_SSRC)
                if remb is not None and rtcp_ssrc is not None:
                    bitrate, ssrcs = remb
                    await receiver._send_rtcp(
                        RtcpPsfbPacket(
                            fmt=RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=pack_remb_fci(self._upstream.bitrate(bitrate), ssrcs),
                        )
                    )
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = self._streams.get(packet.ssrc)
        if stream is None:
            stream = self._streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        if self._nack is None:
            return
        if is_rtx(codec):
            original_ssrc = self._rtx_ssrc.get(packet.ssrc)
            if original_ssrc is None and self._rtx_lookup is not None:
                original_ssrc = self._rtx_lookup(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in self._codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        nack = self._nacks.get(packet.ssrc)
        if nack is None:
            if len(self._nacks) >= MAX_NACKED_STREAMS:
                return
            nack = self._nacks[packet.ssrc] = NackGenerator()
        if nack.add(packet):
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nack.missing))


# aioice 0.13 Connection (the ICE connection under aiortc's RTCIceTransport) and aiortc 1.16
# RTCDtlsTransport attributes the inline path uses; rtc.selftest checks them.
CONNECTION_QUEUE = "_queue"
DTLS_RX_BYTES = "_RTCDtlsTransport__rx_bytes"
DTLS_RX_PACKETS = "_RTCDtlsTransport__rx_packets"


class InlineReceive:
    """Hands a media transport's SRTP packets to aiortc's RTP handling without the queue hop.

    aiortc reads every datagram through aioice's queue: aioice's socket callback puts it there,
    the DTLS transport's task wakes up on the next loop turn, goes back up five coroutine
    frames, and waits on the queue again: a future and a task step per packet, for each
    publisher packet. Here aioice's ``Connection.data_received`` is replaced on this one
    connection: an SRTP (not SRTCP) datagram that arrives while the queue is empty (nothing
    earlier is waiting, so the order is kept) is unprotected and handed to
    ``RTCDtlsTransport._handle_rtp_data`` at once, in the socket callback. Everything else
    (DTLS, SRTCP, STUN-less data, and any packet arriving behind queued ones) takes aiortc's
    path unchanged.

    ``_handle_rtp_data`` is a coroutine; it is run eagerly (``send(None)``) and nearly always
    finishes without waiting. If it does wait (an RTCP send on a TURN connection, say), the
    rest of it becomes an ordinary task: see :func:`run_eagerly`.
    """

    __slots__ = ("_dtls", "_original", "_queue", "packets", "tasks")

    def __init__(self, dtls: Any) -> None:
        connection = dtls.transport._connection
        self._dtls = dtls
        self._queue: Any = getattr(connection, CONNECTION_QUEUE)
        self._original: Callable[[bytes, int], None] = connection.data_received
        self.packets = 0  # handled inline (tests read it)
        self.tasks: set[asyncio.Task[None]] = set()
        connection.data_received = self

    def __call__(self, data: bytes, component: int) -> None:
        dtls = self._dtls
        srtp = dtls._rx_srtp
        if (
            srtp is None
            or dtls._state is not _CONNECTED
            or not 127 < data[0] < 192
            or 192 <= data[1] <= 223
            or self._queue.qsize()
        ):
            self._original(data, component)
            return
        arrival_time_ms = current_ms()
        setattr(dtls, DTLS_RX_BYTES, getattr(dtls, DTLS_RX_BYTES) + len(data))
        setattr(dtls, DTLS_RX_PACKETS, getattr(dtls, DTLS_RX_PACKETS) + 1)
        try:
            data = srtp.unprotect(data)
        except pylibsrtp.Error:
            return  # as aiortc: a packet that fails authentication is dropped
        self.packets += 1
        run_eagerly(dtls._handle_rtp_data(data, arrival_time_ms=arrival_time_ms), self.tasks)


def install_inline_receive(dtls: Any) -> InlineReceive:
    """Install :class:`InlineReceive` on ``dtls``'s ICE connection (once per transport)."""
    connection = dtls.transport._connection
    current = connection.data_received
    if isinstance(current, InlineReceive):
        return current
    return InlineReceive(dtls)


def _log_outcome(task: asyncio.Task[None]) -> None:
    """A finished eager task's exception, logged as :func:`run_eagerly` logs one."""
    if task.cancelled():
        return
    exc = task.exception()
    if isinstance(exc, pylibsrtp.Error):
        logger.debug("SRTP failed while forwarding: %s", exc)
    elif exc is not None:
        logger.error("inline RTP handling failed", exc_info=exc)


def _run_eager_task(coro: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]) -> None:
    """Python 3.12 and later: a Task started eagerly runs now, up to its first wait, and is
    never scheduled when it finishes without one."""
    loop = asyncio.get_running_loop()  # eager_start needs it given (3.13: None has no is_running)
    task = asyncio.Task(coro, loop=loop, eager_start=True)  # type: ignore[call-arg,unused-ignore]
    if task.done():
        _log_outcome(task)
        return
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    task.add_done_callback(_log_outcome)


def run_eagerly(coro: Coroutine[Any, Any, None], tasks: set[asyncio.Task[None]]) -> None:
    """Run ``coro`` now, up to its first real wait; a task finishes it from there.

    What Python 3.12's eager tasks do, for one coroutine: no loop turn when the coroutine
    never waits. On 3.12 and later it is one (:func:`_run_eager_task`); on 3.11, which has
    none, the coroutine is stepped here and a waiting one handed to a task. An exception is
    logged, as a failed task's would be; an SRTP error at debug level only, as aiortc's
    receive loop does.

    When one packet's handling waits (rare) and the next packet is handled meanwhile, the
    two may be forwarded out of order; subscribers' jitter buffers re-order RTP anyway.
    """
    if EAGER_TASKS:
        _run_eager_task(coro, tasks)
        return
    try:
        waiting_on = coro.send(None)
    except StopIteration:
        return
    except pylibsrtp.Error as exc:
        logger.debug("SRTP failed while forwarding: %s", exc)
        return
    except Exception:
        logger.exception("inline RTP handling failed")
        return
    task = asyncio.ensure_future(_finish(coro, waiting_on))
    tasks.add(task)
    task.add_done_callback(tasks.discard)


async def _finish(coro: Coroutine[Any, Any, None], waiting_on: Any) -> None:
    try:
        while True:
            if waiting_on is None:
                await asyncio.sleep(0)  # a bare yield: give the loop one turn
            else:
                # Take the wait over as a Task would (a future still marked as blocking a
                # coroutine refuses a second await), then let the coroutine read the outcome,
                # a cancellation included (cancelling this task cancels ``waiting_on``).
                waiting_on._asyncio_future_blocking = False
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await waiting_on
            try:
                waiting_on = coro.send(None)
            except StopIteration:
                return
    except Exception:
        logger.exception("inline RTP handling failed")
    finally:
        coro.close()
