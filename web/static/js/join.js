// The member's page (/s/{code}): consent, device check, lobby, then the room.

import { isPhone } from "./adaptive.js";
import { announce, byId, show } from "./dom.js";
import { loadCatalogue, t } from "./i18n.js";
import { DeviceCheck } from "./devicecheck.js";
import { EvaluationForm } from "./evaluation.js";
import { LocalMedia } from "./media.js";
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
  const joinButton = byId("btn-join", HTMLButtonElement);
  const dataMode = byId("opt-data-mode", HTMLSelectElement);
  // A phone on mobile data starts with the saver (docs/architecture.md, "Data budgets").
  dataMode.value = isPhone() ? "saver" : "all";
  const lobbyText = byId("lobby-text", HTMLElement);
  const lobbyMessage = byId("lobby-message", HTMLElement);
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
    room?.stop();
    media.stop();
    finalText.textContent = t(key);
    finalMessage.textContent = message ? t("final.leader_message", { message }) : "";
    goTo("final");
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    formError.textContent = "";
    nameInput.removeAttribute("aria-invalid");
    if (!nameInput.value.trim()) {
      formError.textContent = t("join.error.name");
      nameInput.setAttribute("aria-invalid", "true");
      nameInput.focus();
      return;
    }
    if (passwordInput instanceof HTMLInputElement && !passwordInput.value) {
      formError.textContent = t("join.error.password");
      passwordInput.focus();
      return;
    }
    if (!consent.checked) {
      formError.textContent = t("join.error.consent");
      consent.focus();
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

  async function enter() {
    const connection = new LingkarConnection(code);
    /** @type {{name: string, consent: boolean, password?: string}} */
    const body = { name: nameInput.value.trim(), consent: consent.checked };
    if (passwordInput instanceof HTMLInputElement) body.password = passwordInput.value;
    for (;;) {
      try {
        await connection.join(body);
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
          formError.textContent = t(`join.error.${err.error}`);
          if (err.error === "name_taken" || err.error === "invalid_name") nameInput.setAttribute("aria-invalid", "true");
          return;
        }
        if (err.error === "session_locked" || err.error === "session_full" || err.error === "not_found") {
          finish(`final.${err.error}`);
          return;
        }
        goTo("devices");
        byId("device-error", HTMLElement).textContent = t("join.error.network");
        return;
      }
    }
    conn = connection;
    const mode = dataMode.value;
    if (mode === "saver" || mode === "audio_only" || mode === "leader_only") connection.receive = mode;
    await check.settled();
    check.finish();
    lobbyText.textContent = t("lobby.connecting");
    goTo("lobby");
    const currentRoom = new Room(connection, media, { role: "member", name: body.name });
    room = currentRoom;
    new EvaluationForm(connection);
    byId("btn-leave", HTMLButtonElement).addEventListener("click", () => {
      connection.leave();
      finish("final.left");
    });
    connection.on("status", ({ status, message }) => {
      switch (status) {
        case "waiting":
          lobbyText.textContent = t("lobby.waiting");
          lobbyMessage.textContent = "";
          goTo("lobby");
          announce(t("lobby.waiting"));
          break;
        case "locked":
          lobbyText.textContent = t("lobby.locked");
          goTo("lobby");
          announce(t("lobby.locked"));
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
      finish("final.lost");
    }
  }
}

void main();
