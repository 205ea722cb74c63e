"""A cheap subscriber for the load benches: frames counted and checked from the RTP headers, not
through aiortc's receive path.

aiortc's receive path costs on the order of a hundred microseconds of Python per packet (its
jitter buffer, NACK generator, receive-side bandwidth estimator and statistics), so a room of
aiortc subscribers on the same two cores as the server costs several times the server
(docs/performance.md). A load generator only needs to know that each video arrives whole and on
time, which the headers tell. The packets are taken as they come off the socket (aioice's datagram
callback: no STUN parse, queue or task wake-up for them); after SRTP is removed (kept: it is the
real DTLS-SRTP path, and checks each packet's authentication tag), this module counts a **frame**
when the packet with the marker bit closes a run of consecutive sequence numbers sharing one
timestamp whose first packet starts a VP8 partition (the payload descriptor's S bit with
partition 0). A frame with a lost packet, a gap in the numbering or a broken start is not
counted. Nothing is decoded.

As feedback it sends once a second what a browser's receiver sends at least: a receiver report
per SSRC (fraction lost and cumulative loss from the numbering, highest sequence number, no
jitter or delay since report), and a REMB of :data:`REMB_BPS` (a link with room: the load
benches measure the server, not an adaptation). It never asks for retransmissions or keyframes.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from aiortc.rtp import RtcpPsfbPacket, RtcpReceiverInfo, RtcpRrPacket, RtpPacket, pack_remb_fci

REMB_BPS = 5_000_000
FEEDBACK_S = 1.0
VP8_START = 0x10  # the payload descriptor's S bit (RFC 7741 section 4.2)
VP8_PARTITION = 0x07


class _Stream:
    """One SSRC's numbering and the frame being assembled."""

    __slots__ = (
        "cycles",
        "first_seq",
        "intact",
        "last_seq",
        "received",
        "receiver",
        "reported_expected",
        "reported_received",
        "timestamp",
        "video",
    )

    def __init__(self, receiver: Any, video: bool, seq: int) -> None:
        self.receiver = receiver
        self.video = video
        self.last_seq = (seq - 1) & 0xFFFF
        self.timestamp = -1
        self.intact = False
        self.received = 0
        self.first_seq = seq
        self.cycles = 0
        self.reported_expected = 0
        self.reported_received = 0

    def highest(self) -> int:
        return self.cycles + self.last_seq

    def expected(self) -> int:
        return self.highest() - self.first_seq + 1


