"""What the benches against a real ``lingkar serve`` share (bench/soak.py, bench/session_soak.py,
bench/restart_load.py): an HTTP side on the server's self-signed TLS, a counselor's session,
participants whose video receivers count frames instead of decoding them, each participant in a
process of its own, and the server process's figures.

A room of 8 or 16 aiortc peers cannot share one process: aiortc's receive path costs a few
hundred microseconds of Python per packet, and one event loop receiving every peer's full mesh
saturates (measured: 8 peers in one process, its loop at 80-95 % of a core, frames late by
seconds). So each person runs in a process of their own (``person_main``) and the bench talks to
them through queues; ``time.monotonic()`` is one clock for all processes on Linux. With the cheap
media of bench/rtp_replay.py and bench/header_counting.py (``Spec.lean_media``) a person costs
a few percent of a core, and several share a process (``Crowd(per_process=n)``, ``group_main``).

Nor can the peers decode every video on a 2-core box that also runs the server: a participant's
video receiver hands its complete frames (the jitter buffer's output) to a counter, not to a
decoder; that frames decode is what tests/rtc checks.
"""

from __future__ import annotations

import asyncio
import fractions
import multiprocessing as mp
import queue
import random
import re
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
import psutil
from aiortc.mediastreams import VIDEO_CLOCK_RATE, VIDEO_TIME_BASE, MediaStreamError

from bench.header_counting import HeaderCounter
from bench.replay import Recording
from bench.rtp_replay import Pacer
from rtc.passthrough import enlarge_socket_buffers
from tests.live.client import LiveClient
from tests.rtc.clients import PatternTrack

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
# The server pings every 3 s: this long without one, a person asks whether it still holds
# their place (web/static/js/protocol.js does the same).
LATE_PING_S = 4.5
# Small pictures at a phone camera's 15 frames a second: 8 to 16 encoders and all their peers'
# receivers share the bench process (the server's work per packet does not depend on the
# picture's size, only on the packets' count).
VIDEO_SIZE = (160, 120)
VIDEO_FPS = 15
# What a browser's lowest simulcast layer of that size sends. aiortc's VP8 encoder starts at
# 500 kbit/s and never goes under 250 (its setter's floor), several times a phone's: seven of
# those overrun a subscriber's estimate and the core rightly pauses videos.
VIDEO_BPS = 120_000


class Http:
    """What LiveClient needs of an HTTP client, on a real server (self-signed certificate)."""

    def __init__(self, base: str, session: Any) -> None:
        self.base = base
        self.session = session

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.session.post(self.base + path, ssl=False, **kwargs)

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.session.get(self.base + path, ssl=False, **kwargs)


async def log_in(http: Http, username: str, password: str) -> None:
    form = await (await http.get("/login")).text()
    token = CSRF.search(form)
    assert token, "no CSRF field on /login"
    await http.post(
        "/login", data={"csrf": token.group(1), "username": username, "password": password}
    )


async def counselor_session(http: Http, username: str, password: str, title: str) -> str:
    """Log in, create a session, return its code (as the dashboard shows it)."""
    await log_in(http, username, password)
    page = await (await http.get("/dashboard")).text()
    token = CSRF.search(page)
    assert token, "not logged in"
    created = await http.post(
        "/dashboard/sessions",
        data={"csrf": token.group(1), "title": title, "template": "online"},
    )
    page = await created.text()
    code = re.search(r'<span class="code" lang="en">([A-Z0-9-]+)</span>', page)
    assert code, "no session code on the dashboard"
    return code.group(1)


def sample(process: psutil.Process) -> tuple[float, int, int]:
    """The server process's RSS (MB), open descriptors and threads."""
    return process.memory_info().rss / 2**20, process.num_fds(), process.num_threads()


async def participants_in(http: Http) -> int:
    text = await (await http.get("/metrics")).text()
    found = re.findall(r"^lingkar_participants\{[^}]*\} (\d+(?:\.\d+)?)$", text, re.MULTILINE)
    return int(sum(float(n) for n in found))


