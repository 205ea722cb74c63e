"""The VP8 RTP payload descriptor (RFC 7741 section 4.2): read and rewrite its picture ids.

A subscriber that the core moves from one simulcast layer to another must see one continuous
VP8 stream: each layer is its own encoding with its own PictureID and TL0PICIDX counters, and a
decoder that sees them jump takes frames for lost. The forwarder reads both fields once per
packet and, for a leg that has switched layers, writes them back shifted by the leg's offsets.
Only the descriptor's bytes change; the VP8 payload itself is never touched.
"""

from __future__ import annotations

from typing import NamedTuple

PICTURE_ID_7 = 0x7F
PICTURE_ID_15 = 0x7FFF


class Descriptor(NamedTuple):
    """Where the rewritable fields are; ``-1`` for a field the packet does not carry."""

    picture_id: int
    picture_id_at: int
    picture_id_mask: int
    tl0: int
    tl0_at: int


NO_DESCRIPTOR = Descriptor(-1, -1, 0, -1, -1)


def descriptor(payload: bytes) -> Descriptor:
    """The PictureID and TL0PICIDX of a VP8 RTP payload, with their offsets.

    Malformed or truncated descriptors give :data:`NO_DESCRIPTOR` (nothing to rewrite).
    """
    n = len(payload)
    if n < 2 or not payload[0] & 0x80:
        return NO_DESCRIPTOR
    ext = payload[1]
    pos = 2
    picture_id = picture_id_at = tl0 = tl0_at = -1
    mask = 0
    if ext & 0x80:  # I: a picture id follows
        if n <= pos:
            return NO_DESCRIPTOR
        if payload[pos] & 0x80:  # M: 15 bits
            if n <= pos + 1:
                return NO_DESCRIPTOR
            picture_id = ((payload[pos] & 0x7F) << 8) | payload[pos + 1]
            mask = PICTURE_ID_15
            picture_id_at = pos
            pos += 2
        else:
            picture_id = payload[pos]
            mask = PICTURE_ID_7
            picture_id_at = pos
            pos += 1
    if ext & 0x40:  # L: TL0PICIDX follows
        if n <= pos:
            return NO_DESCRIPTOR
        tl0 = payload[pos]
        tl0_at = pos
    return Descriptor(picture_id, picture_id_at, mask, tl0, tl0_at)


def rewrite(payload: bytes, found: Descriptor, picture_id: int, tl0: int) -> bytes:
    """``payload`` with its PictureID and TL0PICIDX replaced (fields it lacks are left out)."""
    data = bytearray(payload)
    at = found.picture_id_at
    if at >= 0:
        if found.picture_id_mask == PICTURE_ID_15:
            data[at] = 0x80 | ((picture_id >> 8) & 0x7F)
            data[at + 1] = picture_id & 0xFF
        else:
            data[at] = picture_id & 0x7F
    if found.tl0_at >= 0:
        data[found.tl0_at] = tl0 & 0xFF
    return bytes(data)


def keyframe_size(payload: bytes) -> tuple[int, int] | None:
    """Width and height from the first packet of a VP8 keyframe (RFC 6386 section 9.1).

    The keyframe's uncompressed header follows the descriptor: a 3-byte frame tag, the start
    code 9d 01 2a, then 14-bit width and height. None when this packet does not start one.
    """
    n = len(payload)
    if n < 1:
        return None
    first = payload[0]
    if not first & 0x10 or first & 0x0F:  # S and partition 0
        return None
    pos = 1
    if first & 0x80:
        if n < 2:
            return None
        ext = payload[1]
        pos = 2
        if ext & 0x80:
            if n <= pos:
                return None
            pos += 2 if payload[pos] & 0x80 else 1
        if ext & 0x40:
            pos += 1
        if ext & 0x30:
            pos += 1
    if n < pos + 10 or payload[pos] & 0x01:  # P: set for inter frames
        return None
    if payload[pos + 3 : pos + 6] != b"\x9d\x01\x2a":
        return None
    width = (payload[pos + 6] | (payload[pos + 7] << 8)) & 0x3FFF
    height = (payload[pos + 8] | (payload[pos + 9] << 8)) & 0x3FFF
    return width, height
