"""The hooks into aiortc internals that let encoded media pass through without decode/encode.

aiortc 1.16 decodes every received track (RTCRtpReceiver starts a decoder thread in receive())
and encodes every sent track (RTCRtpSender._run_rtp pulls frames from its track). The forwarding
core keeps aiortc for ICE, DTLS, SRTP keys, RTCP and SDP, and replaces the media paths per
instance (no module-level patching):

Receiver side (installed from ``pc.on("track")``, which fires before receive()):

- ``receiver._handle_rtp_packet`` is replaced by :class:`rtc.receiving.ReceiveHandler`: every
  decrypted, parsed RTP packet first goes to the forwarder (no jitter buffer wait: audio would
  wait ~80 ms there), then only to the bookkeeping the publisher needs (receiver statistics for
  RTCP RR, NACK generation, REMB upstream); no depayload, no jitter buffer.
- the decoder thread's input queue is replaced by one that discards encoded frames (a safety
  net: with the handler above nothing reaches it); the track's output queue is replaced by one
  that counts any decoded frame that still shows up (the ``decodes`` counter: an independent
  check).
- the ICE connection's ``data_received`` hands SRTP packets to aiortc's RTP handling at once
  instead of through aioice's queue and the DTLS transport's task
  (:class:`rtc.receiving.InlineReceive`).
- ``receiver.receive`` is wrapped to register the RTX SSRC with the transport's router: aiortc
  registers only the media SSRC, and with two video m-lines sharing payload types (camera and
  screen from a browser) it then drops every retransmission.

Sender side: the RTCRtpSender gets a :class:`SilentTrack` whose recv() never returns, so aiortc
never creates an encoder; packets are written by :class:`Wire` (SRTP protect through
pylibsrtp's cffi binding, UDP sendto; the header is rewritten by :mod:`rtc.forwarder`) and
``sender._handle_rtcp_packet`` is wrapped to route PLI/FIR/NACK to the forwarder.

Every private name touched is listed in :data:`rtc.private_names.PRIVATE_NAMES` and checked by
:mod:`rtc.selftest`.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import aiortc
from aioice.ice import StunProtocol
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcdtlstransport import State as DtlsState
from pylibsrtp._binding import ffi as srtp_ffi
from pylibsrtp._binding import lib as srtp_lib

from rtc.counters import Counters
from rtc.receiving import ReceiveHandler, install_inline_receive
from rtc.routing import install_mid_routing

RtpHandler = Callable[[Any, int], Awaitable[None]]
RtcpHandler = Callable[[Any], Awaitable[bool]]

RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"
# asyncio's selector datagram transport keeps its socket here (CPython 3.11).
ASYNCIO_TRANSPORT_SOCKET = "_sock"
srtp_protect = srtp_lib.srtp_protect


def aiortc_version() -> str:
    return str(getattr(aiortc, "__version__", "unknown"))


class _DiscardingDecoderQueue(queue.Queue[Any]):
    """Stands in for the receiver's decoder input: frames are dropped, the stop marker passes."""

    def __init__(self, counters: Counters) -> None:
        super().__init__()
        self._counters = counters

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:
            super().put(item, block, timeout)
        else:
            self._counters.frames_withheld_from_decoder += 1


class _CountingTrackQueue(asyncio.Queue[Any]):
    """Stands in for the remote track's queue: counts decoded frames (there should be none)."""

    def __init__(self, counters: Counters) -> None:
        super().__init__()
        self._counters = counters

    async def put(self, item: Any) -> None:
        if item is not None:
            self._counters.decodes += 1
            return
        await super().put(item)


def install_receiver_hooks(
    receiver: Any,
    track: Any,
    counters: Counters,
    on_rtp: RtpHandler,
    rtx_lookup: Callable[[int], int | None] | None = None,
) -> None:
    """Make ``receiver`` pass its packets to ``on_rtp`` and never decode.

    Must run before ``receiver.receive()`` (i.e. from the ``track`` event).
    """
    if getattr(receiver, RECEIVER_DECODER_QUEUE, None) is None:
        raise RuntimeError("aiortc RTCRtpReceiver has no decoder queue attribute")
    setattr(receiver, RECEIVER_DECODER_QUEUE, _DiscardingDecoderQueue(counters))
    track._queue = _CountingTrackQueue(counters)

    original_receive = receiver.receive

    async def receive(parameters: Any) -> None:
        await original_receive(parameters)
        router = receiver.transport._rtp_router
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                router.ssrc_table[encoding.rtx.ssrc] = receiver

    receiver._handle_rtp_packet = ReceiveHandler(receiver, on_rtp, rtx_lookup)
    receiver.receive = receive
    install_inline_receive(receiver.transport)
    install_mid_routing(receiver.transport)


