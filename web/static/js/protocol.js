// The Lingkar protocol, version 1, for the browser (docs/protocol.md is the one description).
// No DOM here: this module owns the RTCPeerConnection and the `control` data channel, speaks
// HTTPS for join/lead/resume/offer, answers the server's offers and pings, reconnects by itself
// with the resume token, and tells the UI what happened through typed events.

/**
 * @typedef {"member" | "leader" | "co_leader" | "observer"} Role
 * @typedef {"publish" | "present" | "admit" | "moderate" | "stage" | "floor" | "observe_notes"
 *   | "observe_figures" | "evaluation" | "answer_evaluation" | "end" | "grant"} Permission
 * @typedef {"waiting" | "locked" | "admitted" | "denied" | "removed" | "ended" | "restarting"} Status
 * @typedef {"all" | "saver" | "audio_only" | "leader_only"} ReceiveMode
 * @typedef {"good" | "weak" | "very_weak" | "unknown"} LinkQuality
 * @typedef {"audio" | "video" | "screen"} TrackKind
 *
 * @typedef {{protocol: number, participant: string, token: string, resume_token: string,
 *   role: Role, status: Status, title: string, ice_servers?: RTCIceServer[]}} Entry
 *
 * @typedef {{id: string, name: string, role: Role, connected: boolean, muted: boolean,
 *   camera: boolean, screen: boolean, hand: boolean, can_share: boolean}} RosterParticipant
 * @typedef {{policy: "members_may_unmute" | "ask_to_speak", video: boolean, chat: boolean, share: boolean}} Preset
 * @typedef {{index: number, count: number, key: string, names: Record<string, string>,
 *   guidance: Record<string, string>, checklist: Record<string, string>[], minutes: number,
 *   elapsed_seconds: number, preset: Preset}} Stage
 * @typedef {{participant: string, seconds_left: number | null, in_turn: boolean}} Floor
 * @typedef {{id: string, name: string, speaking_seconds: number, turns: number, hands: number,
 *   chats: number, present_seconds: number, link: LinkQuality}} MemberObservation
 * @typedef {{participant: string, kind: "video" | "screen", visible: boolean, width: number,
 *   height: number}} Tile
 * @typedef {{participant: string, kind: "video" | "screen",
 *   state: "on" | "starting" | "paused" | "hidden" | "off", width: number, height: number}} MediaVideo
 * @typedef {{active: number | null, respects: number | null, serious: number | null}} Ratings
 *
 * @typedef {{type: "welcome", protocol: number, id: string, name: string, role: Role, title: string,
 *   permissions: Permission[], restored?: boolean}} WelcomeMessage
 * @typedef {{type: "status", status: Status, message?: string, rejoin_token?: string, position?: number}} StatusMessage
 * @typedef {{type: "rejoin_token", token: string}} RejoinTokenMessage
 * @typedef {{type: "offer", sdp: string, tracks: Record<string, {participant: string, kind: TrackKind}>}} OfferMessage
 * @typedef {{type: "roster", participants: RosterParticipant[], hands: string[], locked: boolean,
 *   policy: "members_may_unmute" | "ask_to_speak", stage: Stage | null, floor: Floor | null}} RosterMessage
 * @typedef {{type: "waiting", participants: {id: string, name: string, role: Role, waiting_seconds: number, connected: boolean}[],
 *   locked: boolean, queue: boolean}} WaitingMessage
 * @typedef {{type: "you", muted: boolean, muted_by_leader: boolean, camera: boolean,
 *   camera_stopped_by_leader: boolean, screen: boolean, can_share: boolean, can_unmute: boolean,
 *   hand: boolean, receive: ReceiveMode, floor: boolean, permissions: Permission[],
 *   observers_see_figures: boolean}} YouMessage
 * @typedef {{type: "activity", by: string, by_name: string, action: string, target: string,
 *   target_name: string}} ActivityMessage
 * @typedef {{type: "chat", sender: string, name: string, text: string, to: "all" | "leader", at: number}} ChatMessage
 * @typedef {{type: "talk_request", participant: string, name: string}} TalkRequestMessage
 * @typedef {{type: "unmute_request"}} UnmuteRequestMessage
 * @typedef {{type: "unmute_reply", participant: string, accept: boolean}} UnmuteReplyMessage
 * @typedef {{type: "levels", speaking: string[]}} LevelsMessage
 * @typedef {{type: "media", quality: LinkQuality, estimate_kbps: number, budget_kbps: number | null,
 *   videos: MediaVideo[]}} MediaMessage
 * @typedef {{type: "ping", nonce: number}} PingMessage
 * @typedef {{type: "pong", nonce: number}} PongMessage
 * @typedef {{type: "error", error: string, message: string, ref?: string}} ErrorMessage
 * @typedef {{type: "observation", members: MemberObservation[]}} ObservationMessage
 * @typedef {{type: "note_saved", participant: string}} NoteSavedMessage
 * @typedef {{type: "evaluation", open: boolean, answered: boolean}} EvaluationMessage
 * @typedef {{type: "evaluation_answer", participant: string | null, name: string | null,
 *   understanding: string, comfort: string, action: string, rating: number}} EvaluationAnswerMessage
 *
 * @typedef {{
 *   welcome: WelcomeMessage, status: StatusMessage, rejoin_token: RejoinTokenMessage,
 *   offer: OfferMessage, roster: RosterMessage,
 *   waiting: WaitingMessage, you: YouMessage, chat: ChatMessage, talk_request: TalkRequestMessage,
 *   unmute_request: UnmuteRequestMessage, unmute_reply: UnmuteReplyMessage, levels: LevelsMessage,
 *   ping: PingMessage, pong: PongMessage, error: ErrorMessage,
 *   observation: ObservationMessage, note_saved: NoteSavedMessage, evaluation: EvaluationMessage,
 *   evaluation_answer: EvaluationAnswerMessage, media: MediaMessage, activity: ActivityMessage
 * }} ServerMessages
 *
 * @typedef {{type: "answer", sdp: string} | {type: "ping", nonce: number} | {type: "pong", nonce: number}
 *   | {type: "microphone", on: boolean} | {type: "camera", on: boolean} | {type: "screen", on: boolean}
 *   | {type: "hand", raised: boolean} | {type: "chat", text: string, to: "all" | "leader"}
 *   | {type: "talk_request"} | {type: "unmute_reply", accept: boolean} | {type: "leave"}
 *   | {type: "receive", mode: ReceiveMode} | {type: "view", tiles: Tile[], max_videos: number, hidden: boolean}
 *   | {type: "admit", participant: string} | {type: "admit_all"}
 *   | {type: "deny", participant: string, message?: string} | {type: "deny_all", message?: string}
 *   | {type: "lock", locked: boolean, queue: boolean} | {type: "to_lobby", participant: string}
 *   | {type: "mute_member", participant: string} | {type: "mute_all"}
 *   | {type: "unmute_policy", policy: "members_may_unmute" | "ask_to_speak"}
 *   | {type: "ask_unmute", participant: string} | {type: "stop_camera", participant: string}
 *   | {type: "screen_permission", participant: string, allowed: boolean}
 *   | {type: "remove", participant: string} | {type: "stage", direction: "next" | "previous"}
 *   | {type: "give_floor", participant: string, seconds: number} | {type: "in_turn", seconds: number}
 *   | {type: "next_turn"} | {type: "end_floor"}
 *   | {type: "note", participant: string, text: string, ratings: Ratings}
 *   | {type: "evaluation", open: boolean} | {type: "observer_figures", allowed: boolean}
 *   | {type: "evaluation_answer", understanding: string, comfort: string, action: string,
 *       rating: number, anonymous: boolean}
 *   | {type: "end"}} ClientMessage
 *
 * @typedef {"connecting" | "connected" | "reconnecting" | "closed"} ConnectionState
 * @typedef {{mid: string, participant: string, kind: TrackKind, track: MediaStreamTrack}} RemoteTrack
 *
 * @typedef {ServerMessages & {
 *   connection: {state: ConnectionState, reason?: string},
 *   track: RemoteTrack,
 *   tracks: {tracks: Map<string, {participant: string, kind: TrackKind}>},
 *   entry: Entry,
 * }} Events
 */

