"""Simulcast layers in the forwarder: one layer per leg, switches at keyframes, and the
subscriber's stream continuous across them (sequence numbers, timestamps, VP8 picture ids),
through a sequence-number wrap and the publisher's retransmissions."""

from __future__ import annotations

import itertools
import random
import time
from typing import Any, cast

from aiortc.rtcrtpparameters import RTCRtpCodecParameters
from aiortc.rtp import RtpPacket, wrap_rtx

from rtc.counters import Counters
from rtc.forwarder import KEYFRAME_WAIT_S, Leg, LegParams, Source
from rtc.layers import WIRE_OVERHEAD_BYTES
from rtc.vp8 import descriptor

VP8 = RTCRtpCodecParameters(mimeType="video/VP8", clockRate=90000, payloadType=96)
RTX = RTCRtpCodecParameters(
    mimeType="video/rtx", clockRate=90000, payloadType=97, parameters={"apt": 96}
)
RIDS = ("q", "h", "f")
SSRC = {"q": 1001, "h": 1002, "f": 1003}
RTX_SSRC = {"q": 2001, "h": 2002, "f": 2003}
# Each layer has its own sequence, timestamp and picture-id spaces (h's sequence wraps soon).
SEQ0 = {"q": 100, "h": 65530, "f": 30000}
TS0 = {"q": 5_000, "h": 4_000_000_000, "f": 77}
PID0 = {"q": 10, "h": 32760, "f": 2000}


class Wire:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def congested(self, limit: int) -> bool:
        return False

    def send_now(self, data: bytes) -> bool:
        self.sent.append(data)
        return True

    async def send(self, data: bytes) -> bool:
        return self.send_now(data)


class Sender:
    pass


def vp8_payload(rid: str, picture_id: int, tl0: int, keyframe: bool, start: bool) -> bytes:
    first = 0x90 if start else 0x80
    header = bytes([first, 0xE0, 0x80 | (picture_id >> 8), picture_id & 0xFF, tl0, 0x40])
    return header + bytes([0x00 if keyframe else 0x01]) + b"vp8-data " * 10 + rid.encode()


class Publisher:
    """Three layers of synthetic VP8: two packets per frame, 3000 ticks apart."""

    def __init__(self) -> None:
        self.frame = {rid: 0 for rid in RIDS}
        self.seq = dict(SEQ0)
        self.sent: dict[int, tuple[str, RtpPacket]] = {}

    def frame_packets(self, rid: str, keyframe: bool = False) -> list[RtpPacket]:
        n = self.frame[rid]
        self.frame[rid] += 1
        packets = []
        for part in range(2):
            packet = RtpPacket(
                payload_type=96,
                sequence_number=self.seq[rid],
                timestamp=(TS0[rid] + 3000 * n) & 0xFFFFFFFF,
                marker=part == 1,
            )
            packet.ssrc = SSRC[rid]
            packet.extensions.rtp_stream_id = rid
            packet.payload = vp8_payload(
                rid,
                (PID0[rid] + n) & 0x7FFF,
                (11 * RIDS.index(rid) + n) & 0xFF,
                keyframe,
                part == 0,
            )
            self.sent[self.seq[rid]] = (rid, packet)
            self.seq[rid] = (self.seq[rid] + 1) & 0xFFFF
            packets.append(packet)
        return packets


def parse(data: bytes) -> RtpPacket:
    return RtpPacket.parse(data)


async def feed(source: Source, packets: list[RtpPacket]) -> None:
    for packet in packets:
        await source.on_rtp(packet, 0)


def make(counters: Counters) -> tuple[Source, Leg, Wire]:
    async def pli(ssrc: int) -> None:
        return None

    source = Source("video", [VP8, RTX], counters, pli, rids=RIDS)
    wire = Wire()
    params = LegParams(96, None, 0xABC, 0xDEF, "3", None, None)
    sender: Any = Sender()
    leg = Leg("viewer", "video", sender, wire, params)  # type: ignore[arg-type]
    return source, leg, wire


