"""Which receiver an incoming RTP packet belongs to, when aiortc's router cannot tell.

aiortc's ``RtpRouter.route_rtp`` knows a packet by its SSRC (from ``a=ssrc`` lines), or else by a
payload type that exactly one receiver negotiated. A browser's simulcast layers announce no
SSRC, and its camera and screen m-lines share payload types (VP8 is 96 on both), so aiortc
drops every simulcast packet. BUNDLE's own answer (RFC 8843 section 9.2) is the MID header
extension, which Chromium puts on each SSRC's packets until our receiver reports acknowledge it:
:class:`MidRouting` routes by it and remembers the SSRC, as aiortc does for a payload-type match.
Installed per transport instance (no module-level patching).
"""

from __future__ import annotations

from typing import Any


class MidRouting:
    """Stands in for one transport's ``RtpRouter.route_rtp``."""

    __slots__ = ("_original", "_router")

    def __init__(self, router: Any) -> None:
        self._router = router
        self._original = router.route_rtp
        router.route_rtp = self

    def __call__(self, packet: Any) -> Any:
        router = self._router
        pt_receivers = router.payload_type_table.get(packet.payload_type, ())
        receiver = router.ssrc_table.get(packet.ssrc)
        if receiver is not None and receiver in pt_receivers:
            return receiver
        mid = packet.extensions.mid
        if mid is not None:
            receiver = router.mid_table.get(mid)
            if receiver is not None and receiver in pt_receivers:
                router.ssrc_table[packet.ssrc] = receiver
                return receiver
        return self._original(packet)


def install_mid_routing(dtls: Any) -> MidRouting:
    """Route ``dtls``'s RTP by MID as well (once per transport)."""
    router = dtls._rtp_router
    current = router.route_rtp
    if isinstance(current, MidRouting):
        return current
    return MidRouting(router)