export const PROTOCOL_VERSION = 1;

/** Statuses after which the server closes the connection for good: never resume. */
const FINAL = new Set(["denied", "removed", "ended"]);
/** The server pings every 3 s; silence this long means the connection is gone. */
const SILENCE_MS = 10000;
/** A ping is due every 3 s: this long without one, the server is asked whether it still holds our place. */
const ASK_AFTER_MS = 4500;
/** Waits between reconnection attempts; the server keeps a dropped participant 60 s. */
const RETRY_MS = [500, 1000, 2000, 3000, 5000];
/** How long "disconnected" may last before we stop waiting for ICE to recover by itself. */
const DISCONNECTED_GRACE_MS = 3000;
/**
 * The camera as three simulcast layers of the 640x360 capture (docs/architecture.md, "Media
 * that adapts"): a thumbnail, a tile and a large view. The server forwards each viewer one of
 * them, as its link and its tile allow. Listed lowest first, as the server expects.
 * @type {RTCRtpEncodingParameters[]}
 */
export const CAMERA_LAYERS = [
  { rid: "q", scaleResolutionDownBy: 4, maxBitrate: 80000, maxFramerate: 15 },
  { rid: "h", scaleResolutionDownBy: 2, maxBitrate: 250000, maxFramerate: 15 },
  { rid: "f", scaleResolutionDownBy: 1, maxBitrate: 700000, maxFramerate: 15 },
];
/** Under a data saver the camera sends its smallest layer only, and leaner still. */
const SAVER_LAYER = { maxBitrate: 50000, maxFramerate: 10 };