class FrameCounter(queue.Queue[Any]):
    """Stands in for a video receiver's decoder input: counts the complete frames."""

    def __init__(self) -> None:
        super().__init__()
        self.frames = 0

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        if item is None:  # the receiver stopping its decoder thread
            super().put(item, block, timeout)
        else:
            self.frames += 1


class Camera(PatternTrack):
    """PatternTrack paced at VIDEO_FPS instead of aiortc's 30, starting at a random point of its
    scroll: two people's encoders never make the same packets (the delay matches payloads)."""

    def __init__(self, width: int, height: int) -> None:
        super().__init__(width, height)
        self._count = random.randrange(height)

    async def next_timestamp(self) -> tuple[int, fractions.Fraction]:
        if self.readyState != "live":
            raise MediaStreamError
        if hasattr(self, "_timestamp"):
            self._timestamp += VIDEO_CLOCK_RATE // VIDEO_FPS
            await asyncio.sleep(self._start + self._timestamp / VIDEO_CLOCK_RATE - time.time())
        else:
            self._start = time.time()
            self._timestamp = 0
        return self._timestamp, VIDEO_TIME_BASE


class Person(LiveClient):
    """A participant with a small synthetic camera and a tone, counting frames per publisher.

    ``frame_counts()`` gives the frames received so far per publisher.
    """

    def __init__(
        self,
        http: Http,
        code: str,
        name: str,
        replay: Recording | None = None,
        lean_media: bool = False,
    ) -> None:
        video: Any = Camera(*VIDEO_SIZE) if replay is None else replay.camera()
        audio: Any = None if replay is None else replay.microphone()
        super().__init__(http, code, name, audio=audio, video=video)
        self.replay = replay is not None
        self.counters: dict[str, list[FrameCounter]] = {}
        # The cheap subscriber (bench/header_counting.py): aiortc's receivers get no packets.
        self.headers = HeaderCounter() if lean_media else None
        self.rtc.pc.on("track", self._count_frames)

    def take_headers(self) -> None:
        """With ``lean_media``: take over the RTP of the transports (after each offer)."""
        if self.headers is not None:
            self.headers.install(self.rtc.pc)

    def audio_packets(self, transceiver: Any) -> int:
        if self.headers is not None:
            return self.headers.packets[transceiver.receiver]
        track = transceiver.receiver.track
        return self.rtc.rtp_packets[track.id] if track is not None else 0

    async def close(self) -> None:
        if self.headers is not None:
            self.headers.close()
        await super().close()

    def _count_frames(self, track: Any) -> None:
        if self.headers is not None or (track.kind != "video" and not self.replay):
            return
        for transceiver in self.rtc.pc.getTransceivers():
            if transceiver.receiver.track is track:
                counter = FrameCounter()
                # Set before aiortc starts the receiver's decoder thread with its queue. A
                # replaying person does not decode audio either (its packets are still counted).
                transceiver.receiver._RTCRtpReceiver__decoder_queue = counter
                if track.kind == "video":
                    self.counters.setdefault(transceiver.mid or "", []).append(counter)

    def frame_counts(self) -> dict[str, int]:
        """Video frames so far per publisher (the transceiver's publisher now, by its mid)."""
        counts: dict[str, int] = {}
        if self.headers is not None:
            for transceiver in self.rtc.pc.getTransceivers():
                if transceiver.kind == "video":
                    publisher = self.tracks.get(transceiver.mid or "", ("", ""))[0]
                    frames = self.headers.frames[transceiver.receiver]
                    counts[publisher] = counts.get(publisher, 0) + frames
            return counts
        for mid, counters in self.counters.items():
            publisher = self.tracks.get(mid, ("", ""))[0]
            counts[publisher] = counts.get(publisher, 0) + sum(c.frames for c in counters)
        return counts

    def table(self) -> list[tuple[Any, ...]]:
        """Each transceiver: mid, kind, direction, publisher, frames counted (a bench's debug)."""
        return [
            (
                t.mid,
                t.kind,
                t.currentDirection,
                self.tracks.get(t.mid or "", ("?", "?")),
                sum(c.frames for c in self.counters.get(t.mid or "", [])),
                self.rtc.rtp_packets.get(t.receiver.track.id, 0) if t.receiver.track else None,
            )
            for t in self.rtc.pc.getTransceivers()
        ]

    def pin_bitrate(self) -> None:
        """Hold the camera's encoder at VIDEO_BPS (again after each REMB from the server)."""
        for sender in self.rtc.pc.getSenders():
            encoder = getattr(sender, "_RTCRtpSender__encoder", None)
            if encoder is not None and hasattr(encoder, "target_bitrate"):
                encoder._Vp8Encoder__target_bitrate = VIDEO_BPS

    def rejoin_token(self) -> str:
        """The newest rejoin token the server gave (``rejoin_token`` or ``restarting``)."""
        for message in reversed(self.messages):
            if message["type"] == "rejoin_token":
                return str(message["token"])
            if message["type"] == "status" and message.get("rejoin_token"):
                return str(message["rejoin_token"])
        return ""


