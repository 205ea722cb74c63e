// What the page reads from its connection's statistics every second: the data used so far and
// the hour's estimate at the present rate (shown beside the data saver), and what each tile
// really decoded (exposed as data attributes; the browser tests read them).

import { t } from "./i18n.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {{root: HTMLElement}} TileRoot
 */

/** The hour's estimate is the rate over this window, so one keyframe does not swing it. */
const RATE_WINDOW_MS = 30000;

export class PageStats {
  /**
   * @param {LingkarConnection} conn
   * @param {HTMLElement} screenArea
   * @param {HTMLElement} dataUsed
   */
  constructor(conn, screenArea, dataUsed) {
    this.conn = conn;
    this.screenArea = screenArea;
    this.dataUsed = dataUsed;
    /** Bytes of connections already closed (a reconnection starts counting from zero). */
    this.earlier = 0;
    /** @type {RTCPeerConnection | null} */
    this.pc = null;
    this.lastBytes = 0;
    /** @type {{at: number, bytes: number}[]} */
    this.samples = [];
  }

  /** @param {Map<string, TileRoot>} tiles */
  async read(tiles) {
    const pc = this.conn.pc;
    if (!pc) return;
    if (pc !== this.pc) {
      this.earlier += this.lastBytes;
      this.lastBytes = 0;
      this.pc = pc;
    }
    const report = await pc.getStats();
    let bytes = 0;
    /** @type {Map<string, {frames: number, audio: number, energy: number}>} */
    const perParticipant = new Map();
    let screenFrames = 0;
    report.forEach((s) => {
      if (s.type === "transport") bytes += (s.bytesReceived ?? 0) + (s.bytesSent ?? 0);
      if (s.type !== "inbound-rtp" || typeof s.mid !== "string") return;
      const info = this.conn.tracks.get(s.mid);
      if (!info) return;
      if (info.kind === "screen") {
        screenFrames += s.framesDecoded ?? 0;
        return;
      }
      const entry = perParticipant.get(info.participant) ?? { frames: 0, audio: 0, energy: 0 };
      if (info.kind === "video") entry.frames += s.framesDecoded ?? 0;
      else {
        entry.audio += s.packetsReceived ?? 0;
        // Grows only while the audio is played out: what the person hears, not what arrives.
        entry.energy += s.totalAudioEnergy ?? 0;
      }
      perParticipant.set(info.participant, entry);
    });
    for (const [id, tile] of tiles) {
      const entry = perParticipant.get(id);
      tile.root.dataset.framesDecoded = String(entry?.frames ?? 0);
      tile.root.dataset.audioPackets = String(entry?.audio ?? 0);
      tile.root.dataset.audioEnergy = String(entry?.energy ?? 0);
    }
    this.screenArea.dataset.framesDecoded = String(screenFrames);
    this.lastBytes = bytes;
    const total = this.earlier + bytes;
    const now = performance.now();
    this.samples.push({ at: now, bytes: total });
    while (this.samples.length > 2 && now - (this.samples[1]?.at ?? now) > RATE_WINDOW_MS) this.samples.shift();
    const first = this.samples[0];
    const seconds = first ? (now - first.at) / 1000 : 0;
    const mb = (total / 1e6).toFixed(1);
    if (first && seconds >= 5) {
      const perHour = Math.round(((total - first.bytes) / seconds) * 3600 / 1e6);
      this.dataUsed.textContent = t("room.data_rate", { mb, hour: perHour });
      this.dataUsed.dataset.mbPerHour = String(perHour);
    } else {
      this.dataUsed.textContent = t("room.data_used", { mb });
    }
    this.dataUsed.dataset.bytes = String(total);
  }
}
