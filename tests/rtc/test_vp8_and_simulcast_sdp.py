"""The VP8 descriptor's picture ids, and simulcast in SDP, at every edge a browser can send."""

from __future__ import annotations

import pytest

from rtc.simulcast import MAX_LAYERS, add_simulcast_lines, parse_offer
from rtc.vp8 import NO_DESCRIPTOR, PICTURE_ID_7, PICTURE_ID_15, descriptor, keyframe_size, rewrite


def _vp8(
    picture_id: int | None, tl0: int | None, *, long_id: bool = True, tid: bool = True
) -> bytes:
    ext = (0x80 if picture_id is not None else 0) | (0x40 if tl0 is not None else 0)
    ext |= 0x20 if tid else 0
    out = bytearray([0x90, ext])
    if picture_id is not None:
        out += (
            bytes([0x80 | (picture_id >> 8), picture_id & 0xFF]) if long_id else bytes([picture_id])
        )
    if tl0 is not None:
        out.append(tl0)
    if tid:
        out.append(0x40)
    return bytes(out) + b"\x00payload"


def test_descriptor_reads_15_and_7_bit_picture_ids_and_tl0() -> None:
    found = descriptor(_vp8(0x1234, 77))
    assert (found.picture_id, found.picture_id_mask, found.tl0) == (0x1234, PICTURE_ID_15, 77)
    short = descriptor(_vp8(100, None, long_id=False))
    assert (short.picture_id, short.picture_id_mask, short.tl0) == (100, PICTURE_ID_7, -1)


def test_descriptor_at_every_truncation_points_inside_the_packet() -> None:
    full = _vp8(0x1234, 77)
    for cut in range(len(full) + 1):
        part = full[:cut]
        found = descriptor(part)
        width = 2 if found.picture_id_mask == PICTURE_ID_15 else 1
        assert found.picture_id_at + width <= len(part) or found.picture_id_at == -1
        assert found.tl0_at < len(part)
        assert len(rewrite(part, found, 5, 6)) == len(part)
    assert (descriptor(full[:5]).picture_id, descriptor(full[:5]).tl0) == (0x1234, 77)
    assert descriptor(full[:4]) == NO_DESCRIPTOR  # the TL0PICIDX it announces is cut off
    assert descriptor(b"\x10\x00") == NO_DESCRIPTOR  # no X bit: nothing to rewrite
    assert descriptor(b"") == NO_DESCRIPTOR


def test_rewrite_changes_only_the_ids() -> None:
    payload = _vp8(0x1234, 77)
    out = rewrite(payload, descriptor(payload), 0x7FFF, 255)
    again = descriptor(out)
    assert (again.picture_id, again.tl0) == (0x7FFF, 255)
    assert out[: again.picture_id_at] == payload[: again.picture_id_at]
    assert out[again.tl0_at + 1 :] == payload[again.tl0_at + 1 :]


def test_keyframe_size_from_the_uncompressed_header() -> None:
    # descriptor (X, I with 15-bit id), then frame tag (keyframe: P bit clear), start code,
    # width 960 and height 540 (14 bits each, little-endian).
    payload = bytes([0x90, 0x80, 0x81, 0x02, 0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A])
    payload += (960).to_bytes(2, "little") + (540).to_bytes(2, "little") + b"rest"
    assert keyframe_size(payload) == (960, 540)
    inter = bytearray(payload)
    inter[4] |= 0x01
    assert keyframe_size(bytes(inter)) is None
    assert keyframe_size(payload[:12]) is None


CHROMIUM_VIDEO = """m=video 9 UDP/TLS/RTP/SAVPF 96 97
a=mid:1
a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id
a=sendrecv
a=rtpmap:96 VP8/90000
{rids}
"""


def _offer(rid_lines: str) -> str:
    return "v=0\r\n" + CHROMIUM_VIDEO.format(rids=rid_lines).replace("\n", "\r\n")


def test_chromium_simulcast_offer() -> None:
    offer = _offer("a=rid:q send\na=rid:h send\na=rid:f send\na=simulcast:send q;h;f")
    assert parse_offer(offer)["1"].rids == ("q", "h", "f")


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("a=rid:q send\na=rid:h send\na=simulcast:send q;h;x", ("q", "h")),  # x not declared
        ("a=rid:q send\na=rid:h recv\na=simulcast:send q;h", None),  # h is not a send rid
        ("a=rid:q send\na=rid:h send\na=simulcast:send q;~h", ("q", "h")),  # h paused for now
        ("a=rid:a send\na=rid:b send\na=simulcast:send a,b;b", ("a", "b")),  # alternatives
        ("a=rid:q send\na=rid:h send\na=simulcast:recv q;h", None),  # wrong direction
        ("a=rid:q send\na=rid:q send\na=simulcast:send q;q", None),  # one distinct layer
        ("a=rid:" + "x" * 17 + " send\na=rid:h send\na=simulcast:send " + "x" * 17 + ";h", None),
        ("a=rid:q;drop send\na=rid:h send\na=simulcast:send q;h", None),  # bad id
    ],
)
def test_unusual_or_bad_simulcast_offers(lines: str, expected: tuple[str, ...] | None) -> None:
    found = parse_offer(_offer(lines))
    assert (found["1"].rids if "1" in found else None) == expected


def test_too_many_layers_are_cut_to_the_first_three() -> None:
    rids = [f"r{i}" for i in range(6)]
    lines = "\n".join(f"a=rid:{r} send" for r in rids) + "\na=simulcast:send " + ";".join(rids)
    assert parse_offer(_offer(lines))["1"].rids == tuple(rids[:MAX_LAYERS])


def test_lines_go_into_the_matching_section_only() -> None:
    offer = _offer("a=rid:q send\na=rid:h send\na=simulcast:send q;h")
    answer = (
        "v=0\r\nm=audio 9 UDP 111\r\na=mid:0\r\nm=video 9 UDP 96\r\na=mid:1\r\na=recvonly\r\n"
        "m=video 9 UDP 96\r\na=mid:2\r\n"
    )
    out = add_simulcast_lines(answer, parse_offer(offer))
    sections = out.split("m=")
    assert "a=simulcast:recv q;h" in sections[2]
    assert "a=rid:q recv" in sections[2]
    assert "a=rid:h recv" in sections[2]
    assert "rid" not in sections[1]
    assert "rid" not in sections[3]