def payload_key(payload: bytes) -> bytes:
    return bytes(payload[-24:]) + len(payload).to_bytes(2, "big")


def stamp(table: dict[bytes, float], key: bytes) -> None:
    # A payload seen twice (a repeated audio frame) cannot be matched: dropped.
    table[key] = -1.0 if key in table else time.monotonic()


def hook_sent(person: Person, table: dict[bytes, float]) -> None:
    """Stamp every RTP packet this person sends (before SRTP), keyed by its payload."""
    transport = person.rtc.pc.getSenders()[0].transport
    original = transport._send_rtp

    async def send_rtp(data: bytes) -> None:
        if 128 <= data[0] < 192 and not 192 <= data[1] <= 223:  # RTP, not RTCP
            start = 12 + 4 * (data[0] & 0x0F)
            if data[0] & 0x10:
                start += 4 + 4 * int.from_bytes(data[start + 2 : start + 4], "big")
            stamp(table, payload_key(data[start:]))
        await original(data)

    transport._send_rtp = send_rtp


def hook_arrived(person: Person, table: dict[bytes, float]) -> None:
    """Stamp every video RTP packet this person receives (new receivers too, when called again)."""
    for transceiver in person.rtc.pc.getTransceivers():
        receiver = transceiver.receiver
        if transceiver.kind != "video" or getattr(receiver, "_bench_hooked", False):
            continue
        receiver._bench_hooked = True
        original = receiver._handle_rtp_packet

        async def handle(packet: Any, arrival_time_ms: int, original: Any = original) -> None:
            stamp(table, payload_key(packet.payload))
            await original(packet, arrival_time_ms=arrival_time_ms)

        receiver._handle_rtp_packet = handle


def merge_stamps(tables: list[dict[bytes, float]]) -> dict[bytes, float]:
    """Several people's send stamps in one table; a payload two of them sent is dropped."""
    merged: dict[bytes, float] = {}
    for table in tables:
        for key, at in table.items():
            merged[key] = -1.0 if key in merged else at
    return merged


def matched_delays(sent: dict[bytes, float], arrived: dict[bytes, float]) -> list[float]:
    """Milliseconds from send to arrival of every payload stamped once on each side."""
    return sorted(
        1000 * (t - sent[key]) for key, t in arrived.items() if t >= 0 and sent.get(key, -1.0) >= 0
    )


# ---------------------------------------------------------------- one person, one process


