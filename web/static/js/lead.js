// The leader's page (/s/{code}/lead): a device check, then the room with the leader's panel.

import { byId, show } from "./dom.js";
import { loadCatalogue, t } from "./i18n.js";
import { CounselPanel } from "./counsel.js";
import { DeviceCheck } from "./devicecheck.js";
import { GridFit } from "./fit.js";
import { LeaderPanel } from "./leader.js";
import { LocalMedia } from "./media.js";
import { LingkarConnection, ProtocolError } from "./protocol.js";
import { Room } from "./room.js";

async function main() {
  await loadCatalogue();
  const live = byId("live", HTMLElement);
  const code = live.dataset.code ?? "";
  const devices = byId("step-devices", HTMLElement);
  const final = byId("step-final", HTMLElement);
  const error = byId("join-error", HTMLElement);
  const enterButton = byId("btn-join", HTMLButtonElement);
  const media = new LocalMedia();
  const check = new DeviceCheck(media);
  void check.start();

  /** @param {string} key @param {string} [message] */
  const finish = (key, message) => {
    room?.stop();
    media.stop();
    byId("final-text", HTMLElement).textContent = t(key);
    byId("final-message", HTMLElement).textContent = message ?? "";
    show(devices, false);
    room?.hide();
    document.body.classList.remove("in-room");
    show(final, true);
  };
  /** @type {Room | null} */
  let room = null;

  enterButton.addEventListener("click", async () => {
    enterButton.disabled = true;
    error.textContent = "";
    const conn = new LingkarConnection(code);
    try {
      await conn.lead();
    } catch (err) {
      const why = err instanceof ProtocolError ? err.error : "network";
      error.textContent = t(why === "unauthorized" ? "lead.error.login" : why === "server_busy" ? "lead.error.busy" : "join.error.network");
      enterButton.disabled = false;
      return;
    }
    await check.settled();
    check.finish();
    const currentRoom = new Room(conn, media, { role: "leader", name: t("room.badge.leader") });
    room = currentRoom;
    new LeaderPanel(conn);
    new GridFit(byId("room-media", HTMLElement), byId("grid", HTMLElement));
    new CounselPanel(conn, live.dataset.sessionId ?? "");
    byId("btn-leave", HTMLButtonElement).addEventListener("click", () => {
      conn.leave();
      finish("final.left_leader");
    });
    conn.on("status", ({ status, message }) => {
      if (status === "admitted") {
        show(devices, false);
        document.body.classList.add("in-room");
        currentRoom.enter();
      } else if (status === "ended") finish("final.ended");
      else if (status === "removed") finish(message === "replaced" ? "final.replaced" : "final.removed");
    });
    conn.on("welcome", ({ name }) => {
      const self = currentRoom.tiles.get(currentRoom.selfId());
      if (self) self.name.textContent = t("room.you", { name });
    });
    conn.on("connection", ({ state, reason }) => {
      if (state === "closed" && reason === "resume_refused") finish("final.lost");
    });
    try {
      await conn.connect({ audio: media.audio, video: media.video });
    } catch (err) {
      console.error(err);
      finish("final.lost");
    }
  });
}

void main();
