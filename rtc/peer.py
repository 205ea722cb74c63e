"""One participant's RTCPeerConnection, used in both directions.

The participant publishes what its offers send (an audio track, a camera track, optionally a
screen track) and receives one sendonly m-line per subscription, added by server-made re-offers.

Telling camera from screen: a video m-line whose msid stream id starts with ``screen`` is the
screen; otherwise the first video m-line the peer sends is the camera and the next one the
screen. (The web client puts the screen track in a MediaStream with an id like ``screen-...``.)

Negotiation: the browser makes the first offer (:meth:`Peer.accept_offer`). When subscriptions
change, :attr:`Peer.on_negotiation_needed` is called; the caller then runs
:meth:`Peer.create_offer`, carries the SDP over its data channel and hands the browser's answer
to :meth:`Peer.accept_answer`. The browser may also re-offer (screen share on/off) through
:meth:`Peer.accept_offer`. aiortc cannot roll back, so the server is the impolite side of
"perfect negotiation": an offer arriving while the server's own offer is outstanding is refused
with :class:`NegotiationError` and the browser should roll back and apply the server's offer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    sdp,
)

from rtc.counters import Counters
from rtc.datachannel_guard import Refusal, guard_data_channels
from rtc.downlink import Downlink
from rtc.forwarder import Leg, LegParams, Source
from rtc.numbering import keep_numbering
from rtc.passthrough import (
    SilentTrack,
    Wire,
    enlarge_socket_buffers,
    install_receiver_hooks,
    install_sender_hooks,
    sender_has_encoder,
)
from rtc.receiving import RECEIVER_ESTIMATOR
from rtc.sdplines import add_audio_ptime
from rtc.simulcast import SIMULCAST_EXTENSIONS, SimulcastOffer, add_simulcast_lines, parse_offer
from rtc.trackid import TrackId, TrackKind

log = logging.getLogger("lingkar.rtc.peer")


# A browser offer with camera, screen and data channel is ~6-10 KB; refuse far larger ones
# before aiortc's parser spends time on them.
MAX_SDP_BYTES = 64 * 1024

_MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
_AUDIO_LEVEL_URI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
_ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
# What the server's answer asks of a browser's Opus encoder (RFC 7587 section 6.1): in-band
# FEC, so that a lost packet is partly rebuilt from the next one; DTX, so that a silent
# microphone sends a packet every 400 ms instead of 50 a second (measured with speech-like
# audio, 1 s voiced and 2 s silent: 53 instead of 100 packets a second for two speakers, 0 %
# concealed either way); and at most 20 kbit/s, which wideband speech needs (RFC 7587 section
# 3.1.1), instead of Chromium's 32: every student receives every speaker, so each kbit counts
# many times over on prepaid data. Chromium does none of these unless the answer says so.
OPUS_ANSWER_PARAMETERS = {
    "minptime": 10,
    "useinbandfec": 1,
    "usedtx": 1,
    "maxaveragebitrate": 20000,
}


class NegotiationError(Exception):
    """An offer or answer that cannot be applied in the current signalling state."""


class NoMediaPort(NegotiationError):
    """The server could not bind a media socket (the media port range is exhausted): its
    answer would carry no candidate and could never connect."""


class PeerRoom(Protocol):
    """What a :class:`Peer` asks of the room it belongs to (rtc/room.py implements it): the
    only way the two talk, so that neither reaches into the other's private state."""

    @property
    def live_counters(self) -> Counters: ...

    def has_track(self, track_id: TrackId) -> bool: ...

    def track_paused_for(self, track_id: TrackId, subscriber_id: str) -> bool: ...

    def publish_track(self, track_id: TrackId, source: Source) -> None: ...

    def unpublish_track(self, track_id: TrackId) -> None: ...

    async def remove_peer(self, peer_id: str) -> None: ...


@dataclass
class _Slot:
    """A subscription of this peer: the transceiver carrying it and, once negotiated, its leg."""

    track_id: TrackId
    source: Source
    transceiver: Any = None
    leg: Leg | None = None