/** A refusal from the server (HTTPS), with its stable error id. */
export class ProtocolError extends Error {
  /**
   * @param {string} error
   * @param {string} message
   * @param {number} status
   */
  constructor(error, message, status) {
    super(message);
    this.error = error;
    this.status = status;
  }
}

/**
 * POST a JSON body to this origin; answer the JSON reply or throw a ProtocolError.
 * @param {string} path
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 * @returns {Promise<any>}
 */
async function post(path, body, headers = {}) {
  let response;
  try {
    response = await fetch(path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (err) {
    throw new ProtocolError("network", String(err), 0);
  }
  /** @type {any} */
  let reply = null;
  try {
    reply = await response.json();
  } catch {
    reply = null;
  }
  if (!response.ok) {
    const error = reply && typeof reply.error === "string" ? reply.error : "http_" + response.status;
    const message = reply && typeof reply.message === "string" ? reply.message : response.statusText;
    throw new ProtocolError(error, message, response.status);
  }
  return reply;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * One participant's connection to a session.
 */
export class LingkarConnection {
  /** @param {string} code the session's canonical code */
  constructor(code) {
    this.code = code;
    /** @type {Entry | null} */
    this.entry = null;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    /** @type {RTCDataChannel | null} */
    this.channel = null;
    /** @type {ConnectionState} */
    this.state = "connecting";
    /** @type {Status | null} */
    this.status = null;
    /** mid -> what the server says that m-line carries (from the latest offer). */
    /** @type {Map<string, {participant: string, kind: TrackKind}>} */
    this.tracks = new Map();
    /** What we send: the microphone, the camera (null when off), the screen (null unless sharing). */
    /** @type {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null, screen: MediaStreamTrack | null}} */
    this.local = { audio: null, video: null, screen: null };
    /** @type {ReceiveMode} */
    this.receive = "all";
    /** @type {Map<string, Set<(payload: any) => void>>} */
    this._handlers = new Map();
    this._closed = false;
    this._generation = 0;
    this._lastMessage = 0;
    this._nonce = 0;
    /** @type {ReturnType<typeof setInterval> | null} */
    this._watchdog = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this._disconnectTimer = null;
    /** @type {Promise<void>} answers to the server's offers, one at a time */
    this._negotiation = Promise.resolve();
    this._reconnecting = false;
    /** @type {string | null} set by a `restarting` status */
    this._rejoinToken = null;
    /** @type {string | null} the latest `rejoin_token` message: the way back after a crash */
    this._standingRejoin = null;
    /** Whether this page leads (entered with `lead()`): after a crash it enters again so. */
    this._leads = false;
    /** Whether the server forgot us without a word and we are coming back (a crash). */
    this._rejoining = false;
    /** Whether a late ping's question to the server is under way, and when it was last asked. */
    this._asking = false;
    this._askedAt = 0;
  }

  /**
   * @template {keyof Events} K
   * @param {K} type
   * @param {(payload: Events[K]) => void} handler
   */
  on(type, handler) {
    let set = this._handlers.get(type);
    if (!set) {
      set = new Set();
      this._handlers.set(type, set);
    }
    set.add(handler);
  }

  /**
   * @template {keyof Events} K
   * @param {K} type
   * @param {Events[K]} payload
   */
  _emit(type, payload) {
    for (const handler of this._handlers.get(type) ?? []) {
      try {
        handler(payload);
      } catch (err) {
        console.error("lingkar handler", type, err);
      }
    }
  }

  /** @param {ConnectionState} state @param {string} [reason] */
  _setState(state, reason) {
    if (this.state === state && state !== "closed") return;
    this.state = state;
    this._emit("connection", reason === undefined ? { state } : { state, reason });
  }

  // ---- HTTPS ----

  /**
   * Join as a member (or, on the observer link, as an observer). Throws ProtocolError (e.g.
   * `session_not_open`, `wrong_password`).
   * @param {{name: string, consent: boolean, password?: string}} body
   * @param {boolean} [observer]
   * @returns {Promise<Entry>}
   */
  async join(body, observer = false) {
    this.entry = await post(`/api/sessions/${this.code}/${observer ? "observe" : "join"}`, body);
    this._emit("entry", /** @type {Entry} */ (this.entry));
    return /** @type {Entry} */ (this.entry);
  }

  /**
   * Take back one's place after the page was reloaded (or the browser restored a killed tab):
   * the participant id and resume token kept in the tab's sessionStorage. Throws
   * ProtocolError when the place has expired.
   * @param {string} participant @param {string} resumeToken
   * @returns {Promise<Entry>}
   */
  async resumeSaved(participant, resumeToken) {
    this.entry = await post(`/api/sessions/${this.code}/resume`, { participant, resume_token: resumeToken });
    this._emit("entry", /** @type {Entry} */ (this.entry));
    return /** @type {Entry} */ (this.entry);
  }

  /** Enter as the leader (the login cookie goes with the same-origin request). */
  async lead() {
    this.entry = await post(`/api/sessions/${this.code}/lead`, {});
    this._leads = true;
    return /** @type {Entry} */ (this.entry);
  }

  /** @returns {Promise<Entry>} */
  async _resume() {
    const entry = /** @type {Entry} */ (this.entry);
    if (this._rejoinToken) {
      // The server restarted: it forgot us; a signed rejoin token puts us back.
      const rejoined = await post(`/api/sessions/${this.code}/rejoin`, { rejoin_token: this._rejoinToken });
      this._rejoinToken = null;
      this.entry = rejoined;
      this._emit("entry", rejoined);
      return rejoined;
    }
    let fresh;
    try {
      fresh = await post(`/api/sessions/${this.code}/resume`, {
        participant: entry.participant,
        resume_token: entry.resume_token,
      });
    } catch (err) {
      // The server does not know us (it stopped without a word: a crash, a power cut).
      const forgotten = err instanceof ProtocolError && (err.status === 401 || err.error === "session_not_open");
      if (forgotten && this._leads) {
        // A counselor enters again with the login cookie (which also reopens the session).
        this.entry = await post(`/api/sessions/${this.code}/lead`, {});
        this._emit("entry", /** @type {Entry} */ (this.entry));
        return /** @type {Entry} */ (this.entry);
      }
      if (forgotten && this._standingRejoin) {
        // A member comes back with the last rejoin token the server gave.
        this._rejoinToken = this._standingRejoin;
        this._standingRejoin = null;
        this._rejoining = true;
        return this._resume();
      }
      throw err;
    }
    this.entry = { ...entry, ...fresh, resume_token: fresh.resume_token ?? entry.resume_token };
    this._emit("entry", /** @type {Entry} */ (this.entry));
    return /** @type {Entry} */ (this.entry);
  }

  // ---- the peer connection ----

  /**
   * Make the peer connection and send the first offer: audio, camera video, and a send-only
   * video m-line for the screen (the server takes a peer's second video m-line as its screen).
   * @param {{audio: MediaStreamTrack | null, video: MediaStreamTrack | null}} tracks
   */
  async connect(tracks) {
    this.local.audio = tracks.audio;
    this.local.video = tracks.video;
    await this._connect();
    this._watchdog = setInterval(() => this._checkSilence(), 1000);
  }

  async _connect() {
    const entry = this.entry;
    if (!entry) throw new Error("join or lead first");
    const generation = ++this._generation;
    this._setState(this.state === "reconnecting" ? "reconnecting" : "connecting");
    this.tracks = new Map();
    // STUN/TURN as the server's settings say (fresh TURN credentials in every entry answer).
    const pc = new RTCPeerConnection({ iceServers: entry.ice_servers ?? [] });
    this.pc = pc;
    const stream = new MediaStream();
    pc.addTransceiver(this.local.audio ?? "audio", { direction: "sendrecv", streams: [stream] });
    pc.addTransceiver(this.local.video ?? "video", {
      direction: "sendrecv",
      streams: [stream],
      sendEncodings: CAMERA_LAYERS.map((layer) => ({ ...layer })),
    });
    pc.addTransceiver(this.local.screen ?? "video", { direction: "sendonly", streams: [new MediaStream()] });
    const channel = pc.createDataChannel("control", { ordered: true });
    this.channel = channel;
    this._negotiation = Promise.resolve();
    channel.onmessage = (event) => {
      if (generation === this._generation) this._onMessage(event.data);
    };
    channel.onopen = () => {
      if (generation !== this._generation) return;
      this._lastMessage = Date.now();
      this._reconnecting = false;
      this._rejoining = false;
      this._setState("connected");
      if (this.receive !== "all") this.send({ type: "receive", mode: this.receive });
    };
    channel.onclose = () => {
      if (generation === this._generation) this._dropped("channel closed");
    };
    pc.ontrack = (event) => {
      if (generation !== this._generation) return;
      const mid = event.transceiver.mid;
      if (mid === null) return;
      const info = this.tracks.get(mid);
      if (info) this._emit("track", { mid, participant: info.participant, kind: info.kind, track: event.track });
    };
    pc.onconnectionstatechange = () => {
      if (generation !== this._generation) return;
      const state = pc.connectionState;
      if (state === "failed") this._dropped("ice failed");
      else if (state === "disconnected") {
        this._disconnectTimer ??= setTimeout(() => {
          this._disconnectTimer = null;
          if (generation === this._generation && pc.connectionState === "disconnected") this._dropped("ice disconnected");
        }, DISCONNECTED_GRACE_MS);
      } else if (this._disconnectTimer) {
        clearTimeout(this._disconnectTimer);
        this._disconnectTimer = null;
      }
    };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const answer = await post(
      `/api/sessions/${this.code}/participants/${entry.participant}/offer`,
      { type: "offer", sdp: pc.localDescription?.sdp ?? offer.sdp },
      { Authorization: `Bearer ${entry.token}` },
    );
    if (generation !== this._generation) return;
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    // Chromium takes each layer's on/off from the descriptions: set the saver's after them.
    await this.applyCameraLayers();
  }

  /** @param {string} reason */
  _dropped(reason) {
    if (this._closed || this._reconnecting) return;
    if (this.status !== null && FINAL.has(this.status)) {
      this._finish(this.status);
      return;
    }
    this._reconnecting = true;
    this._setState("reconnecting", reason);
    void this._reconnect();
  }

  async _reconnect() {
    this._teardown();
    for (let attempt = 0; !this._closed; attempt++) {
      await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
      if (this._closed) return;
      try {
        await this._resume();
        await this._connect();
        return; // the channel's onopen says "connected"
      } catch (err) {
        if (err instanceof ProtocolError && err.error === "session_not_open" && (this.status === "restarting" || this._rejoining)) {
          continue; // the leader has not come back yet: try again
        }
        if (err instanceof ProtocolError && (err.status === 401 || err.status === 404 || err.error === "session_not_open")) {
          this._finish("resume_refused");
          return;
        }
        // A network error or a refused offer: try again with a fresh token.
        this._teardown();
      }
    }
  }

  _teardown() {
    this._generation++;
    if (this._disconnectTimer) {
      clearTimeout(this._disconnectTimer);
      this._disconnectTimer = null;
    }
    try {
      this.channel?.close();
    } catch {
      /* already closed */
    }
    // Our own tracks live on: they go into the next peer connection.
    this.pc?.close();
    this.pc = null;
    this.channel = null;
  }

  _checkSilence() {
    if (this.state !== "connected") return;
    const silent = Date.now() - this._lastMessage;
    if (silent > SILENCE_MS) this._dropped("silence");
    else if (silent > ASK_AFTER_MS && !this._asking && Date.now() - this._askedAt > ASK_AFTER_MS) void this._askServer();
  }

  /**
   * A ping is late: ask the server over HTTPS whether it still holds our place. When the
   * process that hosted the session died (a session worker killed, a crash), it does not, and
   * waiting for the full silence would only delay the way back.
   */
  async _askServer() {
    const entry = this.entry;
    if (!entry) return;
    const generation = this._generation;
    this._asking = true;
    this._askedAt = Date.now();
    try {
      const fresh = await post(`/api/sessions/${this.code}/resume`, {
        participant: entry.participant,
        resume_token: entry.resume_token,
      });
      // Still ours: the silence is the network's; the channel's own watchdog goes on.
      if (generation === this._generation) this.entry = { ...entry, ...fresh, resume_token: fresh.resume_token ?? entry.resume_token };
    } catch (err) {
      const gone = err instanceof ProtocolError && (err.status === 401 || err.status === 503 || err.error === "session_not_open");
      if (gone && generation === this._generation) this._dropped("forgotten");
    } finally {
      this._asking = false;
    }
  }

  /** @param {string} reason */
  _finish(reason) {
    if (this._closed) return;
    this._closed = true;
    if (this._watchdog) clearInterval(this._watchdog);
    this._teardown();
    this._setState("closed", reason);
  }

  /** Stop everything (after leaving, or after a final status). */
  close() {
    this._finish("closed");
  }

  // ---- the control channel ----

  /** @param {ClientMessage} message @returns {boolean} whether it was sent */
  send(message) {
    if (!this.channel || this.channel.readyState !== "open") return false;
    this.channel.send(JSON.stringify(message));
    return true;
  }

  /** @param {unknown} raw */
  _onMessage(raw) {
    this._lastMessage = Date.now();
    if (typeof raw !== "string") return;
    /** @type {any} */
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    switch (message.type) {
      case "ping":
        this.send({ type: "pong", nonce: message.nonce });
        break;
      case "offer":
        this._negotiation = this._negotiation.then(() => this._answer(/** @type {OfferMessage} */ (message)));
        return; // emitted once applied
      case "rejoin_token":
        this._standingRejoin = message.token;
        return; // for this module alone
      case "status":
        this.status = message.status;
        if (message.status === "restarting" && typeof message.rejoin_token === "string" && message.rejoin_token) {
          this._rejoinToken = message.rejoin_token;
        }
        break;
    }
    this._emit(/** @type {keyof ServerMessages} */ (message.type), message);
    if (message.type === "status" && FINAL.has(message.status)) {
      // The server closes the connection next; nothing to resume.
      setTimeout(() => this._finish(message.status), 500);
    }
  }

  /** @param {OfferMessage} offer */
  async _answer(offer) {
    const pc = this.pc;
    if (!pc || pc.signalingState === "closed") return;
    for (const [mid, info] of Object.entries(offer.tracks)) this.tracks.set(mid, info);
    try {
      await pc.setRemoteDescription({ type: "offer", sdp: offer.sdp });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      this.send({ type: "answer", sdp: pc.localDescription?.sdp ?? answer.sdp ?? "" });
      await this.applyCameraLayers();
    } catch (err) {
      console.error("lingkar: could not answer the server's offer", err);
      return;
    }
    // Keep only what this offer still carries; m-lines it dropped are inactive.
    this.tracks = new Map(Object.entries(offer.tracks));
    this._emit("offer", offer);
    this._emit("tracks", { tracks: this.tracks });
  }

  // ---- media we send ----

  /** @param {number} index 0 audio, 1 camera, 2 screen */
  _sender(index) {
    const transceivers = this.pc?.getTransceivers() ?? [];
    return transceivers[index]?.sender ?? null;
  }

  /** Replace the camera track (null: camera off). @param {MediaStreamTrack | null} track */
  async setCamera(track) {
    this.local.video = track;
    await this._sender(1)?.replaceTrack(track);
  }

  /** Replace the microphone track. @param {MediaStreamTrack | null} track */
  async setMicrophone(track) {
    this.local.audio = track;
    await this._sender(0)?.replaceTrack(track);
  }

  /** Start (a track) or stop (null) sending the screen. @param {MediaStreamTrack | null} track */
  async setScreen(track) {
    this.local.screen = track;
    await this._sender(2)?.replaceTrack(track);
  }

  /** The data saver. Allowed in the lobby too. @param {ReceiveMode} mode */
  setReceive(mode) {
    this.receive = mode;
    this.send({ type: "receive", mode });
    void this.applyCameraLayers();
  }

  /**
   * What our own camera sends: every layer normally; under a data saver only the smallest, so
   * the student's upload fits the budget too (the others then see them small).
   */
  async applyCameraLayers() {
    const sender = this._sender(1);
    if (!sender) return;
    const lean = this.receive === "saver" || this.receive === "audio_only";
    const parameters = sender.getParameters();
    if (!parameters.encodings?.length) return;
    let changed = false;
    for (const encoding of parameters.encodings) {
      const layer = CAMERA_LAYERS.find((l) => l.rid === encoding.rid);
      const smallest = encoding.rid === CAMERA_LAYERS[0]?.rid;
      const active = !lean || smallest;
      const wanted = lean && smallest ? SAVER_LAYER : layer;
      if (encoding.active !== active) {
        encoding.active = active;
        changed = true;
      }
      if (wanted && (encoding.maxBitrate !== wanted.maxBitrate || encoding.maxFramerate !== wanted.maxFramerate)) {
        encoding.maxBitrate = wanted.maxBitrate;
        encoding.maxFramerate = wanted.maxFramerate;
        changed = true;
      }
    }
    if (!changed) return;
    try {
      await sender.setParameters(parameters);
    } catch (err) {
      console.error("lingkar: could not change the camera's layers", err);
    }
  }

  /** Leave for good. */
  leave() {
    this.send({ type: "leave" });
    this.status = "ended";
    setTimeout(() => this._finish("left"), 200);
  }

  /** Bytes received + sent so far on the current connection. */
  async bytesUsed() {
    if (!this.pc) return 0;
    let total = 0;
    const stats = await this.pc.getStats();
    stats.forEach((s) => {
      if (s.type === "transport") total += (s.bytesReceived ?? 0) + (s.bytesSent ?? 0);
    });
    return total;
  }

  /** Ping the server (round trip measured by the caller through the `pong` event). */
  ping() {
    this._nonce += 1;
    this.send({ type: "ping", nonce: this._nonce });
    return this._nonce;
  }
}
