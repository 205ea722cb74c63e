// Local media: the microphone and camera, the device check (preview, level meter, device choice,
// connection test) and the screen.

import { el } from "./dom.js";
import { t } from "./i18n.js";

/** What a page sends: the microphone track and the camera track (null: camera off). */
export class LocalMedia {
  constructor() {
    /** @type {MediaStreamTrack | null} */
    this.audio = null;
    /** @type {MediaStreamTrack | null} */
    this.video = null;
    /** @type {string | undefined} */
    this.audioDevice = undefined;
    /** @type {string | undefined} */
    this.videoDevice = undefined;
  }

  /** Ask for the microphone and (unless `camera` is false) the camera. @param {boolean} camera */
  async start(camera = true) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: this.audioDevice ? { deviceId: { exact: this.audioDevice } } : true,
      video: camera ? this.videoConstraints() : false,
    });
    this.stop();
    this.audio = stream.getAudioTracks()[0] ?? null;
    this.video = stream.getVideoTracks()[0] ?? null;
  }

  /** Small video for weak links: phones on mobile data. */
  videoConstraints() {
    /** @type {MediaTrackConstraints} */
    const constraints = { width: { ideal: 960 }, height: { ideal: 540 }, frameRate: { ideal: 15, max: 24 } };
    if (this.videoDevice) constraints.deviceId = { exact: this.videoDevice };
    return constraints;
  }

  /** A fresh camera track (camera on again). */
  async newCamera() {
    const stream = await navigator.mediaDevices.getUserMedia({ video: this.videoConstraints() });
    this.video = stream.getVideoTracks()[0] ?? null;
    return this.video;
  }

  /** Camera off: the track stops (the camera's light goes out). */
  stopCamera() {
    this.video?.stop();
    this.video = null;
  }

  stop() {
    this.audio?.stop();
    this.video?.stop();
    this.audio = null;
    this.video = null;
  }

  /** A stream of what we have, for a preview. */
  stream() {
    const stream = new MediaStream();
    if (this.video) stream.addTrack(this.video);
    return stream;
  }
}

/**
 * A microphone level meter: an AnalyserNode read on every animation frame.
 * @param {MediaStreamTrack} track
 * @param {HTMLElement} bar the element whose width shows the level
 * @param {HTMLElement} meter the element with role="meter" (aria-valuenow is updated)
 * @returns {() => void} stops the meter
 */
export function levelMeter(track, bar, meter) {
  const context = new AudioContext();
  const source = context.createMediaStreamSource(new MediaStream([track]));
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let running = true;
  let lastAria = -1;
  const draw = () => {
    if (!running) return;
    analyser.getFloatTimeDomainData(samples);
    let sum = 0;
    for (const s of samples) sum += s * s;
    const rms = Math.sqrt(sum / samples.length);
    const level = Math.min(100, Math.round(rms * 300));
    bar.style.width = `${level}%`;
    if (Math.abs(level - lastAria) >= 10) {
      lastAria = level;
      meter.setAttribute("aria-valuenow", String(level));
    }
    requestAnimationFrame(draw);
  };
  if (context.state === "suspended") void context.resume();
  draw();
  return () => {
    running = false;
    source.disconnect();
    void context.close();
  };
}

/**
 * Fill a <select> with the devices of one kind (labels are known once permission was given).
 * @param {HTMLSelectElement} select
 * @param {MediaDeviceKind} kind
 * @param {string | undefined} current the deviceId in use
 */
export async function listDevices(select, kind, current) {
  const devices = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === kind);
  select.replaceChildren(
    ...devices.map((d, i) =>
      el("option", { value: d.deviceId, text: d.label || `${t(kind === "audioinput" ? "device.microphone" : "device.camera")} ${i + 1}`, selected: d.deviceId === current }),
    ),
  );
  select.disabled = devices.length < 2;
}

/**
 * Time a small request to this server: good under 300 ms, slow above, failed if it errors.
 * @returns {Promise<{quality: "good" | "slow" | "failed", ms: number}>}
 */
export async function connectionTest() {
  const times = [];
  try {
    for (let i = 0; i < 3; i++) {
      const start = performance.now();
      const response = await fetch(`/healthz?t=${Date.now()}-${i}`, { cache: "no-store" });
      await response.text();
      times.push(performance.now() - start);
    }
  } catch {
    return { quality: "failed", ms: 0 };
  }
  const ms = Math.round(Math.min(...times));
  return { quality: ms < 300 ? "good" : "slow", ms };
}