def _short(exc: BaseException) -> str:
    """An exception as a short reason for the client: its kind and the start of its text."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__


def _parse(description: str, what: str) -> Any:
    """aiortc's SDP parser, with a size bound and the checks it lacks (it accepts "")."""
    if len(description) > MAX_SDP_BYTES:
        raise NegotiationError(f"{what} larger than {MAX_SDP_BYTES} bytes")
    try:
        parsed = sdp.SessionDescription.parse(description)
    except Exception as exc:  # aiortc's parser raises assorted errors on bad input
        raise NegotiationError(f"malformed {what}: {_short(exc)}") from exc
    if not parsed.media:
        raise NegotiationError(f"{what} has no media section")
    for media in parsed.media:
        if media.port == 0:
            continue  # a rejected section needs no transport
        # aiortc would start ICE and DTLS on these and fail later, in a task of its own.
        ice, dtls = media.ice, media.dtls
        if ice is None or not ice.usernameFragment or not ice.password:
            raise NegotiationError(f"{what}: a media section has no ICE credentials")
        if dtls is None or not dtls.fingerprints:
            raise NegotiationError(f"{what}: a media section has no DTLS fingerprint")
        if dtls.role not in ("auto", "client", "server"):
            raise NegotiationError(f"{what}: a media section has no DTLS role")
    return parsed


def _is_rtx(codec: Any) -> bool:
    return str(codec.mimeType).lower().endswith("/rtx")


def _codec_preferences(kind: str, codec: Any) -> list[Any]:
    """aiortc capabilities matching the publisher's codec (plus RTX for video)."""
    capabilities = RTCRtpSender.getCapabilities(kind).codecs
    same = [c for c in capabilities if c.mimeType.lower() == codec.mimeType.lower()]
    if codec.mimeType.lower() == "video/h264":
        wanted = str(codec.parameters.get("profile-level-id", "")).lower()
        exact = [c for c in same if str(c.parameters.get("profile-level-id", "")).lower() == wanted]
        same = exact or same
    if not same:
        raise NegotiationError(f"no forwarding support for {codec.mimeType}")
    rtx = [c for c in capabilities if _is_rtx(c)] if kind == "video" else []
    return same[:1] + rtx