async def test_one_layer_at_a_time_and_continuous_across_switches() -> None:
    counters = Counters()
    source, leg, wire = make(counters)
    publisher = Publisher()
    for rid in RIDS:  # every layer starts with a keyframe, so all are known and active
        await feed(source, publisher.frame_packets(rid, keyframe=True))
    source.add_leg(leg)
    assert leg.target is source.layers[0]

    async def round_of_frames(keyframe_on: str | None = None) -> None:
        for rid in RIDS:
            await feed(source, publisher.frame_packets(rid, keyframe=rid == keyframe_on))

    await round_of_frames("q")  # the leg starts on q at its keyframe
    for _ in range(3):
        await round_of_frames()
    switches = [("h", 3), ("f", 2), ("q", 4), ("h", 3)]
    for rid, frames_after in switches:
        index = RIDS.index(rid)
        source.set_target(leg, index, 0.0)
        await round_of_frames()  # no keyframe yet: still the old layer
        await round_of_frames(keyframe_on=rid)
        assert leg.layer is source.layers[index]
        for _ in range(frames_after):
            await round_of_frames()

    packets = [parse(data) for data in wire.sent]
    sequences = [p.sequence_number for p in packets]
    assert all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(sequences))
    timestamps = [p.timestamp for p in packets]
    steps = [(b - a) & 0xFFFFFFFF for a, b in itertools.pairwise(timestamps)]
    assert all(0 <= step < 0x80000000 for step in steps), "timestamps never go back"
    pictures = [descriptor(p.payload) for p in packets]
    picture_ids = [d.picture_id for d in pictures[::2]]  # two packets per frame
    assert all((b - a) & 0x7FFF == 1 for a, b in itertools.pairwise(picture_ids))
    tl0s = [d.tl0 for d in pictures[::2]]
    assert all((b - a) & 0xFF == 1 for a, b in itertools.pairwise(tl0s))
    assert counters.layer_switches == len(switches)
    # Every packet came from exactly one layer, in runs that change only at a keyframe.
    origin = [chr(p.payload[-1]) for p in packets]
    for i in range(1, len(origin)):
        if origin[i] != origin[i - 1]:
            assert packets[i].payload[6] == 0x00, "a switch starts on a keyframe"


async def test_sequence_wrap_and_a_retransmission_from_the_publisher() -> None:
    counters = Counters()
    source, leg, wire = make(counters)
    publisher = Publisher()
    for rid in RIDS:
        await feed(source, publisher.frame_packets(rid, keyframe=True))
    source.add_leg(leg)
    source.set_target(leg, RIDS.index("h"), 0.0)
    await feed(source, publisher.frame_packets("h", keyframe=True))  # seq 65532, 65533
    late = publisher.frame_packets("h")  # 65534, 65535
    await feed(source, late[1:])  # 65534 is lost on the way
    wrapped = publisher.frame_packets("h")  # 0, 1: the publisher's sequence wraps
    await feed(source, wrapped)
    # The publisher resends 65534 over RTX, with the repaired-rtp-stream-id of h.
    rtx = wrap_rtx(late[0], payload_type=97, sequence_number=9, ssrc=RTX_SSRC["h"])
    rtx.extensions.repaired_rtp_stream_id = "h"
    await source.on_rtp(rtx, 0)
    out = [parse(data) for data in wire.sent]
    by_seq = {p.sequence_number: p for p in out}
    first = out[0].sequence_number
    assert sorted(by_seq) == sorted((first + i) & 0xFFFF for i in range(6))
    resent = by_seq[(first + 2) & 0xFFFF]
    assert resent.payload == late[0].payload
    assert source.media_ssrc_for_rtx(RTX_SSRC["h"]) == SSRC["h"]


async def test_unknown_rids_are_dropped_and_the_others_go_on() -> None:
    counters = Counters()
    source, leg, wire = make(counters)
    publisher = Publisher()
    await feed(source, publisher.frame_packets("q", keyframe=True))
    source.add_leg(leg)
    await feed(source, publisher.frame_packets("q", keyframe=True))
    stranger = publisher.frame_packets("q", keyframe=True)
    for packet in stranger:
        packet.ssrc = 4242
        packet.extensions.rtp_stream_id = "zz"
    nameless = publisher.frame_packets("q")
    for packet in nameless:
        packet.ssrc = 4343
        packet.extensions.rtp_stream_id = None
    sent = len(wire.sent)
    await feed(source, stranger + nameless)
    assert len(wire.sent) == sent
    assert counters.packets_unknown_layer == 4
    await feed(source, publisher.frame_packets("q"))
    assert len(wire.sent) == sent + 2


