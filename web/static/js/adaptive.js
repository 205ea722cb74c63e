// Media that adapts: the page tells the server which of the others' videos it shows and how
// large (`view`), and shows what the server says reaches it (`media`): a video paused for a
// weak connection says so on its tile, one the screen has no room for is a named tile, and the
// page's own connection quality is in view.

import { announce } from "./dom.js";
import { t } from "./i18n.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").MediaMessage} MediaMessage
 * @typedef {import("./protocol.js").Tile} TileView
 */

/** Tile changes are reported at most this often (scrolling and resizing fire many events). */
const DEBOUNCE_MS = 400;
/** How many camera videos a screen shows with video (last-N), by its width in CSS pixels. */
const VIDEOS_BY_WIDTH = [
  { below: 600, videos: 4 },
  { below: 1100, videos: 6 },
  { below: Infinity, videos: 9 },
];

/** A phone (touch first, small screen): it starts with the data saver. */
export function isPhone() {
  const small = Math.min(window.screen.width, window.screen.height) < 600;
  return small && window.matchMedia("(pointer: coarse)").matches;
}

/** The number of camera videos this viewport shows with video. */
export function videosForViewport() {
  const width = window.innerWidth;
  return (VIDEOS_BY_WIDTH.find((rule) => width < rule.below) ?? { videos: 9 }).videos;
}

export class AdaptiveView {
  /**
   * @param {LingkarConnection} conn
   * @param {HTMLElement} qualityNode where the page's own connection quality is shown
   */
  constructor(conn, qualityNode) {
    this.conn = conn;
    this.qualityNode = qualityNode;
    /** @type {Map<Element, {participant: string, kind: "video" | "screen"}>} */
    this.watched = new Map();
    /** @type {Map<Element, boolean>} */
    this.visible = new Map();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
    this.lastSent = "";
    /** @type {string | null} */
    this.quality = null;
    /** @type {MediaMessage | null} */
    this.media = null;
    this.intersection = new IntersectionObserver((entries) => {
      for (const entry of entries) this.visible.set(entry.target, entry.isIntersecting);
      this.schedule();
    }, { threshold: 0.05 });
    this.resize = new ResizeObserver(() => this.schedule());
    document.addEventListener("visibilitychange", () => this.schedule());
    window.addEventListener("resize", () => this.schedule());
    conn.on("media", (media) => this.onMedia(media));
    conn.on("connection", ({ state }) => {
      if (state === "connected") {
        this.lastSent = ""; // a new connection: the server knows nothing of this page yet
        this.schedule();
      }
    });
  }

  /**
   * Watch one remote tile (or the shared-screen area) for visibility and size.
   * @param {Element} node @param {string} participant @param {"video" | "screen"} kind
   */
  watch(node, participant, kind) {
    const known = this.watched.get(node);
    if (known && known.participant === participant && known.kind === kind) return;
    this.watched.set(node, { participant, kind });
    this.intersection.observe(node);
    this.resize.observe(node);
    this.schedule();
  }

  /** @param {Element} node */
  unwatch(node) {
    if (!this.watched.delete(node)) return;
    this.visible.delete(node);
    this.intersection.unobserve(node);
    this.resize.unobserve(node);
    this.schedule();
  }

  schedule() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.report();
    }, DEBOUNCE_MS);
  }

  report() {
    const ratio = window.devicePixelRatio || 1;
    /** @type {TileView[]} */
    const tiles = [];
    for (const [node, { participant, kind }] of this.watched) {
      const box = node.getBoundingClientRect();
      const shown = this.visible.get(node) ?? false;
      const visible = shown && box.width > 0 && box.height > 0 && !node.closest("[hidden]");
      tiles.push({
        participant,
        kind,
        visible,
        width: Math.min(8192, Math.round(box.width * ratio)),
        height: Math.min(8192, Math.round(box.height * ratio)),
      });
    }
    const message = {
      type: /** @type {const} */ ("view"),
      tiles,
      max_videos: videosForViewport(),
      hidden: document.visibilityState === "hidden",
    };
    const text = JSON.stringify(message);
    if (text === this.lastSent) return;
    if (this.conn.send(message)) this.lastSent = text;
  }

  /** @param {MediaMessage} media */
  onMedia(media) {
    this.media = media;
    this.qualityNode.dataset.estimateKbps = String(media.estimate_kbps);
    this.render();
    if (media.quality !== this.quality) {
      const first = this.quality === null;
      this.quality = media.quality;
      this.qualityNode.textContent = t(`room.link.${media.quality}`);
      this.qualityNode.dataset.quality = media.quality;
      if (!first && media.quality !== "good") announce(t(`room.link.${media.quality}`));
    }
  }

  /** Mark each watched tile with what the server says of its video. */
  render() {
    const media = this.media;
    if (!media) return;
    for (const [node, { participant, kind }] of this.watched) {
      const video = media.videos.find((v) => v.participant === participant && v.kind === kind);
      const state = video?.state ?? "off";
      const held = state === "paused" || state === "hidden";
      node.classList.toggle("held", held);
      node.classList.toggle("paused", state === "paused");
      if (node instanceof HTMLElement) node.dataset.videoState = state;
      let note = node.querySelector(".tile-note");
      if (state === "paused") {
        if (!note) {
          note = document.createElement("p");
          note.className = "tile-note";
          node.append(note);
        }
        // The data saver's budget, not the link, is what holds it back: say so.
        const saver = media.budget_kbps !== null && media.budget_kbps < media.estimate_kbps;
        const key = kind === "screen" ? "room.screen_paused" : "room.video_paused";
        const text = t(saver ? `${key}_saver` : key);
        if (note.textContent !== text) note.textContent = text;
      } else note?.remove();
    }
  }
}
