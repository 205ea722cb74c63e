// The room: the video grid, the shared screen, the controls, chat, the data saver and the
// dialogs. Shared by the member's page and the leader's page. Trusts the server's `you` and
// `roster` for what is heard and seen.

import { announce, byId, el, show } from "./dom.js";
import { t } from "./i18n.js";
import { AdaptiveView } from "./adaptive.js";
import { ChatPanel } from "./chat.js";
import { PageStats } from "./stats.js";
import { LocalClock, clock, everySecond, localized } from "./timing.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").RosterMessage} RosterMessage
 * @typedef {import("./protocol.js").YouMessage} YouMessage
 * @typedef {import("./protocol.js").ErrorMessage} ErrorMessage
 * @typedef {import("./protocol.js").Stage} Stage
 * @typedef {import("./protocol.js").Floor} Floor
 * @typedef {import("./media.js").LocalMedia} LocalMedia
 * @typedef {{root: HTMLElement, video: HTMLVideoElement, stream: MediaStream, name: HTMLElement,
 *   badges: HTMLElement, avatar: HTMLElement}} Tile
 */

/** How often the page reads its connection's statistics (data used; frames for the tests). */
const STATS_MS = 1000;
/** How long a polite "that is not possible now" stays on screen. */
const NOTICE_MS = 8000;
/** The server's refusals of what the room sends (`ref:error`, or the error alone), as texts. */
/** @type {Record<string, string>} */
const ERROR_TEXTS = {
  "microphone:not_allowed": "room.error.microphone",
  "camera:not_allowed": "room.error.camera",
  "chat:not_allowed": "room.error.chat",
  "screen:not_allowed": "room.error.screen",
  "evaluation_answer:not_allowed": "room.error.evaluation_closed",
  "evaluation_answer:conflict": "room.error.evaluation_done",
  rate_limited: "room.error.rate_limited",
};
/** The messages the room itself sends (the leader's panel reports refusals of its own). */
const ROOM_MESSAGES = new Set(["microphone", "camera", "screen", "chat", "hand", "talk_request", "unmute_reply"]);

export class Room {
  /**
   * @param {LingkarConnection} conn
   * @param {LocalMedia} media
   * @param {{role: "member" | "leader" | "observer", name: string}} me
   */
  constructor(conn, media, me) {
    this.conn = conn;
    this.media = media;
    this.me = me;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {YouMessage | null} */
    this.you = null;
    /** @type {RosterMessage | null} */
    this.roster = null;
    /** @type {Map<string, MediaStreamTrack>} mid -> remote track */
    this.remote = new Map();
    this.wantMicrophone = true;
    /** @type {Set<string>} what the server says this person may do (`welcome`, then `you`) */
    this.may = new Set();
    this.sharing = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.statsTimer = null;

    this.root = byId("room", HTMLElement);
    this.grid = byId("grid", HTMLElement);
    this.screenArea = byId("screen-area", HTMLElement);
    this.screenVideo = byId("screen-video", HTMLVideoElement);
    this.screenCaption = byId("screen-caption", HTMLElement);
    this.stageLabel = byId("stage-label", HTMLElement);
    this.stateLine = byId("room-state", HTMLElement);
    this.micButton = byId("btn-mic", HTMLButtonElement);
    this.camButton = byId("btn-camera", HTMLButtonElement);
    this.shareButton = byId("btn-share", HTMLButtonElement);
    /** The counselor has no hand to raise: a member's button only. */
    this.handButton = document.getElementById("btn-hand");
    this.talkButton = document.getElementById("btn-talk");
    this.leaveButton = byId("btn-leave", HTMLButtonElement);
    this.receiveSelect = byId("receive-mode", HTMLSelectElement);
    this.stats = new PageStats(conn, this.screenArea, byId("data-used", HTMLElement));
    this.adaptive = new AdaptiveView(conn, byId("link-quality", HTMLElement));
    this.unmuteDialog = byId("unmute-dialog", HTMLDialogElement);
    this.stageTimer = byId("stage-timer", HTMLElement);
    this.stageGuidance = byId("stage-guidance", HTMLElement);
    this.floorBanner = byId("floor-banner", HTMLElement);
    this.floorText = byId("floor-text", HTMLElement);
    this.floorCountdown = byId("floor-countdown", HTMLElement);
    this.notice = byId("room-notice", HTMLElement);
    this.micHint = byId("mic-hint", HTMLElement);
    this.cameraHint = byId("camera-hint", HTMLElement);
    /** Time in the current stage, and the floor's time left, counted here between rosters. */
    this.stageClock = new LocalClock(1);
    this.floorClock = new LocalClock(-1);
    /** @type {string | null} who held the floor at the last roster */
    this.floorHolder = null;
    this.chat = new ChatPanel(conn, () => this.selfId());
    this.cameraBusy = false;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.noticeTimer = null;

    this.bind();
    everySecond(() => this.renderClocks());
    this.addTile(conn.entry?.participant ?? "me", me.name, true);
  }