class Peer:
    """A participant's connection. Create it with :meth:`rtc.room.Room.add_peer`.

    Callbacks (plain functions, called on the event loop; they must not raise):

    - :attr:`on_negotiation_needed`: subscriptions changed, call :meth:`create_offer`.
    - :attr:`on_control`: the browser's ``control`` data channel is open (also :attr:`control`).
    - :attr:`on_connection_state`: aiortc's connectionState changed (``failed``/``closed``
      mean the participant is gone: aiortc has no ICE restart, a reconnect is a new Peer).
    """

    def __init__(self, peer_id: str, room: PeerRoom, configuration: RTCConfiguration) -> None:
        self.id = peer_id
        self._room = room
        self.pc: Any = RTCPeerConnection(configuration)
        self.control: Any = None
        self.downlink = Downlink()
        self.on_negotiation_needed: Callable[[], None] | None = None
        self.on_control: Callable[[], None] | None = None
        self.on_connection_state: Callable[[str], None] | None = None
        # Whether ICE and DTLS ever completed (a peer that never does is closed by server/).
        self.ever_connected = False
        self._slots: dict[TrackId, _Slot] = {}
        self._retired: list[Any] = []
        self._bindings: dict[int, tuple[Source, Leg]] = {}
        self._next_sequence: dict[int, int] = {}
        self._published_by_mid: dict[str, tuple[TrackId, Source]] = {}
        self._kind_by_mid: dict[str, TrackKind] = {}
        self._simulcast: dict[str, SimulcastOffer] = {}
        self._notified = False
        self._closed = False
        self.pc.on("track", self._on_track)
        self.pc.on("datachannel", self._on_datachannel)
        self.pc.on("connectionstatechange", self._on_connection_state)

    @staticmethod
    def configuration(ice_servers: list[RTCIceServer]) -> RTCConfiguration:
        # max-bundle: every m-line the server adds later rides the one existing transport.
        return RTCConfiguration(iceServers=ice_servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)

    # ---- signalling ----

    @property
    def published(self) -> list[TrackId]:
        """The tracks this peer currently publishes."""
        return [tid for tid, _ in self._published_by_mid.values() if self._room.has_track(tid)]

    def subscription_mids(self) -> dict[str, TrackId]:
        """mid -> publisher track for this peer's subscriptions that have an m-line.

        Valid after :meth:`create_offer`: the browser maps its ``track`` events by mid.
        """
        return {
            slot.transceiver.mid: track_id
            for track_id, slot in self._slots.items()
            if slot.transceiver is not None and slot.transceiver.mid is not None
        }

    @property
    def negotiation_needed(self) -> bool:
        """Whether the server has subscription changes not yet offered to the browser."""
        return bool(self._retired) or any(s.transceiver is None for s in self._slots.values())

    async def accept_offer(self, offer_sdp: str) -> str:
        """Apply the browser's offer and return the server's answer (candidates included).

        :raises NegotiationError: glare (the server's own offer is outstanding) or bad SDP.
        """
        if self._closed:
            raise NegotiationError("peer is closed")
        if self.pc.signalingState != "stable":
            raise NegotiationError(f"cannot accept an offer in state {self.pc.signalingState}")
        parsed = _parse(offer_sdp, "offer")
        try:
            self._classify(parsed)
            offered = parse_offer(offer_sdp)
            for mid, offer in offered.items():
                if self._kind_by_mid.get(mid) == "video":
                    self._simulcast.setdefault(mid, offer)
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            self._answer_parameters(parsed)
            answer = await self.pc.createAnswer()
            await self.pc.setLocalDescription(answer)
        except NegotiationError:
            raise
        except Exception as exc:  # aiortc raises assorted errors on offers it cannot apply
            raise NegotiationError(f"offer rejected: {_short(exc)}") from exc
        if "\na=candidate:" not in str(self.pc.localDescription.sdp):
            raise NoMediaPort("no free UDP port in the server's media port range")
        try:
            self._sync_published(parsed)
            self._after_negotiation()
            answer_sdp = add_simulcast_lines(str(self.pc.localDescription.sdp), self._simulcast)
            return add_audio_ptime(answer_sdp)
        except Exception as exc:
            raise NegotiationError(f"offer rejected: {_short(exc)}") from exc

    def _answer_parameters(self, parsed: Any) -> None:
        """What aiortc's answer would leave out: the simulcast header extensions of the
        camera's m-line (so its layers are told apart) and Opus's FEC (per transceiver)."""
        offered = {m.rtp.muxId: m for m in parsed.media}
        for transceiver in self.pc.getTransceivers():
            media = offered.get(transceiver.mid)
            if media is None:
                continue
            if transceiver.mid in self._simulcast:
                have = {e.uri for e in transceiver._headerExtensions}
                for extension in media.rtp.headerExtensions:
                    if extension.uri in SIMULCAST_EXTENSIONS and extension.uri not in have:
                        transceiver._headerExtensions.append(extension)
            for codec in transceiver._codecs:
                if str(codec.mimeType).lower() == "audio/opus":
                    codec.parameters.update(OPUS_ANSWER_PARAMETERS)

    async def create_offer(self) -> str:
        """Make an offer carrying the pending subscription changes; send it to the browser."""
        if self._closed:
            raise NegotiationError("peer is closed")
        if self.pc.signalingState != "stable":
            raise NegotiationError(f"cannot offer in state {self.pc.signalingState}")
        self._notified = True
        for transceiver in self._retired:
            transceiver.direction = "inactive"
        self._retired.clear()
        for slot in self._slots.values():
            if slot.transceiver is None:
                slot.transceiver = self._transceiver_for(slot)
        previous = self.pc.localDescription
        offer = await self.pc.createOffer()
        offer_sdp = keep_numbering(offer.sdp, previous.sdp if previous is not None else None)
        await self.pc.setLocalDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        # The browser's simulcast m-line keeps its layers, and its audio its packet time, only
        # if every description of ours says so again.
        offer_sdp = add_simulcast_lines(str(self.pc.localDescription.sdp), self._simulcast)
        return add_audio_ptime(offer_sdp)

    async def accept_answer(self, answer_sdp: str) -> None:
        """Apply the browser's answer to :meth:`create_offer`; forwarding starts here."""
        if self.pc.signalingState != "have-local-offer":
            raise NegotiationError(f"no offer outstanding (state {self.pc.signalingState})")
        _parse(answer_sdp, "answer")
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))
        except Exception as exc:
            raise NegotiationError(f"answer rejected: {exc}") from exc
        for slot in self._slots.values():
            if slot.transceiver is not None and slot.leg is None:
                self._start_leg(slot)
        self._after_negotiation()

    def _after_negotiation(self) -> None:
        self._notified = False
        self._maybe_notify()

    def _maybe_notify(self) -> None:
        if (
            not self._closed
            and not self._notified
            and self.negotiation_needed
            and self.pc.signalingState == "stable"
            # aiortc starts senders/receivers of new m-lines only if DTLS is already up when
            # the description is applied: renegotiating earlier leaves them dead on both ends.
            and self.pc.connectionState == "connected"
        ):
            self._notified = True
            if self.on_negotiation_needed is not None:
                self.on_negotiation_needed()

    # ---- publishing ----

    def _classify(self, parsed: Any) -> None:
        taken = {kind for kind in self._kind_by_mid.values()}
        for media in parsed.media:
            mid = media.rtp.muxId
            if media.kind not in ("audio", "video") or mid in self._kind_by_mid:
                continue
            if media.kind == "audio":
                kind: TrackKind = "audio"
            else:
                stream = (media.msid or "").split(" ")[0].lower()
                is_screen = stream.startswith("screen") or "video" in taken
                kind = "screen" if is_screen else "video"
            if kind in taken:
                continue  # a second audio or a third video: received and ignored
            taken.add(kind)
            self._kind_by_mid[mid] = kind

    def _on_track(self, track: Any) -> None:
        transceiver = next(
            (t for t in self.pc.getTransceivers() if t.receiver.track is track), None
        )
        if transceiver is None:
            return
        receiver = transceiver.receiver
        kind = self._kind_by_mid.get(transceiver.mid)
        offer = self._simulcast.get(transceiver.mid) if kind == "video" else None
        source = Source(
            track.kind,
            list(transceiver._codecs),
            self._room.live_counters,
            receiver._send_rtcp_pli,
            rids=offer.rids if offer is not None else (),
        )
        # Hooks go on every received track, even ignored ones: nothing is ever decoded.
        install_receiver_hooks(
            receiver, track, self._room.live_counters, source.on_rtp, source.media_ssrc_for_rtx
        )
        if kind is None:
            return
        track_id = TrackId(self.id, kind)
        self._published_by_mid[transceiver.mid] = (track_id, source)

    def _sync_published(self, parsed: Any) -> None:
        """Publish new sending m-lines, unpublish those the browser stopped sending."""
        for media in parsed.media:
            entry = self._published_by_mid.get(media.rtp.muxId)
            if entry is None:
                continue
            track_id, source = entry
            sending = media.port != 0 and media.direction in ("sendonly", "sendrecv")
            if sending and not self._room.has_track(track_id):
                self._room.publish_track(track_id, source)
            elif not sending and self._room.has_track(track_id):
                self._room.unpublish_track(track_id)

    # ---- subscribing (driven by the room) ----

    def add_slot(self, track_id: TrackId, source: Source) -> None:
        self._slots[track_id] = _Slot(track_id, source)
        self._notified = False
        self._maybe_notify()

    def remove_slot(self, track_id: TrackId) -> None:
        slot = self._slots.pop(track_id, None)
        if slot is None:
            return
        slot.source.remove_leg(self.id)
        if slot.transceiver is not None:
            self._bindings.pop(id(slot.transceiver.sender), None)
            if slot.leg is not None:
                # A recycled sender continues its sequence numbers on the same SSRC.
                self._next_sequence[id(slot.transceiver.sender)] = slot.leg.next_sequence
            self._retired.append(slot.transceiver)
            self._notified = False
        self._maybe_notify()

    def _transceiver_for(self, slot: _Slot) -> Any:
        kind = slot.track_id.media_kind
        codec = slot.source.codecs[0]
        preferences = _codec_preferences(kind, codec)
        for transceiver in self.pc.getTransceivers():
            if (
                transceiver.kind == kind
                and transceiver.currentDirection == "inactive"
                and transceiver.direction == "inactive"
                and id(transceiver.sender) in self._owned_senders()
                and transceiver._codecs
                and transceiver._codecs[0].mimeType.lower() == codec.mimeType.lower()
            ):
                transceiver.direction = "sendonly"
                break
        else:
            track = SilentTrack(kind, str(slot.track_id))
            transceiver = self.pc.addTransceiver(track, direction="sendonly")
            # Nothing arrives on a transceiver the server only sends on, so aiortc's receive-side
            # bitrate estimator for it (1,000 rate buckets: about 100 KB per video m-line, most
            # of the Python memory a participant holds) would never be used.
            setattr(transceiver.receiver, RECEIVER_ESTIMATOR, None)
            sender = transceiver.sender
            install_sender_hooks(sender, self._sender_rtcp_handler(sender))
        transceiver.setCodecPreferences(preferences)
        # msid = "<publisher peer id> <track id>": how the browser knows whose media it is.
        transceiver.sender._stream_id = slot.track_id.peer_id
        transceiver.sender._track_id = str(slot.track_id)
        return transceiver

    def _owned_senders(self) -> set[int]:
        return {
            id(t.sender)
            for t in self.pc.getTransceivers()
            if isinstance(t.sender.track, SilentTrack)
        }

    def _sender_rtcp_handler(self, sender: Any) -> Callable[[Any], Any]:
        async def on_rtcp(packet: Any) -> bool:
            binding = self._bindings.get(id(sender))
            if binding is None:
                return False
            source, leg = binding
            return await source.on_leg_rtcp(leg, packet)

        return on_rtcp

    def _start_leg(self, slot: _Slot) -> None:
        transceiver = slot.transceiver
        if transceiver.currentDirection not in ("sendonly", "sendrecv"):
            return
        codecs = list(transceiver._codecs)
        main = next((c for c in codecs if not _is_rtx(c)), None)
        if main is None:
            return
        rtx = next(
            (c for c in codecs if _is_rtx(c) and c.parameters.get("apt") == main.payloadType),
            None,
        )
        extensions = {e.uri: e.id for e in transceiver._headerExtensions}
        sender = transceiver.sender
        params = LegParams(
            payload_type=main.payloadType,
            rtx_payload_type=rtx.payloadType if rtx is not None else None,
            ssrc=sender._ssrc,
            rtx_ssrc=sender._rtx_ssrc,
            mid=transceiver.mid,
            mid_ext_id=extensions.get(_MID_URI),
            audio_level_ext_id=extensions.get(_AUDIO_LEVEL_URI),
            abs_send_time_ext_id=extensions.get(_ABS_SEND_TIME_URI),
        )
        leg = Leg(
            self.id,
            slot.track_id.media_kind,
            sender,
            Wire(sender.transport),
            params,
            paused=self._room.track_paused_for(slot.track_id, self.id),
            first_sequence=self._next_sequence.get(id(sender)),
            downlink=self.downlink,
        )
        slot.leg = leg
        self._bindings[id(sender)] = (slot.source, leg)
        slot.source.add_leg(leg)

    # ---- events and lifecycle ----

    def _on_datachannel(self, channel: Any) -> None:
        if channel.label != "control" or self.control is not None:
            channel.close()  # the protocol has one channel: nothing else is listened to
            return
        self.control = channel
        if self.on_control is not None:
            self.on_control()

    def _on_connection_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.ever_connected = True
            enlarge_socket_buffers(self.pc)
        self._maybe_notify()
        if self.on_connection_state is not None:
            self.on_connection_state(str(self.pc.connectionState))

    def legs(self) -> list[tuple[TrackId, Source, Leg]]:
        """This peer's negotiated subscriptions: (publisher track, its source, our leg)."""
        return [
            (track_id, slot.source, slot.leg)
            for track_id, slot in self._slots.items()
            if slot.leg is not None
        ]

    def has_slot(self, track_id: TrackId) -> bool:
        return track_id in self._slots

    def slot_ids(self) -> list[TrackId]:
        """The publisher tracks this peer subscribes to, in a stable order."""
        return sorted(self._slots)

    # ---- the control channel (server/ never touches the peer connection itself) ----

    @property
    def control_open(self) -> bool:
        return self.control is not None and self.control.readyState == "open"

    def send(self, text: str) -> bool:
        """Send one text message on the ``control`` channel; False when it is not open (or the
        transport is closing: the caller's caller must not break on that)."""
        if not self.control_open:
            return False
        sctp = self.pc.sctp
        if sctp is None or sctp.transport.state != "connected":
            # The channel still says open while its DTLS transport has failed or closed:
            # aiortc would queue the message and its flush task would raise, unretrieved.
            return False
        try:
            self.control.send(text)
        except Exception:
            log.debug("control send to %s failed", self.id, exc_info=True)
            return False
        return True

    def on_control_message(self, handler: Callable[[object], None]) -> None:
        """``handler`` gets each message of the control channel (text, or bytes if a client
        sends binary frames)."""
        if self.control is not None:
            self.control.on("message", handler)

    def close_control(self) -> None:
        if self.control is not None:
            self.control.close()

    def guard_control(self, limit: int, refused: Callable[[Refusal], None]) -> None:
        """Refuse data-channel messages over ``limit`` bytes before aiortc decodes them."""
        guard_data_channels(self.pc, limit, refused)

    def encoders(self) -> int:
        """Senders of this peer that own an encoder (none should)."""
        return sum(sender_has_encoder(t.sender) for t in self.pc.getTransceivers())

    async def close(self) -> None:
        """Close the connection; the room forgets the peer (same as Room.remove_peer)."""
        await self._room.remove_peer(self.id)

    async def close_connection(self) -> None:
        self._closed = True
        self.downlink.pacer.close()
        for track_id in list(self._slots):
            self.remove_slot(track_id)
        self._bindings.clear()
        await self.pc.close()
