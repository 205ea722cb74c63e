"""The lean send path (rtc.passthrough.Wire): libsrtp protect on pylibsrtp's buffer, then sendto.

Real libsrtp sessions and real UDP sockets under asyncio; only the DTLS transport around them is
a plain holder of the three things Wire reads from it (state, SRTP session, ICE connection).
The end-to-end path through real aiortc peers is covered by test_forwarding.py.
"""

from __future__ import annotations

import asyncio
import os
import socket
from types import SimpleNamespace
from typing import Any

import pytest
from aioice.ice import StunProtocol
from aiortc.rtcdtlstransport import State as DtlsState
from pylibsrtp import Policy, Session

from rtc.passthrough import Wire

KEY = os.urandom(30)


def _session(direction: int) -> Session:
    policy = Policy(key=KEY, ssrc_type=direction)
    policy.allow_repeat_tx = True
    return Session(policy)


def _rtp(seq: int, size: int) -> bytes:
    header = bytes([0x80, 96]) + seq.to_bytes(2, "big") + (seq * 3000).to_bytes(4, "big")
    return header + (0x1234).to_bytes(4, "big") + os.urandom(size)


class _Ice:
    """What aioice's StunProtocol calls back on its owner when the socket closes."""

    def protocol_lost(self, protocol: Any) -> None:
        pass


async def _stun_socket() -> tuple[Any, StunProtocol]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        lambda: StunProtocol(_Ice()),  # type: ignore[arg-type]
        local_addr=("127.0.0.1", 0),
    )
    return transport, protocol


def _sink() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(2.0)
    return sock


def _dtls(session: Session, nominated: dict[int, Any]) -> Any:
    return SimpleNamespace(
        _state=DtlsState.CONNECTED,
        _tx_srtp=session,
        transport=SimpleNamespace(_connection=SimpleNamespace(_nominated=nominated)),
    )


def test_protect_gives_the_bytes_pylibsrtp_gives() -> None:
    wire = Wire(_dtls(_session(Policy.SSRC_ANY_OUTBOUND), {}))
    reference = _session(Policy.SSRC_ANY_OUTBOUND)
    receiver = _session(Policy.SSRC_ANY_INBOUND)
    # Up to 1356 bytes (pylibsrtp's buffer less the largest trailer) are protected in place.
    for seq, size in enumerate((0, 1, 188, 1100, 1356 - 12)):
        packet = _rtp(seq, size)
        protected = wire.protect(packet)
        assert protected == reference.protect(packet)
        assert len(protected) == len(packet) + 10  # the 80-bit auth tag
        assert receiver.unprotect(protected) == packet
    with pytest.raises(ValueError, match="too long"):  # as Session.protect says it
        wire.protect(_rtp(9, 1357 - 12))


def test_a_new_srtp_session_is_picked_up() -> None:
    first, second = _session(Policy.SSRC_ANY_OUTBOUND), _session(Policy.SSRC_ANY_OUTBOUND)
    dtls = _dtls(first, {})
    wire = Wire(dtls)
    packet = _rtp(1, 100)
    wire.protect(packet)
    dtls._tx_srtp = second
    # Same key, same packet: only a session that has not protected it yet gives this output.
    assert wire.protect(packet) == _session(Policy.SSRC_ANY_OUTBOUND).protect(packet)


async def test_send_now_follows_the_nominated_pair() -> None:
    transport, protocol = await _stun_socket()
    sinks = [_sink(), _sink()]
    nominated: dict[int, Any] = {}
    wire = Wire(_dtls(_session(Policy.SSRC_ANY_OUTBOUND), nominated))
    receiver = _session(Policy.SSRC_ANY_INBOUND)
    try:
        assert not wire.send_now(_rtp(0, 10))  # nothing nominated yet
        for seq, sink in enumerate(sinks, start=1):
            nominated[1] = SimpleNamespace(protocol=protocol, remote_addr=sink.getsockname())
            packet = _rtp(seq, 500)
            assert wire.send_now(packet)
            data, source = sink.recvfrom(2048)
            assert source == transport.get_extra_info("sockname")
            assert receiver.unprotect(data) == packet
        # A relayed (TURN) pair is not a plain socket: the caller takes aiortc's path.
        nominated[1] = SimpleNamespace(protocol=object(), remote_addr=sinks[0].getsockname())
        assert not wire.send_now(_rtp(9, 10))
        assert not wire.congested(0)
    finally:
        transport.close()
        for sink in sinks:
            sink.close()


async def test_a_socket_closed_by_ice_is_reported_as_not_sent() -> None:
    transport, protocol = await _stun_socket()
    sink = _sink()
    wire = Wire(
        _dtls(
            _session(Policy.SSRC_ANY_OUTBOUND),
            {1: SimpleNamespace(protocol=protocol, remote_addr=sink.getsockname())},
        )
    )
    try:
        assert wire.send_now(_rtp(1, 10))
        sink.recvfrom(2048)
        transport.close()
        await asyncio.sleep(0)  # asyncio closes the socket on the next loop turn
        assert not wire.send_now(_rtp(2, 10))  # not sent, and no exception from asyncio
    finally:
        sink.close()