async def test_a_layer_without_keyframes_is_set_aside() -> None:
    """A browser that never sends a keyframe on a layer (or stopped it) must not leave the
    subscriber without video: after KEYFRAME_WAIT_S the switch is called off."""
    counters = Counters()
    source, leg, _wire = make(counters)
    publisher = Publisher()
    for rid in RIDS:
        await feed(source, publisher.frame_packets(rid, keyframe=rid != "f"))
    source.add_leg(leg, now=0.0)
    await feed(source, publisher.frame_packets("q", keyframe=True))
    assert leg.layer is source.layers[0]
    source.set_target(leg, 2, now=100.0)
    for rid in RIDS:
        await feed(source, publisher.frame_packets(rid))
    source.measure(100.0 + KEYFRAME_WAIT_S + 0.1)
    assert leg.target is source.layers[0]
    assert leg not in source.layers[2].pending
    assert counters.layers_without_keyframe == 1
    assert source.suspect_until[2] > 100.0 + KEYFRAME_WAIT_S
    later = 100.0 + KEYFRAME_WAIT_S + 0.2
    assert source.layers[2] not in source.usable_layers(later)
    # A leg already on a set-aside layer keeps it open (staying needs no keyframe).
    assert source.layers[2] in source.usable_layers(later, keeping=2)


async def test_a_leg_never_receives_two_layers_whatever_the_order_of_events() -> None:
    """Random targets, pauses, keyframes and losses: at every step each leg is in at most one
    layer's forwarding list and one layer's waiting list, and every packet it was sent came
    from its one current layer."""
    counters = Counters()
    source, first, _wire = make(counters)
    legs = [first]
    for n in range(3):
        params = LegParams(96, None, 0x100 + n, 0x200 + n, str(n), None, None)
        sender: Any = Sender()
        legs.append(Leg(f"v{n}", "video", sender, Wire(), params))  # type: ignore[arg-type]
    publisher = Publisher()
    for rid in RIDS:
        await feed(source, publisher.frame_packets(rid, keyframe=True))
    for leg in legs:
        source.add_leg(leg)
    rng = random.Random(7)
    for _ in range(400):
        action = rng.random()
        leg = rng.choice(legs)
        if action < 0.2:
            source.set_target(leg, rng.choice([None, 0, 1, 2]), 0.0, at_once=rng.random() < 0.3)
        elif action < 0.25:
            source.set_paused(leg.subscriber_id, not leg.paused)
        else:
            rid = rng.choice(RIDS)
            packets = publisher.frame_packets(rid, keyframe=rng.random() < 0.2)
            if rng.random() < 0.05:
                packets = packets[1:]  # lost on the publisher's uplink
            sent = [len(cast(Wire, x.wire).sent) for x in legs]
            await feed(source, packets)
            for x, before in zip(legs, sent, strict=True):
                new = cast(Wire, x.wire).sent[before:]
                if new:
                    assert x.layer is not None
                    assert x.layer.rid == rid, "a leg got packets of a layer not its own"
        for x in legs:
            forwarding = [layer for layer in source.layers if x in layer.legs]
            waiting = [layer for layer in source.layers if x in layer.pending]
            assert len(forwarding) <= 1
            assert len(waiting) <= 1
            assert forwarding == ([x.layer] if x.layer is not None else [])


async def test_a_layers_rate_leaves_out_its_keyframes() -> None:
    """Keyframes asked for again and again (a weak member that keeps losing them) are bursts:
    the rate the allocation shares out is that of the delta frames."""
    source, _leg, _wire = make(Counters())
    publisher = Publisher()
    layer = source.layers[0]
    start = time.monotonic()
    await feed(source, publisher.frame_packets("q", keyframe=True))
    layer.measure(start)
    delta_bytes = 0
    for n in range(30):
        keyframe = n % 3 == 0  # a keyframe every third frame: far more bytes than the rest
        packets = publisher.frame_packets("q", keyframe=keyframe)
        if keyframe:
            for packet in packets:
                packet.payload += bytes(800)
        else:
            delta_bytes += sum(len(p.payload) + WIRE_OVERHEAD_BYTES for p in packets)
        await feed(source, packets)
    assert layer.measure(start + 1.0) == delta_bytes * 8