class HeaderCounter:
    """Counts, per aiortc receiver, the packets and the whole video frames that arrived."""

    def __init__(self) -> None:
        self.frames: Counter[Any] = Counter()  # receiver -> whole frames
        self.broken: Counter[Any] = Counter()  # receiver -> frames with a loss or a bad start
        self.packets: Counter[Any] = Counter()  # receiver -> packets
        self._streams: dict[int, _Stream | None] = {}  # SSRC -> stream (None: not routed)
        self._hooked: set[int] = set()
        self._feedback: asyncio.Task[None] | None = None

    def install(self, pc: Any) -> None:
        """Take over the RTP of every connected transport of ``pc`` not yet taken (call again
        after a renegotiation; with BUNDLE there is one).

        The packets are taken where they come off the socket (aioice's datagram callback),
        before aioice tries them as STUN and queues them for aiortc's DTLS task: a packet costs
        one callback, not a queue, a task wake-up and aiortc's parsing. DTLS, STUN and RTCP go
        on their usual way."""
        for transceiver in pc.getTransceivers():
            transport = transceiver.receiver.transport
            if transport is None or id(transport) in self._hooked:
                continue
            if getattr(transport, "_rx_srtp", None) is None:
                continue  # DTLS not done yet: the next call takes it
            self._hooked.add(id(transport))
            for protocol in transport.transport._connection._protocols:
                protocol.datagram_received = self._receiver(transport, protocol.datagram_received)
            if self._feedback is None:
                self._feedback = asyncio.ensure_future(self._send_feedback(transport, pc))

    def close(self) -> None:
        if self._feedback is not None:
            self._feedback.cancel()

    def _receiver(self, transport: Any, others: Any) -> Any:
        streams = self._streams
        unprotect = transport._rx_srtp.unprotect

        def received(data: bytes, addr: Any) -> None:
            if not (127 < data[0] < 192) or 191 < data[1] < 224:
                others(data, addr)  # STUN, DTLS (the data channel) or RTCP
                return
            try:
                data = unprotect(data)
            except Exception:  # pylibsrtp.Error: not authentic, or replayed
                return
            ssrc = int.from_bytes(data[8:12], "big")
            stream = streams.get(ssrc)
            if stream is None:
                if ssrc in streams:
                    return  # no receiver takes it
                stream = self._route(transport, data, ssrc)
                if stream is None:
                    return
            self._count(stream, data)

        return received

    def _route(self, transport: Any, data: bytes, ssrc: int) -> _Stream | None:
        """The first packet of an SSRC: aiortc's router says which receiver it is for."""
        try:
            packet = RtpPacket.parse(data, transport._rtp_header_extensions_map)
        except ValueError:
            return None
        receiver = transport._rtp_router.route_rtp(packet)
        if receiver is None:
            self._streams[ssrc] = None
            return None
        stream = _Stream(
            receiver, receiver._RTCRtpReceiver__kind == "video", packet.sequence_number
        )
        self._streams[ssrc] = stream
        return stream

    def _count(self, stream: _Stream, data: bytes) -> None:
        receiver = stream.receiver
        self.packets[receiver] += 1
        stream.received += 1
        seq = (data[2] << 8) | data[3]
        step = (seq - stream.last_seq) & 0xFFFF
        if step == 0 or step >= 0x8000:
            return  # late or repeated: not past the highest seen
        following = step == 1
        if seq < stream.last_seq:
            stream.cycles += 0x10000
        stream.last_seq = seq
        if not stream.video:
            return
        timestamp = int.from_bytes(data[4:8], "big")
        if timestamp != stream.timestamp:  # a new frame's first packet
            if stream.timestamp >= 0 and stream.intact:
                self.broken[receiver] += 1  # the last one never got its marker
            stream.timestamp = timestamp
            start = 12 + 4 * (data[0] & 0x0F)
            if data[0] & 0x10:  # header extensions
                start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
            descriptor = data[start] if start < len(data) else 0
            stream.intact = (
                descriptor & VP8_START != 0 and descriptor & VP8_PARTITION == 0 and following
            )
            if not stream.intact:
                self.broken[receiver] += 1
        elif not following and stream.intact:
            stream.intact = False
            self.broken[receiver] += 1
        if data[1] & 0x80 and stream.intact:  # the frame's last packet, all of it here
            self.frames[receiver] += 1
            stream.intact = False
            stream.timestamp = -1 - timestamp  # its repeats cannot start a frame again

    def _reports(self) -> list[RtcpReceiverInfo]:
        reports = []
        for ssrc, stream in self._streams.items():
            if stream is None:
                continue
            expected = stream.expected()
            interval_expected = expected - stream.reported_expected
            interval_received = stream.received - stream.reported_received
            stream.reported_expected, stream.reported_received = expected, stream.received
            lost = max(0, interval_expected - interval_received)
            fraction = (lost << 8) // interval_expected if interval_expected > 0 else 0
            reports.append(
                RtcpReceiverInfo(
                    ssrc=ssrc,
                    fraction_lost=min(fraction, 255),
                    packets_lost=max(0, expected - stream.received),
                    highest_sequence=stream.highest() & 0xFFFFFFFF,
                    jitter=0,
                    lsr=0,
                    dlsr=0,
                )
            )
        return reports

    async def _send_feedback(self, transport: Any, pc: Any) -> None:
        sender_ssrc = pc.getSenders()[0]._ssrc if pc.getSenders() else 1
        while True:
            await asyncio.sleep(FEEDBACK_S)
            reports = self._reports()
            video = [s for s, st in self._streams.items() if st is not None and st.video]
            packets = b""
            for first in range(0, len(reports), 31):  # at most 31 report blocks a packet
                packets += bytes(
                    RtcpRrPacket(ssrc=sender_ssrc, reports=reports[first : first + 31])
                )
            if video:
                remb = RtcpPsfbPacket(
                    fmt=15, ssrc=sender_ssrc, media_ssrc=0, fci=pack_remb_fci(REMB_BPS, video)
                )
                packets += bytes(remb)
            if packets:
                try:
                    await transport._send_rtp(packets)
                except ConnectionError:
                    return