@dataclass
class Spec:
    """Who a person process is: the counselor (``login`` set: user name, password) or a member."""

    base_url: str
    code: str
    name: str
    login: tuple[str, str] | None = None
    speaks: bool = True
    measures_delay: bool = False  # stamps arrivals (the counselor's view of the delay)
    # How many cameras the page shows (last-N, the ``view`` message), as the web client says:
    # 4 on a phone, 9 on a laptop (web/static/js/adaptive.js). None: never says (all of them).
    max_videos: int | None = None
    # Pre-encoded media instead of encoders, and no audio decoding (bench/replay.py): what lets
    # 16 people and the server share two cores.
    replay: bool = False
    # With replay: frames counted from the RTP headers instead of aiortc's receivers
    # (bench/header_counting.py), and the recording sent by the process's pacer instead of
    # aiortc's sender loops (bench/rtp_replay.py): what lets sessions' people share a process.
    lean_media: bool = False
    fps: int = VIDEO_FPS  # of the replayed camera


# As the web client tells the server (web/static/js/adaptive.js): a laptop shows 9 cameras, a
# phone 4 (last-N).
LAPTOP_VIDEOS = 9
PHONE_VIDEOS = 4


def room_specs(
    base_url: str,
    code: str,
    counselor: str,
    login: tuple[str, str],
    names: list[str],
    speakers: int,
    replay: bool,
    measures_delay: bool = False,
    lean_media: bool = False,
    fps: int = VIDEO_FPS,
) -> tuple[Spec, list[Spec]]:
    """A counselor on a laptop and members on phones, the first ``speakers`` of them speaking."""
    lead = Spec(
        base_url,
        code,
        counselor,
        login,
        measures_delay=measures_delay,
        max_videos=LAPTOP_VIDEOS,
        replay=replay,
        lean_media=lean_media,
        fps=fps,
    )
    members = [
        Spec(
            base_url,
            code,
            n,
            speaks=i < speakers,
            max_videos=PHONE_VIDEOS,
            replay=replay,
            lean_media=lean_media,
            fps=fps,
        )
        for i, n in enumerate(names)
    ]
    return lead, members


class ProcessMedia:
    """What the people of one client process share: the pacer (bench/rtp_replay.py) and one
    recording per frame rate (the same pictures from every camera of a group: nobody decodes
    them)."""

    def __init__(self) -> None:
        self.pacer = Pacer()
        self._recordings: dict[int, Recording] = {}

    def recording(self, fps: int) -> Recording:
        if fps not in self._recordings:
            camera = Camera(*VIDEO_SIZE)
            self._recordings[fps] = Recording(camera, *VIDEO_SIZE, fps, VIDEO_BPS)
        return self._recordings[fps]


def person_main(spec: Spec, commands: Any, results: Any) -> None:
    """A process's body: enter, then answer the bench's commands until ``stop``.

    Commands: ``("admit", participant)`` (the counselor), ``("mark",)`` (reply with this
    person's counts), ``("stop",)``. Replies: ``("joined", name, id, monotonic)`` once connected
    (a member then waits to be admitted), ``("entered", name, id, monotonic)`` once in the room
    (both again after a restart), ``("mark", name, frames, audio, sent, arrived)``,
    ``("error", name, text)``.
    """
    asyncio.run(_person(spec, lambda: _get(commands, 0.5), results, ProcessMedia()))


def group_main(commands: Any, results: Any) -> None:
    """A process for several people (``Crowd(per_process=n)``), each as in ``person_main``.

    Commands: ``("add", spec)`` starts a person; ``(name, *command)`` is that person's command.
    One thread reads the process's queue and hands each command to its person's loop-side
    queue (one thread, not one blocked executor thread per person)."""
    asyncio.run(_group(commands, results))


async def _group(commands: Any, results: Any) -> None:
    loop = asyncio.get_running_loop()
    inboxes: dict[str, asyncio.Queue[Any]] = {}
    people: set[asyncio.Task[None]] = set()
    arrived: asyncio.Queue[Any] = asyncio.Queue()
    media = ProcessMedia()

    def read() -> None:
        while True:
            command = commands.get()
            loop.call_soon_threadsafe(arrived.put_nowait, command)
            if command == ("stop-all",):
                return

    reader = loop.run_in_executor(None, read)
    while True:
        command = await arrived.get()
        if command == ("stop-all",):
            break
        if command[0] == "add":
            spec = command[1]
            inbox: asyncio.Queue[Any] = asyncio.Queue()
            inboxes[spec.name] = inbox
            task = asyncio.ensure_future(_person(spec, inbox.get, results, media))
            people.add(task)
        elif command[0] in inboxes:
            inboxes[command[0]].put_nowait(tuple(command[1:]))
    for inbox in inboxes.values():
        inbox.put_nowait(("stop",))
    await asyncio.gather(*people, return_exceptions=True)
    await reader