  bind() {
    const conn = this.conn;
    this.micButton.addEventListener("click", () => this.toggleMicrophone());
    this.camButton.addEventListener("click", () => void this.toggleCamera());
    this.shareButton.addEventListener("click", () => void this.toggleScreen());
    this.handButton?.addEventListener("click", () => {
      conn.send({ type: "hand", raised: !(this.you?.hand ?? false) });
    });
    this.talkButton?.addEventListener("click", () => {
      conn.send({ type: "talk_request" });
      announce(t("room.talk.sent"));
      this.chat.addLine(null, t("room.talk.sent"), "system");
    });
    this.receiveSelect.addEventListener("change", () => {
      const mode = this.receiveSelect.value;
      if (mode === "all" || mode === "saver" || mode === "audio_only" || mode === "leader_only") conn.setReceive(mode);
    });
    this.receiveSelect.value = conn.receive;
    byId("unmute-accept", HTMLButtonElement).addEventListener("click", () => this.replyUnmute(true));
    byId("unmute-decline", HTMLButtonElement).addEventListener("click", () => this.replyUnmute(false));
    this.unmuteDialog.addEventListener("cancel", () => this.replyUnmute(false));

    conn.on("welcome", (welcome) => {
      this.may = new Set(welcome.permissions);
      // The session came back from its snapshot: what was written before is gone.
      if (welcome.restored) this.chat.addLine(null, t("chat.restored"), "system");
    });
    conn.on("roster", (roster) => this.onRoster(roster));
    conn.on("you", (you) => {
      this.may = new Set(you.permissions);
      void this.onYou(you);
    });
    conn.on("track", (track) => this.onTrack(track.mid, track.participant, track.kind, track.track));
    conn.on("tracks", ({ tracks }) => this.pruneTracks(tracks));
    conn.on("levels", ({ speaking }) => {
      for (const [id, tile] of this.tiles) tile.root.classList.toggle("speaking", speaking.includes(id));
    });
    conn.on("unmute_request", () => {
      if (!this.unmuteDialog.open) this.unmuteDialog.showModal();
    });
    conn.on("connection", ({ state }) => this.renderState(state));
    conn.on("error", (error) => this.onError(error));
  }

  /** A polite word when the server refuses something the room sent. @param {ErrorMessage} error */
  onError(error) {
    if (!error.ref || !ROOM_MESSAGES.has(error.ref)) return;
    if (error.ref === "camera" && error.error === "not_allowed" && this.media.video) void this.cameraOffByStage();
    const key = ERROR_TEXTS[`${error.ref}:${error.error}`] ?? ERROR_TEXTS[error.error] ?? "room.error.other";
    this.showNotice(t(key));
  }

