"""The hooks into aiortc internals that let encoded media pass through without decode/encode.

aiortc 1.16 decodes every received track (RTCRtpReceiver starts a decoder thread in receive())
and encodes every sent track (RTCRtpSender._run_rtp pulls frames from its track). The forwarding
core keeps aiortc for ICE, DTLS, SRTP keys, RTCP and SDP, and replaces the media paths per
instance (no module-level patching):

Receiver side (installed from ``pc.on("track")``, which fires before receive()):

- ``receiver._handle_rtp_packet`` is wrapped: every decrypted, parsed RTP packet first goes to the
  forwarder (no jitter buffer wait: audio would wait ~80 ms there), then to aiortc's own handler,
  which keeps doing receiver statistics (RTCP RR), NACK generation and REMB upstream.
- the decoder thread's input queue is replaced by one that discards encoded frames, so aiortc's
  handler never gets anything decoded; the track's output queue is replaced by one that counts
  any decoded frame that still shows up (the ``decodes`` counter: an independent check).
- ``receiver.receive`` is wrapped to register the RTX SSRC with the transport's router: aiortc
  registers only the media SSRC, and with two video m-lines sharing payload types (camera and
  screen from a browser) it then drops every retransmission.

Sender side: the RTCRtpSender gets a :class:`SilentTrack` whose recv() never returns, so aiortc
never creates an encoder; packets are written by :func:`send_rtp` (header rewrite, SRTP protect,
UDP send) and ``sender._handle_rtcp_packet`` is wrapped to route PLI/FIR/NACK to the forwarder.

All names touched are listed in :data:`PRIVATE_NAMES` and checked by :mod:`rtc.selftest`.
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

from rtc.counters import Counters

RtpHandler = Callable[[Any, int], Awaitable[None]]
RtcpHandler = Callable[[Any], Awaitable[bool]]

RECEIVER_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
SENDER_ENCODER = "_RTCRtpSender__encoder"
SENDER_NTP_TIMESTAMP = "_RTCRtpSender__ntp_timestamp"
SENDER_RTP_TIMESTAMP = "_RTCRtpSender__rtp_timestamp"
SENDER_PACKET_COUNT = "_RTCRtpSender__packet_count"
SENDER_OCTET_COUNT = "_RTCRtpSender__octet_count"

# (class, attribute) pairs this module relies on; rtc.selftest checks they exist.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("RTCRtpReceiver", "_handle_rtp_packet"),
    ("RTCRtpReceiver", "_send_rtcp_pli"),
    ("RTCRtpReceiver", "receive"),
    ("RTCRtpSender", "_handle_rtcp_packet"),
    ("RTCDtlsTransport", "_send_rtp"),
    ("RTCDtlsTransport", "_rtp_router"),
    ("RTCDtlsTransport", "_tx_srtp"),
    ("RTCRtpReceiver", RECEIVER_DECODER_QUEUE),
    ("RTCRtpSender", SENDER_ENCODER),
    ("RTCRtpSender", SENDER_NTP_TIMESTAMP),
    ("RTCRtpSender", SENDER_RTP_TIMESTAMP),
    ("RTCRtpSender", SENDER_PACKET_COUNT),
    ("RTCRtpSender", SENDER_OCTET_COUNT),
)


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
    receiver: Any, track: Any, counters: Counters, on_rtp: RtpHandler
) -> None:
    """Make ``receiver`` pass its packets to ``on_rtp`` and never decode.

    Must run before ``receiver.receive()`` (i.e. from the ``track`` event).
    """
    if getattr(receiver, RECEIVER_DECODER_QUEUE, None) is None:
        raise RuntimeError("aiortc RTCRtpReceiver has no decoder queue attribute")
    setattr(receiver, RECEIVER_DECODER_QUEUE, _DiscardingDecoderQueue(counters))
    track._queue = _CountingTrackQueue(counters)

    original_handle = receiver._handle_rtp_packet
    original_receive = receiver.receive

    async def handle_rtp_packet(packet: Any, arrival_time_ms: int) -> None:
        await on_rtp(packet, arrival_time_ms)
        await original_handle(packet, arrival_time_ms=arrival_time_ms)

    async def receive(parameters: Any) -> None:
        await original_receive(parameters)
        router = receiver.transport._rtp_router
        for encoding in parameters.encodings:
            if encoding.rtx is not None:
                router.ssrc_table[encoding.rtx.ssrc] = receiver

    receiver._handle_rtp_packet = handle_rtp_packet
    receiver.receive = receive


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


class Wire:
    """The lean send path of one subscriber's DTLS transport: protect and send, no coroutines.

    aiortc's own path (RTCDtlsTransport._send_rtp -> RTCIceTransport -> aioice) is four
    awaited coroutines per packet; here a packet costs one SRTP protect and one sendto.
    Falls back to aiortc's path when the selected ICE pair is not a plain UDP socket (TURN).

    The nominated pair's protocol and remote address are looked up again only when aioice
    nominates another pair (per packet, only an identity check), so the per-leg cost of a
    packet is the protect, the sendto and a few attribute reads.
    """

    def __init__(self, dtls: Any) -> None:
        self._dtls = dtls
        # aioice mutates this dict in place (nominate, clear on close), never replaces it.
        self._nominated: dict[int, Any] = dtls.transport._connection._nominated
        self._pair: Any = None
        self._protocol: Any = None
        self._remote_addr: Any = None

    def _udp(self) -> Any:
        """The nominated pair's STUN protocol when it is a plain UDP socket, else None."""
        pair = self._nominated.get(1)
        if pair is not self._pair:
            self._pair = pair
            if pair is not None and type(pair.protocol) is StunProtocol:
                self._protocol = pair.protocol
                self._remote_addr = pair.remote_addr
            else:
                self._protocol = None
        return self._protocol

    def usable(self) -> bool:
        return bool(self._dtls._state == DtlsState.CONNECTED)

    def buffered(self) -> int:
        """Bytes waiting in the socket's user-space buffer (0 when the kernel keeps up)."""
        pair = self._nominated.get(1)
        if pair is None:
            return 0
        transport = pair.protocol.transport
        if transport is None:
            return 0
        return int(transport.get_write_buffer_size())

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

    def send_now(self, data: bytes) -> bool:
        """The synchronous fast path only; False when the slow path would be needed."""
        dtls = self._dtls
        if dtls._state is not _CONNECTED:
            return False
        protocol = self._udp()
        if protocol is None:
            return False
        transport = protocol.transport
        if transport is None:
            return False
        transport.sendto(dtls._tx_srtp.protect(data), self._remote_addr)
        return True