def install_sender_hooks(sender: Any, on_rtcp: RtcpHandler) -> None:
    """Route the subscriber's RTCP for ``sender`` to ``on_rtcp`` first.

    ``on_rtcp`` returns True when it consumed the packet (PLI, FIR, NACK); other packets
    (receiver reports) go on to aiortc's handler for statistics and RTT.
    """
    original = sender._handle_rtcp_packet

    async def handle_rtcp_packet(packet: Any) -> None:
        if not await on_rtcp(packet):
            await original(packet)

    sender._handle_rtcp_packet = handle_rtcp_packet


def sender_has_encoder(sender: Any) -> bool:
    return getattr(sender, SENDER_ENCODER, None) is not None


def note_sent(sender: Any, ntp_time: int, rtp_timestamp: int, packets: int, octets: int) -> None:
    """Feed aiortc's sender report (RTCP SR) with what the core sent on this sender's SSRC."""
    setattr(sender, SENDER_NTP_TIMESTAMP, ntp_time)
    setattr(sender, SENDER_RTP_TIMESTAMP, rtp_timestamp)
    setattr(sender, SENDER_PACKET_COUNT, packets)
    setattr(sender, SENDER_OCTET_COUNT, octets)


class SilentTrack(MediaStreamTrack):
    """The track given to a forwarding RTCRtpSender: recv() waits until the track is stopped.

    aiortc's sender loop awaits it forever, so no encoder is ever created. Its id becomes the
    track id in the SDP msid, which is how subscribers learn whose media it is.
    """

    def __init__(self, kind: str, track_id: str) -> None:
        super().__init__()
        self.kind = kind
        self._id = track_id
        self._ended = asyncio.Event()

    async def recv(self) -> Any:
        await self._ended.wait()
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        self._ended.set()


# A publisher's keyframe arrives as a burst of ~50-100 packets; when the event loop is busy
# (fan-out to 40 subscribers, a loaded machine) the default 208 KB receive buffer overflows and
# every subscriber then waits for the next keyframe. 1 MB is within Linux's default rmem_max of
# many distributions; the kernel caps it silently otherwise.
SOCKET_BUFFER_BYTES = 1 << 20


def enlarge_socket_buffers(pc: Any, size: int = SOCKET_BUFFER_BYTES) -> None:
    """Grow the receive and send buffers of the UDP sockets under ``pc``'s ICE transports."""
    transports = [t.receiver.transport for t in pc.getTransceivers()]
    if pc.sctp is not None:
        transports.append(pc.sctp.transport)
    connections = {
        id(c): c for c in (getattr(d.transport, "_connection", None) for d in transports) if c
    }
    for connection in connections.values():
        for protocol in getattr(connection, "_protocols", []):
            sock = protocol.transport.get_extra_info("socket") if protocol.transport else None
            if sock is None:
                continue
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


_CONNECTED = DtlsState.CONNECTED
# pylibsrtp protects in a 1500-byte buffer and needs room for the auth tag and MKI behind
# the packet (pylibsrtp.SRTP_MAX_TRAILER_LEN); larger packets take the library's own path.
_PROTECT_MAX = 1500 - 16 - 128