async def _get(q: Any, wait_s: float) -> Any:
    def take() -> Any:
        try:
            return q.get(timeout=wait_s)
        except queue.Empty:
            return None

    return await asyncio.get_running_loop().run_in_executor(None, take)


class _Life:
    """One person's stay: entering, staying, and coming back after a server restart as the
    web client does (the counselor with ``lead``, a member with the newest rejoin token)."""

    def __init__(self, spec: Spec, http: Http, results: Any, media: ProcessMedia) -> None:
        self.spec = spec
        self.pacer = media.pacer
        self.http = http
        self.results = results
        self.person: Person | None = None
        self.past: list[Person] = []  # earlier connections: their frame counts still add up
        self.sent: dict[bytes, float] = {}
        self.arrived: dict[bytes, float] = {}
        # Encoded once per process: a restart's rejoins, or a group's people, do not all
        # encode again.
        self.recording = media.recording(spec.fps) if spec.replay else None

    async def enter(self, rejoin: str = "") -> None:
        person = Person(
            self.http, self.spec.code, self.spec.name, self.recording, self.spec.lean_media
        )
        if self.spec.login is not None:
            await person.lead()
        elif rejoin:
            status, reply = await person.post(
                f"/api/sessions/{self.spec.code}/rejoin", {"rejoin_token": rejoin}
            )
            if status != 200:
                await person.close()
                raise RuntimeError(f"rejoin answered {status}: {reply.get('error')}")
            person.entry = reply
        else:
            status, reply = await person.join()
            assert status == 200, reply
        await person.connect()
        person.take_headers()
        if self.spec.lean_media and self.recording is not None:
            self.pacer.add(person, self.recording)
        # The server's sockets get 1 MB buffers (rtc.passthrough); a peer's default ~208 KB
        # overflowed on loopback when its process lagged (netstat -su: receive buffer errors).
        enlarge_socket_buffers(person.rtc.pc)
        self.person = person
        if not self.spec.lean_media:  # its packets do not pass aiortc's sender
            hook_sent(person, self.sent)
        name, results = self.spec.name, self.results

        @person.rtc.pc.on("connectionstatechange")
        def changed() -> None:  # reported: a soak must show a connection that drops
            state = person.rtc.pc.connectionState
            results.put(("state", name, state, time.monotonic()))

        self.results.put(("joined", self.spec.name, person.id, time.monotonic()))
        if self.spec.login is None:
            try:
                await person.wait_for(
                    lambda: any(m["status"] == "admitted" for m in person.by_type["status"]),
                    "admitted",
                    120,
                )
            except AssertionError:
                seen = [m["status"] for m in person.by_type["status"]]
                raise AssertionError(
                    f"not admitted; statuses {seen}, errors {person.errors()}"
                ) from None
        person.send({"type": "microphone", "on": self.spec.speaks})
        person.send({"type": "camera", "on": True})
        if self.spec.max_videos is not None:
            person.send({"type": "view", "tiles": [], "max_videos": self.spec.max_videos})
        self.results.put(("entered", self.spec.name, person.id, time.monotonic()))

    async def stay(self) -> None:
        """Come back whenever the server says it is restarting, or (as the web client does)
        when a ping is late and the server no longer holds the place: the process that hosted
        the session died."""
        pings, ping_at, asked_at = 0, time.monotonic(), 0.0
        while True:
            await asyncio.sleep(0.2)
            person = self.person
            if person is None:
                continue
            if self.spec.measures_delay:
                hook_arrived(person, self.arrived)
            person.take_headers()
            person.pin_bitrate()
            now = time.monotonic()
            if len(person.by_type["ping"]) != pings:
                pings, ping_at = len(person.by_type["ping"]), now
            restarting = any(m["status"] == "restarting" for m in person.by_type["status"])
            forgotten = False
            if not restarting and now - ping_at > LATE_PING_S and now - asked_at > LATE_PING_S:
                asked_at = now
                forgotten = await self._forgotten(person)
            if not (restarting or forgotten):
                continue
            if restarting:
                self.results.put(("told", self.spec.name, person.id, time.monotonic()))
            else:
                self.results.put(("lost", self.spec.name, person.id, time.monotonic()))
            pings, ping_at = 0, time.monotonic()
            token = person.rejoin_token()
            self.pacer.remove(person)
            self.past.append(person)
            self.person = None
            await person.close()
            while self.person is None:
                try:
                    await self.enter(rejoin=token)
                except (aiohttp.ClientError, OSError, RuntimeError, AssertionError):
                    await asyncio.sleep(0.5)  # not back yet, or the counselor is not

    async def _forgotten(self, person: Person) -> bool:
        """Whether the server no longer holds this person's place (``resume`` refused)."""
        try:
            status, reply = await person.post(
                f"/api/sessions/{self.spec.code}/resume",
                {"participant": person.id, "resume_token": person.entry["resume_token"]},
            )
        except (aiohttp.ClientError, OSError):
            return False
        return status in (401, 503) or reply.get("error") == "session_not_open"

    def mark(self) -> tuple[Any, ...]:
        people = [*self.past, *([self.person] if self.person else [])]
        frames: dict[str, int] = {}
        audio: dict[str, int] = {}
        for person in people:
            for publisher, count in person.frame_counts().items():
                frames[publisher] = frames.get(publisher, 0) + count
            for transceiver in person.rtc.pc.getTransceivers():
                publisher, kind = person.tracks.get(transceiver.mid or "", ("", ""))
                if kind == "audio":
                    packets = person.audio_packets(transceiver)
                    audio[publisher] = audio.get(publisher, 0) + packets
        sent, arrived = dict(self.sent), dict(self.arrived)
        self.sent.clear()
        self.arrived.clear()
        return ("mark", self.spec.name, frames, audio, sent, arrived)


