"""In-process cost of the core's forwarding loop, insensitive to other processes on the box.

Feeds synthetic VP8 RTP packets through :class:`rtc.forwarder.Source` with K legs, each with a
real :class:`rtc.passthrough.Wire` over its own UDP socket (libsrtp protect, one non-blocking
sendto to a local sink), and reports process CPU per forwarded packet.
It leaves out what the end-to-end benchmark includes: aiortc's receive path (SRTP unprotect,
parsing, RTCP), ICE consent checks and sender reports.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from types import SimpleNamespace
from typing import Any

from aioice.ice import StunProtocol
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket
from pylibsrtp import Policy, Session

from rtc.counters import Counters
from rtc.forwarder import Leg, LegParams, Source
from rtc.passthrough import Wire


def _wire(sink: tuple[str, int], transport: Any, protocol: Any) -> Wire:
    """A real Wire over a real UDP socket; its DTLS transport is only a holder of the SRTP
    session, the state and aioice's nominated pair (no handshake needed to measure sending)."""
    policy = Policy(
        key=os.urandom(30),
        ssrc_type=Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
    )
    policy.allow_repeat_tx = True
    pair = SimpleNamespace(protocol=protocol, remote_addr=sink)
    dtls = SimpleNamespace(
        _state=DtlsState.CONNECTED,
        _tx_srtp=Session(policy),
        transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})),
    )
    return Wire(dtls)


class _Ice:
    def protocol_lost(self, protocol: Any) -> None:
        pass


class _Sender:
    pass


async def measure(legs: int = 16, packets: int = 3000, size: int = 1100) -> float:
    """Process CPU microseconds per forwarded packet with ``legs`` subscribers."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    vp8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
    counters = Counters()

    async def no_pli(ssrc: int) -> None:
        return None

    source = Source("video", [vp8], counters, no_pli)
    loop = asyncio.get_running_loop()
    transports = []
    for i in range(legs):
        params = LegParams(96, None, 1000 + i, 2000 + i, str(i), 4, None)
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: StunProtocol(_Ice()),  # type: ignore[arg-type]
            local_addr=("127.0.0.1", 0),
        )
        transports.append(transport)
        wire = _wire(sink.getsockname(), transport, protocol)
        sender: Any = _Sender()
        source.add_leg(Leg(f"s{i}", "video", sender, wire, params))
    keyframe = bytes([0x90, 0x80, 0x80, 0x01, 0x10]) + os.urandom(size)
    delta = bytes([0x90, 0x80, 0x80, 0x01, 0x11]) + os.urandom(size)
    start = time.process_time()
    for n in range(packets):
        packet = RtpPacket(payload_type=96, sequence_number=n & 0xFFFF, timestamp=3000 * (n // 4))
        packet.ssrc = 42
        packet.marker = int(n % 4 == 3)
        packet.payload = keyframe if n == 0 else delta
        await source.on_rtp(packet, 0)
    cpu = time.process_time() - start
    for transport in transports:
        transport.close()
    sink.close()
    return cpu * 1e6 / max(1, counters.packets_forwarded)


if __name__ == "__main__":
    for k in (1, 4, 16):
        print(f"lean path K={k:2d}: {asyncio.run(measure(k)):.1f} us CPU per forwarded packet")