class Wire:
    """The lean send path of one subscriber's DTLS transport: protect and send, no coroutines.

    aiortc's own path (RTCDtlsTransport._send_rtp -> RTCIceTransport -> aioice) is four
    awaited coroutines per packet; here a packet costs one SRTP protect and one sendto.
    Falls back to aiortc's path when the selected ICE pair is not a plain UDP socket (TURN).

    Per packet, only identity checks decide whether anything must be looked up again: the
    nominated ICE pair (aioice nominates another pair) and the DTLS transport's SRTP session.
    The protect calls libsrtp's ``srtp_protect`` on the session's own buffer through
    pylibsrtp's cffi binding, as ``Session.protect`` does minus its per-call allocation and
    checks (measured in docs/performance.md); a failure re-runs ``Session.protect``, which
    raises pylibsrtp's error. The datagram goes straight to the socket while asyncio's
    transport has nothing queued, through the transport otherwise (order and back-pressure
    stay asyncio's).
    """

    __slots__ = (
        "_buffer",
        "_cdata",
        "_ctx",
        "_dtls",
        "_length",
        "_nominated",
        "_pair",
        "_remote_addr",
        "_session",
        "_sock",
        "_transport",
    )

    def __init__(self, dtls: Any) -> None:
        self._dtls = dtls
        # aioice mutates this dict in place (nominate, clear on close), never replaces it.
        self._nominated: dict[int, Any] = dtls.transport._connection._nominated
        self._pair: Any = None
        self._transport: Any = None
        self._sock: Any = None
        self._remote_addr: Any = None
        self._session: Any = None
        self._ctx: Any = None
        self._cdata: Any = None
        self._buffer: Any = None
        self._length: Any = srtp_ffi.new("int *")

    def _rebind_pair(self, pair: Any) -> None:
        """Take the nominated pair's socket when it is a plain UDP one (else the slow path)."""
        self._pair = pair
        self._transport = self._sock = None
        if pair is None or type(pair.protocol) is not StunProtocol:
            return
        transport = getattr(pair.protocol, "transport", None)
        if transport is None:
            self._pair = None  # not connected yet: look again on the next packet
            return
        self._transport = transport
        # asyncio's own transport: its socket, written to directly while nothing is queued.
        # Another loop's (uvloop's has no such attribute): its sendto, which sends at once too.
        self._sock = getattr(transport, ASYNCIO_TRANSPORT_SOCKET, None)
        self._remote_addr = pair.remote_addr

    def _rebind_session(self, session: Any) -> None:
        self._session = session
        self._ctx = session._srtp[0]
        self._cdata = session._cdata
        self._buffer = session._buffer

    def usable(self) -> bool:
        return bool(self._dtls._state == DtlsState.CONNECTED)

    def congested(self, limit: int) -> bool:
        """Whether more than ``limit`` bytes wait in asyncio's buffer for this socket (the one
        last sent on: a newly nominated pair is taken by the next send)."""
        transport = self._transport
        return transport is not None and transport.get_write_buffer_size() > limit

    async def send(self, data: bytes) -> bool:
        """Protect and send one RTP packet; False if it could not be sent."""
        if self.send_now(data):
            return True
        if self._dtls._state != DtlsState.CONNECTED or self._nominated.get(1) is None:
            return False
        try:
            await self._dtls._send_rtp(data)
        except ConnectionError:
            return False
        return True

    def protect(self, data: bytes) -> bytes:
        """SRTP-protect one RTP packet with the DTLS transport's outgoing session."""
        session = self._dtls._tx_srtp
        if session is not self._session:
            self._rebind_session(session)
        size = len(data)
        if size > _PROTECT_MAX:
            return session.protect(data)  # type: ignore[no-any-return]
        length = self._length
        length[0] = size
        buffer = self._buffer
        buffer[0:size] = data
        if srtp_protect(self._ctx, self._cdata, length):
            return session.protect(data)  # type: ignore[no-any-return]  # raises its error
        return buffer[0 : length[0]]  # type: ignore[no-any-return]

    def send_now(self, data: bytes) -> bool:
        """The synchronous fast path only; False when the slow path would be needed."""
        if self._dtls._state is not _CONNECTED:
            return False
        pair = self._nominated.get(1)
        if pair is not self._pair:
            self._rebind_pair(pair)
        transport = self._transport
        if transport is None:
            return False
        packet = self.protect(data)
        sock = self._sock
        if sock is None:
            if transport.is_closing():
                return False
            transport.sendto(packet, self._remote_addr)
            return True
        if transport.get_write_buffer_size():
            transport.sendto(packet, self._remote_addr)
            return True
        try:
            sock.sendto(packet, self._remote_addr)
        except OSError:
            if transport.is_closing():
                return False  # ICE closed this socket (asyncio's sendto would fail on it)
            # A full socket buffer or an ICMP error: asyncio queues it or reports it.
            transport.sendto(packet, self._remote_addr)
        return True
