"""Simulcast in SDP (RFC 8851 ``a=rid``, RFC 8853 ``a=simulcast``), which aiortc does not know.

A browser that sends a camera as several encodings offers, in that video m-section::

    a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
    a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id
    a=rid:q send
    a=rid:h send
    a=rid:f send
    a=simulcast:send q;h;f

and no ``a=ssrc`` lines for them: each layer is told apart by the RID header extension on its
first packets (Chromium stops sending it once our receiver reports acknowledge the SSRC). aiortc's
parser ignores the ``rid`` and ``simulcast`` lines and its answer would drop both extensions, so
the browser would send one layer. This module reads the offer's layers, lets the peer keep the
two extensions on the transceiver, and writes ``a=rid:X recv`` and ``a=simulcast:recv`` into the
answer, so the browser sends every layer it offered (up to :data:`MAX_LAYERS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rtc.sdplines import sections

RTP_STREAM_ID_URI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
REPAIRED_RTP_STREAM_ID_URI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
SIMULCAST_EXTENSIONS = (RTP_STREAM_ID_URI, REPAIRED_RTP_STREAM_ID_URI)

# Three layers (quarter, half and full resolution) cover a 360p camera down to a thumbnail;
# more would only multiply the packets the core reads (each layer is a full encoding).
MAX_LAYERS = 3
# RFC 8851 allows long ids; ours are one letter and the header extension carries them on
# every early packet, so a short bound costs browsers nothing.
MAX_RID_LENGTH = 16
_RID = re.compile(rf"^[A-Za-z0-9_-]{{1,{MAX_RID_LENGTH}}}$")


@dataclass(frozen=True)
class SimulcastOffer:
    """The layers a browser offered to send on one m-section, lowest first as it listed them."""

    mid: str
    rids: tuple[str, ...]


def _value(line: str, attribute: str) -> str | None:
    prefix = f"a={attribute}:"
    return line[len(prefix) :].strip() if line.startswith(prefix) else None


def parse_offer(sdp: str) -> dict[str, SimulcastOffer]:
    """Every video m-section that offers simulcast send, by mid.

    Only RIDs that are both declared (``a=rid:X send``) and listed in ``a=simulcast:send`` are
    kept, in the list's order; alternatives (``a,b``) count as their first choice, malformed ids
    are left out, and at most :data:`MAX_LAYERS` are taken. Paused ones (``~x``: Chromium marks
    so an encoding set inactive before the offer) are layers too: the browser may start them
    later without a new offer. A section with fewer than two layers is ordinary video.
    """
    found: dict[str, SimulcastOffer] = {}
    for section in sections(sdp)[1:]:
        if not section[0].startswith("m=video"):
            continue
        mid = None
        declared: set[str] = set()
        listed: list[str] = []
        for line in section:
            mid = _value(line, "mid") or mid
            rid = _value(line, "rid")
            if rid is not None:
                parts = rid.split()
                if len(parts) >= 2 and parts[1] == "send" and _RID.match(parts[0]):
                    declared.add(parts[0])
            simulcast = _value(line, "simulcast")
            if simulcast is not None:
                listed = _send_list(simulcast)
        rids: list[str] = []
        for rid in listed:
            if rid in declared and rid not in rids:
                rids.append(rid)
        if mid is not None and len(rids) >= 2:
            found[mid] = SimulcastOffer(mid=mid, rids=tuple(rids[:MAX_LAYERS]))
    return found


def _send_list(value: str) -> list[str]:
    """The ``send`` stream list of an ``a=simulcast`` value (RFC 8853 section 5.1)."""
    words = value.split()
    for direction, streams in zip(words[::2], words[1::2], strict=False):
        if direction != "send":
            continue
        chosen = []
        for alternatives in streams.split(";"):
            first = alternatives.split(",")[0].removeprefix("~")
            if first:
                chosen.append(first)
        return chosen
    return []


def answer_lines(offer: SimulcastOffer) -> list[str]:
    """What our descriptions say back in that m-section: we receive each accepted layer."""
    return [f"a=rid:{rid} recv" for rid in offer.rids] + [
        "a=simulcast:recv " + ";".join(offer.rids)
    ]


def add_simulcast_lines(sdp: str, offers: dict[str, SimulcastOffer]) -> str:
    """``sdp`` (our answer, or a later offer of ours) with each simulcast m-section's ``rid``
    and ``simulcast`` lines added. Chromium keeps sending its layers only while every
    description it gets says so: a re-offer without them cuts it to one encoding."""
    if not offers:
        return sdp
    out: list[str] = []
    for section in sections(sdp):
        out.extend(section)
        if not section or not section[0].startswith("m=video"):
            continue
        mid = next((v for v in (_value(line, "mid") for line in section) if v), None)
        offer = offers.get(mid) if mid is not None else None
        if offer is not None and not any(line.startswith("a=inactive") for line in section):
            out.extend(answer_lines(offer))
    return "\r\n".join(out) + "\r\n"
