"""Every private name of aiortc, aioice, pylibsrtp and asyncio that rtc/ touches, in one list.

The forwarding core hooks these packages' internals (rtc.passthrough, rtc.receiving,
rtc.routing, rtc.peer, rtc.downlink). A different version may rename or drop any of them, so:

- ``tests/rtc/test_private_names.py`` reads rtc/'s source and fails on a private attribute of
  another object, or a name-mangled attribute string, that is missing from this list;
- at start-up ``rtc.selftest`` checks that each one still exists in the installed packages and
  refuses to start, naming the one that is gone (:func:`missing`).

A name is found on its owner class (a method or class attribute), or among the attributes its
methods (or a base class's) assign, as ``__init__`` or a setter does. Names owned
by rtc/'s own classes are not listed.
"""

from __future__ import annotations

import dis
import importlib
from typing import NamedTuple


class PrivateName(NamedTuple):
    module: str  # where the owner lives
    owner: str  # the class; "" for a module attribute
    name: str

    def __str__(self) -> str:
        owner = f"{self.owner}." if self.owner else ""
        return f"{self.module}.{owner}{self.name}"


_RECEIVER = ("aiortc.rtcrtpreceiver", "RTCRtpReceiver")
_SENDER = ("aiortc.rtcrtpsender", "RTCRtpSender")
_DTLS = ("aiortc.rtcdtlstransport", "RTCDtlsTransport")
_TRANSCEIVER = ("aiortc.rtcrtptransceiver", "RTCRtpTransceiver")
_ICE_CONNECTION = ("aioice.ice", "Connection")
_SRTP_SESSION = ("pylibsrtp", "Session")

PRIVATE_NAMES: tuple[PrivateName, ...] = (
    # The receiver: packets handed to the core, never decoded (rtc.passthrough, rtc.receiving).
    PrivateName(*_RECEIVER, "_handle_rtp_packet"),
    PrivateName(*_RECEIVER, "_send_rtcp_pli"),
    PrivateName(*_RECEIVER, "_send_rtcp"),
    PrivateName(*_RECEIVER, "_send_rtcp_nack"),
    PrivateName(*_RECEIVER, "_enabled"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__codecs"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__decoder_queue"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__remote_bitrate_estimator"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__nack_generator"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__remote_streams"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__rtx_ssrc"),
    PrivateName(*_RECEIVER, "_RTCRtpReceiver__rtcp_ssrc"),
    PrivateName("aiortc.rtcrtpreceiver", "RemoteStreamTrack", "_queue"),
    # The sender: its RTCP first to the core; its identity and report counters (rtc.peer,
    # rtc.passthrough, rtc.downlink).
    PrivateName(*_SENDER, "_handle_rtcp_packet"),
    PrivateName(*_SENDER, "_stream_id"),
    PrivateName(*_SENDER, "_track_id"),
    PrivateName(*_SENDER, "_ssrc"),
    PrivateName(*_SENDER, "_rtx_ssrc"),
    PrivateName(*_SENDER, "_RTCRtpSender__encoder"),
    PrivateName(*_SENDER, "_RTCRtpSender__ntp_timestamp"),
    PrivateName(*_SENDER, "_RTCRtpSender__rtp_timestamp"),
    PrivateName(*_SENDER, "_RTCRtpSender__packet_count"),
    PrivateName(*_SENDER, "_RTCRtpSender__octet_count"),
    PrivateName(*_SENDER, "_RTCRtpSender__rtt"),
    # The transceiver's negotiated codecs and header extensions (rtc.peer).
    PrivateName(*_TRANSCEIVER, "_codecs"),
    PrivateName(*_TRANSCEIVER, "_headerExtensions"),
    # The DTLS transport: SRTP sessions, state, routing and the inline receive (rtc.passthrough,
    # rtc.receiving, rtc.routing).
    PrivateName(*_DTLS, "_send_rtp"),
    PrivateName(*_DTLS, "_rtp_router"),
    PrivateName(*_DTLS, "_tx_srtp"),
    PrivateName(*_DTLS, "_rx_srtp"),
    PrivateName(*_DTLS, "_state"),
    PrivateName(*_DTLS, "_handle_rtp_data"),
    PrivateName(*_DTLS, "_RTCDtlsTransport__rx_bytes"),
    PrivateName(*_DTLS, "_RTCDtlsTransport__rx_packets"),
    PrivateName("aiortc.rtcicetransport", "RTCIceTransport", "_connection"),
    PrivateName("aiortc.rtcsctptransport", "RTCSctpTransport", "_data_channel_receive"),
    # aioice's connection: the nominated pair, its receive queue, its sockets.
    PrivateName(*_ICE_CONNECTION, "_nominated"),
    PrivateName(*_ICE_CONNECTION, "_queue"),
    PrivateName(*_ICE_CONNECTION, "_protocols"),
    # pylibsrtp: the session's C context and buffer, protected in place (rtc.passthrough).
    PrivateName(*_SRTP_SESSION, "_srtp"),
    PrivateName(*_SRTP_SESSION, "_cdata"),
    PrivateName(*_SRTP_SESSION, "_buffer"),
    PrivateName("pylibsrtp", "", "_binding"),
    # asyncio: a datagram transport's socket (rtc.passthrough sends on it directly).
    PrivateName("asyncio.selector_events", "_SelectorTransport", "_sock"),
    # On Python 3.11, rtc.receiving.run_eagerly takes a future's wait over as a Task would
    # (3.12 and later run the coroutine as a Task(eager_start=True) instead).
    PrivateName("asyncio", "Future", "_asyncio_future_blocking"),
)


def _assigned_in_class(cls: type, name: str) -> bool:
    """Whether a method of ``cls`` (or of a base class) assigns the attribute ``name``, as
    ``__init__`` or a setter does (a method that only reads it does not count)."""
    for klass in cls.__mro__:
        for member in vars(klass).values():
            functions = (member.fget, member.fset) if isinstance(member, property) else (member,)
            for function in functions:
                code = getattr(function, "__code__", None)
                if code is None or name not in code.co_names:
                    continue
                if any(
                    i.opname == "STORE_ATTR" and i.argval == name
                    for i in dis.get_instructions(code)
                ):
                    return True
    return False


def exists(entry: PrivateName) -> bool:
    """Whether ``entry`` is still there in the installed package."""
    try:
        module = importlib.import_module(entry.module)
    except ImportError:
        return False
    if not entry.owner:
        if hasattr(module, entry.name):
            return True
        try:
            importlib.import_module(f"{entry.module}.{entry.name}")
        except ImportError:
            return False
        return True
    cls = getattr(module, entry.owner, None)
    if not isinstance(cls, type):
        return False
    return hasattr(cls, entry.name) or _assigned_in_class(cls, entry.name)


def missing() -> list[PrivateName]:
    """The listed names the installed packages no longer have."""
    return [entry for entry in PRIVATE_NAMES if not exists(entry)]
