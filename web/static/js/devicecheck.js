// The device check before entering: camera preview, microphone level, device choice and a
// connection test. Shared by the member's page and the leader's page.

import { byId, show } from "./dom.js";
import { t } from "./i18n.js";
import { connectionTest, LocalMedia, levelMeter, listDevices } from "./media.js";

export class DeviceCheck {
  /** @param {LocalMedia} media */
  constructor(media) {
    this.media = media;
    this.preview = byId("preview", HTMLVideoElement);
    this.previewOff = byId("preview-off", HTMLElement);
    this.error = byId("device-error", HTMLElement);
    this.bar = byId("mic-level-bar", HTMLElement);
    this.meter = byId("mic-level", HTMLElement);
    this.selectMic = byId("select-mic", HTMLSelectElement);
    this.selectCamera = byId("select-camera", HTMLSelectElement);
    this.netResult = byId("net-result", HTMLElement);
    this.cameraOff = byId("opt-camera-off", HTMLInputElement);
    /** @type {(() => void) | null} */
    this.stopMeter = null;
    this.started = false;
    /** The latest device request: entering the room waits for it (see settled()). */
    this.pending = Promise.resolve();

    this.selectMic.addEventListener("change", () => {
      this.media.audioDevice = this.selectMic.value;
      void this.restart();
    });
    this.selectCamera.addEventListener("change", () => {
      this.media.videoDevice = this.selectCamera.value;
      void this.restart();
    });
    this.cameraOff.addEventListener("change", () => void this.restart());
  }

  /** Ask for the devices (once), show them, test the connection. */
  async start() {
    if (this.started) return;
    this.started = true;
    void this.testConnection();
    await this.restart();
  }

  /** Ask for the devices again (another device chosen, camera switched off). */
  restart() {
    const run = this.request();
    this.pending = run;
    return run;
  }

  /**
   * Resolves once the latest device request has finished (granted, refused or failed): the
   * tracks the room will send are then in `media`. Without this wait, entering the room while
   * the browser still asks for permission would send nothing for the whole session.
   */
  async settled() {
    for (let current = this.pending; ; current = this.pending) {
      await current.catch(() => undefined); // a failure is shown by the check itself
      if (current === this.pending) return;
    }
  }

  async request() {
    this.error.textContent = "";
    try {
      await this.media.start(!this.cameraOff.checked);
    } catch (err) {
      console.error(err);
      this.error.textContent = t("device.error.permission");
      return;
    }
    this.stopMeter?.();
    this.stopMeter = this.media.audio ? levelMeter(this.media.audio, this.bar, this.meter) : null;
    this.preview.srcObject = this.media.stream();
    show(this.previewOff, !this.media.video);
    this.preview.hidden = !this.media.video;
    await listDevices(this.selectMic, "audioinput", this.media.audio?.getSettings().deviceId);
    await listDevices(this.selectCamera, "videoinput", this.media.video?.getSettings().deviceId ?? this.media.videoDevice);
  }

  async testConnection() {
    const result = await connectionTest();
    this.netResult.textContent = t(`device.connection.${result.quality}`, { ms: result.ms });
    this.netResult.dataset.quality = result.quality;
  }

  /** Leave the device check: the tracks live on into the room. */
  finish() {
    this.stopMeter?.();
    this.stopMeter = null;
    this.preview.srcObject = null;
  }
}