  /** @param {string} text */
  showNotice(text) {
    this.notice.textContent = text;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      this.notice.textContent = "";
      this.noticeTimer = null;
    }, NOTICE_MS);
  }

  /** @param {string} id */
  nameOf(id) {
    return this.roster?.participants.find((p) => p.id === id)?.name ?? "?";
  }

  /** Show the room; called on admission (again after a return from the lobby). */
  enter() {
    show(this.root, true);
    // Someone who may not be heard or seen (an observer) sends neither.
    if (this.may.has("publish")) {
      // A counselor's mute holds across reconnections: only the member's own click undoes it.
      const mutedByLeader = this.you?.muted_by_leader ?? false;
      this.conn.send({ type: "microphone", on: this.wantMicrophone && !mutedByLeader && !!this.media.audio });
      this.conn.send({ type: "camera", on: !!this.media.video });
    }
    this.statsTimer ??= setInterval(() => void this.stats.read(this.tiles), STATS_MS);
    this.updateSelfVideo();
  }

  hide() {
    show(this.root, false);
    if (this.unmuteDialog.open) this.unmuteDialog.close();
  }

  stop() {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
    this.media.stop();
    this.sharing = false;
    this.conn.local.screen?.stop();
    for (const tile of this.tiles.values()) tile.video.srcObject = null;
    this.screenVideo.srcObject = null;
  }

  // ---- tiles ----

  /** @param {string} id @param {string} name @param {boolean} self */
  addTile(id, name, self) {
    const video = el("video", { playsinline: true, autoplay: true });
    video.muted = self; // never hear oneself
    const caption = self ? t("room.you", { name }) : name;
    // A long name is cut short on the tile; the whole of it is in the tooltip.
    const nameNode = el("span", { class: "tile-name", text: caption, title: caption });
    const badges = el("span", { class: "tile-badges" });
    const avatar = el("span", { class: "avatar", "aria-hidden": "true", text: (name.trim()[0] ?? "?").toUpperCase() });
    const root = el("figure", { class: "tile", role: "listitem", "data-participant": id }, [
      video,
      avatar,
      el("figcaption", {}, [nameNode, badges]),
    ]);
    if (self) root.classList.add("self");
    else {
      this.adaptive.watch(root, id, "video");
      root.append(this.enlargeButton(root, name));
    }
    const stream = new MediaStream();
    video.srcObject = stream;
    /** @type {Tile} */
    const tile = { root, video, stream, name: nameNode, badges, avatar };
    this.tiles.set(id, tile);
    this.grid.append(root);
    return tile;
  }

  /** One remote tile at a time may fill the grid's width (its video comes larger too).
   * @param {HTMLElement} root @param {string} name */
  enlargeButton(root, name) {
    const button = el("button", { type: "button", class: "tile-enlarge", "aria-pressed": "false", "aria-label": t("room.enlarge", { name }), text: "⤢" });
    button.addEventListener("click", () => {
      const large = !root.classList.contains("large");
      for (const other of this.grid.querySelectorAll(".tile.large")) {
        other.classList.remove("large");
        other.querySelector(".tile-enlarge")?.setAttribute("aria-pressed", "false");
      }
      root.classList.toggle("large", large);
      button.setAttribute("aria-pressed", String(large));
    });
    return button;
  }

  selfId() {
    return this.conn.entry?.participant ?? "me";
  }

  updateSelfVideo() {
    const tile = this.tiles.get(this.selfId());
    if (!tile) return;
    for (const track of tile.stream.getTracks()) tile.stream.removeTrack(track);
    if (this.media.video) tile.stream.addTrack(this.media.video);
    tile.root.classList.toggle("no-video", !this.media.video);
    void tile.video.play().catch(() => undefined);
  }

  /** @param {RosterMessage} roster */
  onRoster(roster) {
    this.roster = roster;
    const present = new Set(roster.participants.map((p) => p.id));
    for (const [id, tile] of this.tiles) {
      if (!present.has(id) && id !== this.selfId()) {
        this.adaptive.unwatch(tile.root);
        tile.root.remove();
        this.tiles.delete(id);
      }
    }
    // The leader's tile first, then oneself, then the others in the roster's order.
    const ordered = [...roster.participants].sort((a, b) => rank(a, this.selfId()) - rank(b, this.selfId()));
    const current = [...this.grid.children];
    const sameOrder = ordered.every((p, i) => current[i] === this.tiles.get(p.id)?.root);
    for (const p of ordered) {
      const self = p.id === this.selfId();
      const tile = this.tiles.get(p.id) ?? this.addTile(p.id, p.name, self);
      // Moved only when the order changed (the leader's tile stays first).
      if (!sameOrder) this.grid.append(tile.root);
      tile.root.classList.toggle("leader", leads(p));
      tile.root.classList.toggle("no-video", self ? !this.media.video : !p.camera || !tile.stream.getVideoTracks().length);
      tile.root.classList.toggle("disconnected", !p.connected);
      /** @type {string[]} */
      const badges = [];
      if (p.role !== "member") badges.push(t(`room.badge.${p.role}`));
      // An observer is never heard or seen: "muted" and "camera off" would say nothing.
      const observes = p.role === "observer";
      if (p.muted && !observes) badges.push(t("room.badge.muted"));
      // One's own camera is known here before the server has its track: no "camera off"
      // for the moment between admission and the first roster that has it.
      if (!observes && (self ? !this.media.video : !p.camera)) badges.push(t("room.badge.camera_off"));
      if (p.hand) badges.push(t("room.badge.hand"));
      if (!p.connected) badges.push(t("room.badge.disconnected"));
      tile.badges.textContent = badges.join(" · ");
      tile.root.setAttribute("aria-label", [self ? t("room.you", { name: p.name }) : p.name, ...badges].join(", "));
    }
    this.grid.dataset.count = String(this.tiles.size);
    this.renderStage(roster.stage);
    this.renderFloor(roster.floor);
    this.renderControls();
    this.renderState(this.conn.state);
    this.renderScreen();
    this.adaptive.render();
  }

  // ---- the stage and the floor ----

  /** @param {Stage | null} stage */
  renderStage(stage) {
    show(this.stageTimer, !!stage);
    show(this.stageGuidance, !!stage);
    if (!stage) {
      this.stageLabel.textContent = "";
      this.stageClock.set(null);
      return;
    }
    const name = localized(stage.names) || stage.key;
    const stageText = t("room.stage", { index: stage.index + 1, count: stage.count, name });
    if (this.stageLabel.textContent !== stageText) this.stageLabel.textContent = stageText;
    const guidance = localized(stage.guidance);
    if (this.stageGuidance.textContent !== guidance) this.stageGuidance.textContent = guidance;
    show(this.stageGuidance, !!guidance);
    this.stageClock.set(stage.elapsed_seconds);
    this.renderClocks();
  }

  /** @param {Floor | null} floor */
  renderFloor(floor) {
    const holder = floor?.participant ?? null;
    const mine = holder !== null && holder === this.selfId();
    show(this.floorBanner, !!floor);
    this.floorBanner.classList.toggle("mine", mine);
    let text = "";
    if (floor) {
      // The microphone hint only while it is off (the banner follows the "you" message too).
      const own = this.you?.muted === false ? t("floor.you_speaking") : t("floor.you");
      text = mine ? own : t("floor.other", { name: this.nameOf(floor.participant) });
      if (floor.in_turn) text += ` · ${t("floor.in_turn")}`;
    }
    if (this.floorText.textContent !== text) this.floorText.textContent = text;
    this.floorClock.set(floor ? floor.seconds_left : null);
    for (const [id, tile] of this.tiles) tile.root.classList.toggle("has-floor", id === holder);
    if (holder !== this.floorHolder) announce(floor ? text : t("floor.ended"));
    this.floorHolder = holder;
    this.renderClocks();
  }

  /** The stage timer and the floor's countdown, counted on between rosters. */
  renderClocks() {
    const stage = this.roster?.stage;
    const elapsed = this.stageClock.now();
    if (stage && elapsed !== null) {
      const text = t("stage.timer", { elapsed: clock(elapsed), total: clock(stage.minutes * 60) });
      if (this.stageTimer.textContent !== text) this.stageTimer.textContent = text;
      this.stageTimer.classList.toggle("over", elapsed > stage.minutes * 60);
    }
    if (this.roster?.floor) {
      const left = this.floorClock.now();
      this.floorCountdown.textContent = left === null ? t("floor.no_limit") : t("floor.left", { time: clock(left) });
    }
  }

  /**
   * What the member may do now (the stage's preset, the floor, the leader's rules), on the
   * controls themselves: a control that would be refused is disabled and says why.
   */
  renderControls() {
    const you = this.you;
    if (!you) return;
    // Controls follow what the server says this person may do, never a role name.
    const may = new Set(you.permissions);
    const publishes = may.has("publish");
    show(this.micButton, publishes);
    show(this.camButton, publishes);
    if (!publishes) {
      show(this.shareButton, false);
      setHint(this.micHint, "");
      setHint(this.cameraHint, "");
      return;
    }
    const preset = may.has("present") ? null : this.roster?.stage?.preset ?? null;
    // The microphone: off and not allowed on means disabled, with the reason beside it.
    const blocked = you.muted && !you.can_unmute;
    this.micButton.disabled = !this.media.audio || blocked;
    this.micButton.classList.toggle("invite", you.floor && you.muted);
    let micHint = "";
    if (blocked) {
      const floor = this.roster?.floor;
      micHint = floor && floor.participant !== this.selfId()
        ? t("room.hint.floor_other", { name: this.nameOf(floor.participant) })
        : t("room.hint.ask_to_speak");
    } else if (you.floor && you.muted) micHint = t("room.hint.floor_yours");
    setHint(this.micHint, micHint);
    // The camera: a stage without members' video stops it here too (nothing is sent).
    const cameraClosed = !!preset && !preset.video;
    if (cameraClosed && this.media.video) void this.cameraOffByStage();
    this.camButton.disabled = cameraClosed || this.cameraBusy;
    setHint(this.cameraHint, cameraClosed ? t("room.hint.camera_closed") : "");
    // Chat to everyone: closed in some stages; to the counselor it always works.
    this.chat.setClosed(!!preset && !preset.chat);
  }

  /** The stage does not allow members' video: stop the camera (it is the member's to turn on again later). */
  async cameraOffByStage() {
    if (this.cameraBusy) return;
    this.cameraBusy = true;
    try {
      this.media.stopCamera();
      await this.conn.setCamera(null);
      this.conn.send({ type: "camera", on: false });
    } finally {
      this.cameraBusy = false;
      this.camButton.setAttribute("aria-pressed", "false");
      this.updateSelfVideo();
      this.renderControls();
    }
  }

  /**
   * @param {string} mid
   * @param {string} participant
   * @param {"audio" | "video" | "screen"} kind
   * @param {MediaStreamTrack} track
   */
  onTrack(mid, participant, kind, track) {
    this.remote.set(mid, track);
    if (kind === "screen") {
      this.renderScreen();
      return;
    }
    const name = this.roster?.participants.find((p) => p.id === participant)?.name ?? "…";
    const tile = this.tiles.get(participant) ?? this.addTile(participant, name, false);
    for (const old of kind === "audio" ? tile.stream.getAudioTracks() : tile.stream.getVideoTracks()) {
      tile.stream.removeTrack(old);
    }
    tile.stream.addTrack(track);
    if (kind === "video") tile.root.classList.remove("no-video");
    // A fresh srcObject makes the element pick up a track added after it started playing.
    tile.video.srcObject = tile.stream;
    void tile.video.play().catch(() => undefined);
    track.addEventListener("ended", () => tile.stream.removeTrack(track));
  }

  /** Drop what the latest offer no longer carries. @param {Map<string, {participant: string, kind: string}>} tracks */
  pruneTracks(tracks) {
    for (const [mid, track] of this.remote) {
      const info = tracks.get(mid);
      if (!info) this.remote.delete(mid);
      // An m-line the server gave to someone else (or to a screen) leaves its old tile.
      for (const [participant, tile] of this.tiles) {
        if (!tile.stream.getTracks().includes(track)) continue;
        if (info && info.kind !== "screen" && info.participant === participant) continue;
        tile.stream.removeTrack(track);
        // Chromium's element stalls (readyState 0, silent audio) when a track leaves the
        // stream it plays: a fresh srcObject makes it play what remains.
        tile.video.srcObject = tile.stream;
        void tile.video.play().catch(() => undefined);
        if (!tile.stream.getVideoTracks().length) tile.root.classList.add("no-video");
      }
    }
    this.renderScreen();
  }

  /**
   * The large area shows our own share, or someone else's while the roster says they share
   * (a screen m-line exists from the start; the server forwards only during a share).
   */
  renderScreen() {
    const sharer = this.roster?.participants.find((p) => p.screen && p.id !== this.selfId());
    /** @type {MediaStreamTrack | null} */
    let track = null;
    if (this.sharing) track = this.conn.local.screen;
    else if (sharer) track = this.screenTrackOf(sharer.id);
    const current = this.screenVideo.srcObject instanceof MediaStream ? this.screenVideo.srcObject.getVideoTracks()[0] : null;
    if (track !== current) {
      this.screenVideo.srcObject = track ? new MediaStream([track]) : null;
      if (track) void this.screenVideo.play().catch(() => undefined);
    }
    this.screenCaption.textContent = this.sharing ? t("room.screen_yours") : sharer ? t("room.screen_of", { name: sharer.name }) : "";
    if (sharer && !this.sharing) this.adaptive.watch(this.screenArea, sharer.id, "screen");
    else this.adaptive.unwatch(this.screenArea);
    show(this.screenArea, !!track);
    this.root.classList.toggle("has-screen", !!track);
  }

  /**
   * The track of one participant's screen m-line: each person in the room has their own (and
   * the server recycles the m-lines of those who left), so it is looked up by whose it is now.
   * @param {string} participant
   */
  screenTrackOf(participant) {
    for (const [mid, info] of this.conn.tracks) {
      if (info.kind === "screen" && info.participant === participant) return this.remote.get(mid) ?? null;
    }
    return null;
  }

  // ---- controls ----

  /** @param {YouMessage} you */
  async onYou(you) {
    const before = this.you;
    this.you = you;
    if (you.muted_by_leader) this.wantMicrophone = false;
    if (this.media.audio) this.media.audio.enabled = !you.muted;
    this.micButton.setAttribute("aria-pressed", String(!you.muted));
    this.handButton?.setAttribute("aria-pressed", String(you.hand));
    this.renderFloor(this.roster?.floor ?? null);
    show(this.shareButton, you.can_share);
    this.receiveSelect.value = you.receive;
    if (you.camera_stopped_by_leader && this.media.video) {
      this.media.stopCamera();
      await this.conn.setCamera(null);
      this.updateSelfVideo();
    }
    this.camButton.setAttribute("aria-pressed", String(!!this.media.video));
    if (!you.can_share && this.sharing) await this.stopScreen();
    this.shareButton.setAttribute("aria-pressed", String(this.sharing));
    if (you.muted_by_leader && !before?.muted_by_leader) announce(t("room.state.muted_by_leader"));
    if (you.camera_stopped_by_leader && !before?.camera_stopped_by_leader) announce(t("room.state.camera_stopped"));
    this.renderControls();
    this.renderState(this.conn.state);
  }

  toggleMicrophone() {
    const on = this.you ? this.you.muted : !this.wantMicrophone;
    this.wantMicrophone = on;
    this.conn.send({ type: "microphone", on });
  }

  async toggleCamera() {
    this.cameraBusy = true;
    this.camButton.disabled = true;
    try {
      if (this.media.video) {
        this.media.stopCamera();
        await this.conn.setCamera(null);
        this.conn.send({ type: "camera", on: false });
      } else {
        const track = await this.media.newCamera();
        await this.conn.setCamera(track);
        this.conn.send({ type: "camera", on: true });
      }
    } catch (err) {
      announce(t("device.error.camera"));
      console.error(err);
    } finally {
      this.cameraBusy = false;
      this.camButton.setAttribute("aria-pressed", String(!!this.media.video));
      this.updateSelfVideo();
      this.renderControls();
      if (!this.you) this.camButton.disabled = false;
    }
  }

  async toggleScreen() {
    if (this.sharing) {
      await this.stopScreen();
      return;
    }
    /** @type {MediaStream} */
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 5, max: 15 } }, audio: false });
    } catch {
      return; // the user cancelled
    }
    const track = stream.getVideoTracks()[0];
    if (!track) return;
    track.contentHint = "detail";
    track.addEventListener("ended", () => void this.stopScreen());
    this.sharing = true;
    await this.conn.setScreen(track);
    this.conn.send({ type: "screen", on: true });
    this.shareButton.setAttribute("aria-pressed", "true");
    this.renderScreen();
  }

  async stopScreen() {
    if (!this.sharing) return;
    this.sharing = false;
    this.conn.local.screen?.stop();
    await this.conn.setScreen(null);
    this.conn.send({ type: "screen", on: false });
    this.shareButton.setAttribute("aria-pressed", "false");
    this.renderScreen();
  }

  /** @param {boolean} accept */
  replyUnmute(accept) {
    if (this.unmuteDialog.open) this.unmuteDialog.close();
    this.conn.send({ type: "unmute_reply", accept });
    if (accept) this.wantMicrophone = true;
  }

  /** @param {string} text */
  setState(text) {
    this.stateLine.textContent = text;
  }

  /** @param {import("./protocol.js").ConnectionState} connection */
  renderState(connection) {
    /** @type {string[]} */
    const parts = [];
    if (connection === "reconnecting") parts.push(t("room.state.reconnecting"));
    const you = this.you;
    if (you) {
      if (you.muted_by_leader) parts.push(t("room.state.muted_by_leader"));
      else if (you.muted) parts.push(t("room.state.muted"));
      if (you.camera_stopped_by_leader) parts.push(t("room.state.camera_stopped"));
      if (you.hand) parts.push(t("room.state.hand"));
      // The floor's banner says who speaks now; otherwise the policy may ask members to wait.
      if (!you.can_unmute && !this.roster?.floor) parts.push(t("room.state.ask_to_speak"));
    }
    this.root.classList.toggle("reconnecting", connection === "reconnecting");
    this.setState(parts.join(" · "));
  }

}

/**
 * @param {{id: string, role: string}} p
 * @param {string} selfId
 */
function rank(p, selfId) {
  if (leads(p)) return 0;
  if (p.id === selfId) return 1;
  return p.role === "observer" ? 3 : 2;
}

/** Whether a participant is one of the counselors (for the tile's place and frame only). @param {{role: string}} p */
function leads(p) {
  return p.role === "leader" || p.role === "co_leader";
}

/** A control's reason, shown beside it (empty: hidden). @param {HTMLElement} node @param {string} text */
function setHint(node, text) {
  if (node.textContent !== text) node.textContent = text;
  show(node, !!text);
}