async def _person(spec: Spec, next_command: Any, results: Any, media: ProcessMedia) -> None:
    async with aiohttp.ClientSession() as session:
        http = Http(spec.base_url, session)
        if spec.login is not None:
            await log_in(http, *spec.login)
        life = _Life(spec, http, results, media)
        try:
            await life.enter()
        except Exception as error:  # reported to the bench, which stops
            results.put(("error", spec.name, repr(error)))
            return
        staying = asyncio.ensure_future(life.stay())
        try:
            while True:
                command = await next_command()
                if command is None:
                    continue
                if command[0] == "admit" and life.person is not None:
                    life.person.send({"type": "admit", "participant": command[1]})
                elif command[0] == "mark":
                    results.put(life.mark())
                elif command[0] == "table" and life.person is not None:
                    results.put(("table", spec.name, life.person.table()))
                elif command[0] == "stop":
                    break
        finally:
            staying.cancel()
            for person in [*life.past, *([life.person] if life.person else [])]:
                media.pacer.remove(person)
                await person.close()


class _GroupInbox:
    """A person's inbox in a group process: its commands, named, on the process's queue."""

    def __init__(self, name: str, process_inbox: Any) -> None:
        self.name = name
        self.process_inbox = process_inbox

    def put(self, command: tuple[Any, ...]) -> None:
        self.process_inbox.put((self.name, *command))


