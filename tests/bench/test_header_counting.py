"""The load benches' frame counter (bench/header_counting.py) counts only whole frames: what
bench/school.py reports as held depends on it."""

from __future__ import annotations

from bench.header_counting import HeaderCounter, _Stream

RECEIVER = "receiver"


def packet(seq: int, timestamp: int, start: bool, marker: bool, extension: bool = False) -> bytes:
    first = 0x80 | (0x10 if extension else 0)
    header = bytes([first, (0x80 if marker else 0) | 96])
    header += (seq & 0xFFFF).to_bytes(2, "big") + timestamp.to_bytes(4, "big")
    header += (1234).to_bytes(4, "big")
    if extension:  # one-byte header extensions (RFC 8285), one word: mid "1" and padding
        header += bytes([0xBE, 0xDE, 0, 1, 0x10, ord("1"), 0, 0])
    return header + bytes([0x10 if start else 0x00]) + b"vp8 payload"


def frame(seq: int, timestamp: int, packets: int, **kwargs: bool) -> list[bytes]:
    return [
        packet(seq + i, timestamp, start=i == 0, marker=i == packets - 1, **kwargs)
        for i in range(packets)
    ]


def counted(packets: list[bytes], first_seq: int) -> tuple[int, int]:
    counter = HeaderCounter()
    stream = _Stream(RECEIVER, True, first_seq)
    for data in packets:
        counter._count(stream, data)
    return counter.frames[RECEIVER], counter.broken[RECEIVER]


def test_whole_frames_are_counted_across_the_sequence_wrap() -> None:
    packets = frame(65533, 0, 2) + frame(65535, 3000, 3, extension=True) + frame(2, 6000, 1)
    assert counted(packets, 65533) == (3, 0)


def test_a_frame_with_a_lost_packet_is_not_counted() -> None:
    middle = frame(12, 3000, 3)
    packets = [*frame(10, 0, 2), middle[0], middle[2], *frame(15, 6000, 2)]
    assert counted(packets, 10) == (2, 1)


def test_a_frame_whose_first_packet_is_lost_is_not_counted() -> None:
    second = frame(12, 3000, 2)
    packets = frame(10, 0, 2) + second[1:] + frame(14, 6000, 2)
    assert counted(packets, 10) == (2, 1)


def test_repeated_and_late_packets_count_nothing() -> None:
    one, two = frame(10, 0, 2), frame(12, 3000, 2)
    packets = [*one, one[1], *two, one[0], two[1]]
    assert counted(packets, 10) == (2, 0)


def test_receiver_reports_give_the_loss_from_the_numbering() -> None:
    counter = HeaderCounter()
    stream = _Stream(RECEIVER, True, 100)
    counter._streams[1234] = stream
    for data in frame(100, 0, 4) + frame(106, 3000, 4):  # 104 and 105 never came
        counter._count(stream, data)
    (report,) = counter._reports()
    assert report.packets_lost == 2
    assert report.highest_sequence == 109
    assert report.fraction_lost == (2 << 8) // 10
    (again,) = counter._reports()  # nothing new since: no loss in this interval
    assert again.fraction_lost == 0
