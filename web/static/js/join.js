// The member's page (/s/{code}): consent, device check, lobby, then the room.

import { isPhone } from "./adaptive.js";
import { announce, byId, show } from "./dom.js";
import { loadCatalogue, t } from "./i18n.js";
import { DeviceCheck } from "./devicecheck.js";
import { EvaluationForm } from "./evaluation.js";
import { LocalMedia } from "./media.js";
import { ObserverPanel } from "./observer.js";
import { forgetPlace, loadPlace, savePlace } from "./place.js";
import { LingkarConnection, ProtocolError } from "./protocol.js";
import { Room } from "./room.js";

/** Refusals the member can fix on the first step. */
const FORM_ERRORS = new Set(["invalid_name", "name_taken", "wrong_password", "consent_required", "rate_limited", "malformed"]);
/** How often a member waiting for the leader to open the session tries again. */
const NOT_OPEN_RETRY_MS = 4000;

async function main() {
  await loadCatalogue();
  const live = byId("live", HTMLElement);
  const code = live.dataset.code ?? "";
  // The observer link: no camera or microphone (the server would not forward them anyway).
  const observer = live.dataset.role === "observer";
  const steps = {
    consent: byId("step-consent", HTMLElement),
    devices: byId("step-devices", HTMLElement),
    lobby: byId("step-lobby", HTMLElement),
    final: byId("step-final", HTMLElement),
  };
  /** @param {keyof typeof steps | "room"} name */
  const goTo = (name) => {
    for (const [key, node] of Object.entries(steps)) show(node, key === name);
    document.body.classList.toggle("in-room", name === "room");
    if (name !== "room") room?.hide();
    const heading = name === "room" ? null : steps[name].querySelector("h1, h2");
    if (heading instanceof HTMLElement) {
      heading.tabIndex = -1;
      heading.focus();
    }
  };

  const form = byId("join-form", HTMLFormElement);
  const nameInput = byId("join-name", HTMLInputElement);
  const passwordInput = document.getElementById("join-password");
  const consent = byId("join-consent", HTMLInputElement);
  const formError = byId("join-error", HTMLElement);
  const nameError = byId("join-name-error", HTMLElement);
  const passwordError = document.getElementById("join-password-error");
  /**
   * A refusal in view, next to the field it concerns, and announced: the message takes the
   * focus (the form is long; a message below the consent text would be out of sight).
   * @param {string} key @param {"name" | "password" | "consent" | "form"} field
   */
  const refuse = (key, field) => {
    clearRefusal();
    let slot = formError;
    /** @type {HTMLElement | null} */
    let input = null;
    if (field === "name") [slot, input] = [nameError, nameInput];
    else if (field === "password" && passwordError instanceof HTMLElement && passwordInput instanceof HTMLInputElement) {
      [slot, input] = [passwordError, passwordInput];
    } else if (field === "consent") input = consent;
    input?.setAttribute("aria-invalid", "true");
    slot.textContent = t(key);
    slot.scrollIntoView({ block: "center" });
    slot.focus();
  };
  const clearRefusal = () => {
    for (const slot of [formError, nameError, passwordError]) if (slot) slot.textContent = "";
    for (const input of [nameInput, passwordInput, consent]) input?.removeAttribute("aria-invalid");
  };
  /** Which field a refusal of the server concerns. @param {string} error */
  const fieldOf = (error) =>
    error === "name_taken" || error === "invalid_name" ? "name" : error === "wrong_password" ? "password" : error === "consent_required" ? "consent" : "form";
  const joinButton = byId("btn-join", HTMLButtonElement);
  const dataMode = byId("opt-data-mode", HTMLSelectElement);
  // A phone on mobile data starts with the saver (docs/architecture.md, "Data budgets").
  dataMode.value = isPhone() ? "saver" : "all";
  const lobbyText = byId("lobby-text", HTMLElement);
  const lobbyMessage = byId("lobby-message", HTMLElement);
  // The place in the queue: not read out at each change (the status line above is).
  const lobbyPosition = byId("lobby-position", HTMLElement);
  /** @param {number | undefined} position */
  const showPosition = (position) => {
    lobbyPosition.textContent = position ? t("lobby.position", { position: String(position) }) : "";
    show(lobbyPosition, !!position);
  };
  const finalText = byId("final-text", HTMLElement);
  const finalMessage = byId("final-message", HTMLElement);

  const media = new LocalMedia();
  const check = new DeviceCheck(media);
  /** @type {LingkarConnection | null} */
  let conn = null;
  /** @type {Room | null} */
  let room = null;
  let cancelled = false;

  /** @param {string} key @param {string} [message] */
  const finish = (key, message) => {
    forgetPlace(code);
    room?.stop();
    media.stop();
    finalText.textContent = t(key);
    finalMessage.textContent = message ? t("final.leader_message", { message }) : "";
    goTo("final");
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearRefusal();
    if (!nameInput.value.trim()) {
      refuse("join.error.name", "name");
      return;
    }
    if (passwordInput instanceof HTMLInputElement && !passwordInput.value) {
      refuse("join.error.password", "password");
      return;
    }
    if (!consent.checked) {
      refuse("join.error.consent", "consent");
      return;
    }
    if (observer) {
      void enter();
      return;
    }
    goTo("devices");
    void check.start();
  });

  byId("btn-back", HTMLButtonElement).addEventListener("click", () => goTo("consent"));
  byId("btn-lobby-leave", HTMLButtonElement).addEventListener("click", () => {
    cancelled = true;
    conn?.leave();
    finish("final.left");
  });

  joinButton.addEventListener("click", async () => {
    joinButton.disabled = true;
    cancelled = false;
    try {
      await enter();
    } finally {
      joinButton.disabled = false;
    }
  });

  const kept = loadPlace(code);
  if (kept) void comeBack(kept);

  async function enter() {
    const connection = new LingkarConnection(code);
    /** @type {{name: string, consent: boolean, password?: string}} */
    const body = { name: nameInput.value.trim(), consent: consent.checked };
    if (passwordInput instanceof HTMLInputElement) body.password = passwordInput.value;
    for (;;) {
      try {
        await connection.join(body, observer);
        break;
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        if (err.error === "session_not_open") {
          lobbyText.textContent = t("lobby.not_open");
          lobbyMessage.textContent = "";
          if (steps.lobby.hidden) goTo("lobby");
          await new Promise((resolve) => setTimeout(resolve, NOT_OPEN_RETRY_MS));
          if (cancelled) return;
          continue;
        }
        if (FORM_ERRORS.has(err.error)) {
          goTo("consent");
          refuse(`join.error.${err.error}`, fieldOf(err.error));
          return;
        }
        if (err.error === "session_locked" || err.error === "session_full" || err.error === "not_found") {
          finish(`final.${err.error}`);
          return;
        }
        if (observer) {
          goTo("consent");
          refuse("join.error.network", "form");
          return;
        }
        goTo("devices");
        byId("device-error", HTMLElement).textContent = t("join.error.network");
        return;
      }
    }
    keepPlace(connection, body.name);
    await proceed(connection, body.name);
  }

  /**
   * This tab's place is kept (and saved again on each resume and when the page goes away,
   * with the mute and camera as they are then), so that a reload comes back.
   * @param {LingkarConnection} connection @param {string} name
   */
  function keepPlace(connection, name) {
    const save = () => {
      const entry = connection.entry;
      if (!entry || connection.state === "closed") return;
      const camera = !byId("opt-camera-off", HTMLInputElement).checked && (room === null || media.video !== null);
      const microphone = room?.wantMicrophone ?? true;
      savePlace(code, { participant: entry.participant, resume_token: entry.resume_token, name, receive: connection.receive, camera, microphone });
    };
    save();
    connection.on("entry", save);
    window.addEventListener("pagehide", save);
  }

  /**
   * The page was reloaded (or a killed tab restored) while this tab had a place: take it back
   * without the form, the consent or a new admission. When it has expired, the form comes
   * back with the name filled in.
   * @param {import("./place.js").Place} place
   */
  async function comeBack(place) {
    lobbyText.textContent = t("lobby.coming_back");
    lobbyMessage.textContent = "";
    goTo("lobby");
    const connection = new LingkarConnection(code);
    try {
      await connection.resumeSaved(place.participant, place.resume_token);
    } catch (err) {
      forgetPlace(code);
      nameInput.value = place.name;
      goTo("consent");
      if (!(err instanceof ProtocolError)) console.error(err);
      return;
    }
    byId("opt-camera-off", HTMLInputElement).checked = !place.camera;
    if (place.receive === "all" || place.receive === "saver" || place.receive === "audio_only" || place.receive === "leader_only") {
      dataMode.value = place.receive;
    }
    if (!observer) void check.start();
    keepPlace(connection, place.name);
    await proceed(connection, place.name, place.microphone);
  }

  /**
   * In the lobby or the room with a place the server gave: media, then the connection.
   * @param {LingkarConnection} connection @param {string} name
   * @param {boolean} [microphone] whether the microphone is on when entering (a reload keeps
   *   the member's own mute)
   */
  async function proceed(connection, name, microphone = true) {
    const body = { name };
    conn = connection;
    const mode = dataMode.value;
    if (mode === "saver" || mode === "audio_only" || mode === "leader_only") connection.receive = mode;
    if (!observer) {
      await check.settled();
      check.finish();
    }
    lobbyText.textContent = t("lobby.connecting");
    goTo("lobby");
    const currentRoom = new Room(connection, media, { role: observer ? "observer" : "member", name: body.name });
    currentRoom.wantMicrophone = microphone && !observer;
    room = currentRoom;
    if (observer) new ObserverPanel(connection);
    else new EvaluationForm(connection);
    byId("btn-leave", HTMLButtonElement).addEventListener("click", () => {
      connection.leave();
      finish("final.left");
    });
    connection.on("status", ({ status, message, position }) => {
      switch (status) {
        case "waiting":
          if (lobbyText.textContent !== t("lobby.waiting")) lobbyText.textContent = t("lobby.waiting");
          lobbyMessage.textContent = "";
          showPosition(position);
          if (steps.lobby.hidden) goTo("lobby");
          break;
        case "locked":
          if (lobbyText.textContent !== t("lobby.locked")) lobbyText.textContent = t("lobby.locked");
          showPosition(position);
          if (steps.lobby.hidden) goTo("lobby");
          break;
        case "admitted":
          goTo("room");
          currentRoom.enter();
          announce(t("room.admitted"));
          break;
        case "denied":
          finish("final.denied", message);
          break;
        case "removed":
          finish("final.removed", message);
          break;
        case "ended":
          finish("final.ended");
          break;
      }
    });
    connection.on("connection", ({ state, reason }) => {
      if (state === "closed" && reason === "resume_refused") finish("final.lost");
    });
    try {
      await connection.connect({ audio: media.audio, video: media.video });
    } catch (err) {
      console.error(err);
      finish(err instanceof ProtocolError && err.error === "server_busy" ? "final.server_busy" : "final.lost");
    }
  }
}

void main();
