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

from collections.abc import Awaitable, Callable
from typing import Any

from aiortc.codecs import is_rtx
from aiortc.rtcrtpreceiver import StreamStatistics
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, pack_remb_fci, unwrap_rtx

RtpHandler = Callable[[Any, int], Awaitable[None]]

# aiortc 1.16 RTCRtpReceiver attributes, set once in __init__ (values read per packet).
RECEIVER_CODECS = "_RTCRtpReceiver__codecs"
RECEIVER_ESTIMATOR = "_RTCRtpReceiver__remote_bitrate_estimator"
RECEIVER_NACK_GENERATOR = "_RTCRtpReceiver__nack_generator"
RECEIVER_REMOTE_STREAMS = "_RTCRtpReceiver__remote_streams"
RECEIVER_RTX_SSRC = "_RTCRtpReceiver__rtx_ssrc"
RECEIVER_RTCP_SSRC = "_RTCRtpReceiver__rtcp_ssrc"

# (class, attribute) pairs for rtc.selftest.
PRIVATE_NAMES: tuple[tuple[str, str], ...] = (
    ("RTCRtpReceiver", "_enabled"),
    ("RTCRtpReceiver", "_send_rtcp"),
    ("RTCRtpReceiver", "_send_rtcp_nack"),
    ("RTCRtpReceiver", RECEIVER_CODECS),
    ("RTCRtpReceiver", RECEIVER_ESTIMATOR),
    ("RTCRtpReceiver", RECEIVER_NACK_GENERATOR),
    ("RTCRtpReceiver", RECEIVER_REMOTE_STREAMS),
    ("RTCRtpReceiver", RECEIVER_RTX_SSRC),
    ("RTCRtpReceiver", RECEIVER_RTCP_SSRC),
)


def _attribute(receiver: Any, name: str) -> Any:
    try:
        return getattr(receiver, name)
    except AttributeError:
        raise RuntimeError(f"aiortc RTCRtpReceiver has no {name} attribute") from None


class ReceiveHandler:
    """Stands in for one receiver's ``_handle_rtp_packet``."""

    __slots__ = ("_codecs", "_estimator", "_nack", "_on_rtp", "_receiver", "_rtx_ssrc", "_streams")

    def __init__(self, receiver: Any, on_rtp: RtpHandler) -> None:
        self._receiver = receiver
        self._on_rtp = on_rtp
        # The dicts are filled in place by receive(); the objects are never replaced.
        self._codecs: dict[int, Any] = _attribute(receiver, RECEIVER_CODECS)
        self._streams: dict[int, Any] = _attribute(receiver, RECEIVER_REMOTE_STREAMS)
        self._rtx_ssrc: dict[int, int] = _attribute(receiver, RECEIVER_RTX_SSRC)
        self._estimator: Any = _attribute(receiver, RECEIVER_ESTIMATOR)  # None for audio
        self._nack: Any = _attribute(receiver, RECEIVER_NACK_GENERATOR)  # None for audio
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
                    await receiver._send_rtcp(
                        RtcpPsfbPacket(
                            fmt=RTCP_PSFB_APP,
                            ssrc=rtcp_ssrc,
                            media_ssrc=0,
                            fci=pack_remb_fci(*remb),
                        )
                    )
        codec = self._codecs.get(packet.payload_type)
        if codec is None:
            return
        stream = self._streams.get(packet.ssrc)
        if stream is None:
            stream = self._streams[packet.ssrc] = StreamStatistics(codec.clockRate)
        stream.add(packet)
        nack = self._nack
        if nack is None:
            return
        if is_rtx(codec):
            original_ssrc = self._rtx_ssrc.get(packet.ssrc)
            apt = codec.parameters.get("apt")
            if original_ssrc is None or len(packet.payload) < 2 or apt not in self._codecs:
                return
            packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)
        if nack.add(packet):
            await receiver._send_rtcp_nack(packet.ssrc, sorted(nack.missing))
