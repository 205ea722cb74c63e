"""Where the server's CPU goes, from py-spy's collapsed stacks (issue 15's breakdown).

    BENCH_SPY=/tmp/spy python -m bench.forwarding --modes core --ks 1,4 --window 30
    python -m bench.profile_breakdown /tmp/spy.core.k1.txt /tmp/spy.core.k4.txt

Each sample is put in the part of the path its innermost recognised frame belongs to (the
leaf first, then outwards): a sample inside pylibsrtp called from the inline receive counts as
"SRTP unprotect", one in asyncio's loop code called from nowhere of ours as "event loop". py-spy
samples only threads on a CPU, so the shares are of the CPU the process used.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROUTING_FILES = (
    r"rtc/(forwarder|routing|layers|simulcast|downlink|allocation|pacer|keyframes|bandwidth|room)"
    r"\.py"
)
# (part, file pattern, function pattern); the first rule a frame matches names its part.
RULES: tuple[tuple[str, str, str], ...] = (
    ("send: sendto (kernel, loopback wakes the subscriber)", r"rtc/passthrough\.py", r"send_now"),
    ("send: SRTP protect", r"rtc/passthrough\.py", r"protect"),
    # InlineReceive.__call__ (py-spy names functions, not classes: by its lines, 200-299)
    ("receive: SRTP unprotect and dispatch", r"rtc/receiving\.py", r"__call__ \(.*:2\d\d\)"),
    ("receive: RTP parse (aiortc)", r"aiortc/rtp\.py", r"(RtpPacket|parse|unpack_header|unpack_)"),
    ("RTCP: parse and build", r"aiortc/rtp\.py", r""),
    ("REMB estimator (aiortc rate.py)", r"aiortc/rate\.py", r""),
    ("receiver statistics", r"aiortc/(stats|rtcrtpreceiver)\.py", r"StreamStatistics|^add "),
    ("NACK generator", r"aiortc/rtcrtpreceiver\.py", r"NackGenerator|^add "),
    ("audio level", r"rtc/audiolevel\.py", r""),
    ("forward: per-leg rewrite", r"rtc/(leg|vp8|numbering)\.py", r""),
    ("forward: routing, layers, pacing", ROUTING_FILES, r""),
    ("receive: the rest of rtc/receiving.py", r"rtc/receiving\.py", r""),
    ("RTCP: aiortc sender/receiver tasks", r"aiortc/rtcrtp(sender|receiver)\.py", r""),
    ("receive: aiortc DTLS transport demux", r"aiortc/rtcdtlstransport\.py", r""),
    ("ICE (aioice)", r"aioice/", r""),
    ("event loop (asyncio)", r"asyncio/|selectors\.py", r""),
    ("other rtc/", r"rtc/", r""),
    ("other aiortc", r"aiortc/", r""),
)
COMPILED = [(part, re.compile(f), re.compile(fn)) for part, f, fn in RULES]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def part_of(stack: list[str]) -> str:
    for frame in reversed(stack):  # the leaf first
        match = FRAME.match(frame.strip())
        if match is None:
            continue
        where = match.group("file")
        for part, file_rule, func_rule in COMPILED:
            if file_rule.search(where) and func_rule.search(frame):
                return part
    return "other"


def breakdown(path: Path) -> tuple[Counter[str], int]:
    parts: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not stack_text or not count.isdigit():
            continue
        parts[part_of(stack_text.split(";"))] += int(count)
        total += int(count)
    return parts, total


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    tables = {p: breakdown(Path(p)) for p in paths}
    names = sorted({n for parts, _ in tables.values() for n in parts})
    print("| part | " + " | ".join(Path(p).stem for p in paths) + " |")
    print("|---|" + "---|" * len(paths))
    order = sorted(names, key=lambda n: -sum(t[0][n] / max(t[1], 1) for t in tables.values()))
    for name in order:
        cells = [f"{100 * parts[name] / max(total, 1):.1f} %" for parts, total in tables.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("| samples | " + " | ".join(str(total) for _, total in tables.values()) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