class Crowd:
    """The bench's side: one process per person (or ``per_process`` people a process, with the
    cheap media of bench/replay.py and bench/header_counting.py), their replies gathered."""

    def __init__(self, per_process: int = 1) -> None:
        self.per_process = per_process
        self._groups: list[tuple[Any, Any, int]] = []  # (process, its queue, people in it)
        self.ctx = mp.get_context("spawn")
        self.results = self.ctx.Queue()
        self.inboxes: dict[str, Any] = {}
        self.processes: list[Any] = []
        self.ids: dict[str, str] = {}  # name -> current participant id
        self.entered_at: dict[str, float] = {}
        self.told_at: dict[str, float] = {}
        self.lost_at: dict[str, float] = {}  # when a person found the server had forgotten them
        self.states: list[tuple[float, str, str]] = []  # (when, who, connection state)
        self._backlog: list[Any] = []

    def start(self, spec: Spec) -> None:
        if self.per_process > 1:
            self._start_in_group(spec)
            return
        inbox = self.ctx.Queue()
        process = self.ctx.Process(target=person_main, args=(spec, inbox, self.results))
        process.start()
        self.inboxes[spec.name] = inbox
        self.processes.append(process)

    def _start_in_group(self, spec: Spec) -> None:
        if not self._groups or self._groups[-1][2] >= self.per_process:
            group_inbox = self.ctx.Queue()
            process = self.ctx.Process(target=group_main, args=(group_inbox, self.results))
            process.start()
            self.processes.append(process)
            self._groups.append((process, group_inbox, 0))
        process, group_inbox, count = self._groups[-1]
        self._groups[-1] = (process, group_inbox, count + 1)
        group_inbox.put(("add", spec))
        self.inboxes[spec.name] = _GroupInbox(spec.name, group_inbox)

    def take(self, kind: str, timeout: float, name: str | None = None) -> Any:
        """The next reply of this kind (and person), keeping the others for later."""
        deadline = time.monotonic() + timeout
        while True:
            for message in self._backlog:
                if message[0] == kind and (name is None or message[1] == name):
                    self._backlog.remove(message)
                    return message
            try:
                message = self.results.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                who = name or "anyone"
                raise AssertionError(f"no {kind!r} from {who} in {timeout} s") from None
            if message[0] == "error":
                raise AssertionError(f"{message[1]}: {message[2]}")
            self._note(message)
            self._backlog.append(message)

    def poll(self) -> None:
        """Read what has arrived (entries after a restart) without waiting."""
        try:
            while True:
                message = self.results.get_nowait()
                self._note(message)
                self._backlog.append(message)
        except queue.Empty:
            pass

    def _note(self, message: tuple[Any, ...]) -> None:
        if message[0] == "entered":
            self.ids[message[1]] = message[2]
            self.entered_at[message[1]] = message[3]
        elif message[0] == "told":
            self.told_at[message[1]] = message[3]
        elif message[0] == "lost":
            self.lost_at[message[1]] = message[3]
        elif message[0] == "state":
            self.states.append((message[3], message[1], message[2]))

    def send(self, name: str, *command: Any) -> None:
        self.inboxes[name].put(command)

    def fill(self, counselor: Spec, members: list[Spec]) -> None:
        """The counselor enters, then the members, admitted in the order they arrive."""
        self.start(counselor)
        self.take("joined", 90, counselor.name)
        self.take("entered", 30, counselor.name)
        for member in members:
            self.start(member)
        for _ in members:
            joined = self.take("joined", 120)
            self.send(counselor.name, "admit", joined[2])
        for member in members:
            self.take("entered", 60, member.name)

    def marks(self) -> dict[str, tuple[Any, ...]]:
        """Every person's counts now: name -> (frames per publisher id, audio packets per
        publisher id, sent stamps, arrival stamps)."""
        for inbox in self.inboxes.values():
            inbox.put(("mark",))
        got = {}
        for _ in self.inboxes:
            message = self.take("mark", 60)
            got[message[1]] = message[2:]
        return got

    def stop(self) -> None:
        for inbox in self.inboxes.values():
            inbox.put(("stop",))
        for _, group_inbox, _ in self._groups:
            group_inbox.put(("stop-all",))
        for process in self.processes:
            process.join(timeout=20)
            if process.is_alive():
                process.terminate()
