"""Keep payload types and header extension ids stable across server-made re-offers.

aiortc's createOffer() resets every transceiver to its own numbering (Opus 96, VP8 97, mid
extension id 1, ...), including m-lines a browser negotiated earlier with its own numbering
(Chrome: Opus 111, VP8 96, audio-level id 1). Browsers reject re-offers that reassign extension
ids, and within a BUNDLE group a payload type must mean one codec. aiortc's already started
receivers also keep the payload types of their first negotiation, so a renumbered publisher
would silently stop being received. :func:`keep_numbering` rewrites an aiortc offer so that
existing m-lines keep what was negotiated, and new m-lines reuse the session's numbers.
"""

from __future__ import annotations

import copy
from typing import Any

from aiortc import sdp

_DYNAMIC_PAYLOAD_TYPES = range(96, 128)
_EXTENSION_IDS = range(1, 15)


def _codec_key(codec: Any, remap: dict[int, int]) -> tuple[Any, ...]:
    name = codec.mimeType.lower()
    if name.endswith("/rtx"):
        apt = codec.parameters.get("apt")
        if isinstance(apt, int):
            apt = remap.get(apt, apt)
        return ("rtx", codec.clockRate, apt)
    params = tuple(sorted((str(k), str(v)) for k, v in codec.parameters.items()))
    return (name, codec.clockRate, codec.channels, params)


def keep_numbering(offer_sdp: str, previous_sdp: str | None) -> str:
    """Return ``offer_sdp`` with the numbering of ``previous_sdp`` (the current local SDP)."""
    if previous_sdp is None:
        return offer_sdp
    offer = sdp.SessionDescription.parse(offer_sdp)
    previous = sdp.SessionDescription.parse(previous_sdp)
    previous_by_mid = {
        m.rtp.muxId: m for m in previous.media if m.kind in ("audio", "video") and m.rtp.muxId
    }
    key_to_pt: dict[tuple[Any, ...], int] = {}
    used_pts: set[int] = set()
    uri_to_id: dict[str, int] = {}
    used_ids: set[int] = set()

    def remember(media: Any) -> None:
        for codec in media.rtp.codecs:
            key_to_pt.setdefault(_codec_key(codec, {}), codec.payloadType)
            used_pts.add(codec.payloadType)
        for ext in media.rtp.headerExtensions:
            uri_to_id.setdefault(ext.uri, ext.id)
            used_ids.add(ext.id)

    fresh: list[Any] = []
    for media in offer.media:
        if media.kind not in ("audio", "video"):
            continue
        old = previous_by_mid.get(media.rtp.muxId)
        if old is None:
            fresh.append(media)
            continue
        media.rtp.codecs = copy.deepcopy(old.rtp.codecs)
        media.rtp.headerExtensions = copy.deepcopy(old.rtp.headerExtensions)
        media.fmt = [c.payloadType for c in media.rtp.codecs]
        remember(media)

    for media in fresh:
        remap: dict[int, int] = {}
        codecs = sorted(media.rtp.codecs, key=lambda c: c.mimeType.lower().endswith("/rtx"))
        for codec in codecs:
            key = _codec_key(codec, remap)
            pt = key_to_pt.get(key)
            if pt is None:
                pt = int(codec.payloadType)
                if pt in used_pts:
                    pt = next(p for p in _DYNAMIC_PAYLOAD_TYPES if p not in used_pts)
                key_to_pt[key] = pt
                used_pts.add(pt)
            remap[int(codec.payloadType)] = pt
        for codec in media.rtp.codecs:
            apt = codec.parameters.get("apt")
            if codec.mimeType.lower().endswith("/rtx") and isinstance(apt, int):
                codec.parameters["apt"] = remap.get(apt, apt)
            codec.payloadType = remap[int(codec.payloadType)]
        media.fmt = [c.payloadType for c in media.rtp.codecs]
        for ext in media.rtp.headerExtensions:
            ext_id = uri_to_id.get(ext.uri)
            if ext_id is None:
                ext_id = ext.id
                if ext_id in used_ids:
                    ext_id = next(i for i in _EXTENSION_IDS if i not in used_ids)
                uri_to_id[ext.uri] = ext_id
                used_ids.add(ext_id)
            ext.id = ext_id
    return str(offer)
