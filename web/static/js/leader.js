// The leader's panel: the lobby (admit, deny), the roster and its controls, the hand queue,
// private signals, the stages, lock and the unmute policy, and ending the session.

import { announce, byId, el, show } from "./dom.js";
import { language, t } from "./i18n.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").RosterMessage} RosterMessage
 * @typedef {import("./protocol.js").RosterParticipant} RosterParticipant
 * @typedef {import("./protocol.js").WaitingMessage} WaitingMessage
 */

/**
 * A button with a visible label and, where the label alone is ambiguous, an accessible name
 * that says whom it acts on.
 * @param {string} label
 * @param {() => void} onClick
 * @param {{className?: string, name?: string}} [options]
 */
function button(label, onClick, options = {}) {
  const node = el("button", { type: "button", class: `button small ${options.className ?? ""}`.trim(), text: label });
  if (options.name) node.setAttribute("aria-label", options.name);
  node.addEventListener("click", onClick);
  return node;
}

export class LeaderPanel {
  /** @param {LingkarConnection} conn */
  constructor(conn) {
    this.conn = conn;
    /** @type {RosterMessage | null} */
    this.roster = null;
    this.stage = byId("lead-stage", HTMLElement);
    this.prev = byId("btn-stage-prev", HTMLButtonElement);
    this.next = byId("btn-stage-next", HTMLButtonElement);
    this.waitingList = byId("waiting-list", HTMLElement);
    this.waitingEmpty = byId("waiting-empty", HTMLElement);
    this.waitingCount = byId("waiting-count", HTMLElement);
    this.denyMessage = byId("deny-message", HTMLInputElement);
    this.admitAll = byId("btn-admit-all", HTMLButtonElement);
    this.muteAll = byId("btn-mute-all", HTMLButtonElement);
    this.lock = byId("btn-lock", HTMLButtonElement);
    this.lockQueue = byId("lock-queue", HTMLInputElement);
    this.policy = byId("unmute-policy", HTMLSelectElement);
    this.hands = byId("hands-list", HTMLElement);
    this.handsEmpty = byId("hands-empty", HTMLElement);
    this.signals = byId("signals", HTMLElement);
    this.members = byId("members-list", HTMLElement);
    this.membersCount = byId("members-count", HTMLElement);
    this.locked = false;
    /** @type {Set<string>} ids already announced as waiting */
    this.seenWaiting = new Set();

    this.prev.addEventListener("click", () => conn.send({ type: "stage", direction: "previous" }));
    this.next.addEventListener("click", () => conn.send({ type: "stage", direction: "next" }));
    this.admitAll.addEventListener("click", () => conn.send({ type: "admit_all" }));
    this.muteAll.addEventListener("click", () => {
      conn.send({ type: "mute_all" });
      announce(t("lead.muted_all"));
    });
    this.lock.addEventListener("click", () => this.sendLock(!this.locked));
    this.lockQueue.addEventListener("change", () => {
      if (this.locked) this.sendLock(true);
    });
    this.policy.addEventListener("change", () => {
      const policy = this.policy.value;
      if (policy === "members_may_unmute" || policy === "ask_to_speak") conn.send({ type: "unmute_policy", policy });
    });
    byId("btn-end", HTMLButtonElement).addEventListener("click", () => {
      if (window.confirm(t("lead.end.confirm"))) conn.send({ type: "end" });
    });

    conn.on("roster", (roster) => this.onRoster(roster));
    conn.on("waiting", (waiting) => this.onWaiting(waiting));
    conn.on("talk_request", ({ name }) => this.signal(t("lead.signal.talk", { name }), "talk"));
    conn.on("unmute_reply", ({ participant, accept }) => {
      const name = this.nameOf(participant);
      this.signal(t(accept ? "lead.signal.unmute_yes" : "lead.signal.unmute_no", { name }), "reply");
    });
    conn.on("chat", (line) => {
      if (line.to === "leader" && line.sender !== conn.entry?.participant) {
        this.signal(t("lead.signal.private_chat", { name: line.name, text: line.text }), "private");
      }
    });
    conn.on("error", (error) => this.signal(t("lead.signal.error", { message: error.message }), "error"));
  }

  /** @param {boolean} locked */
  sendLock(locked) {
    this.conn.send({ type: "lock", locked, queue: this.lockQueue.checked });
  }

  /** @param {string} id */
  nameOf(id) {
    return this.roster?.participants.find((p) => p.id === id)?.name ?? "?";
  }

  /** @param {string} text @param {string} kind */
  signal(text, kind) {
    const time = new Date().toLocaleTimeString(language(), { hour: "2-digit", minute: "2-digit" });
    this.signals.append(el("li", { class: `signal ${kind}` }, [el("time", { text: time }), " ", text]));
    while (this.signals.children.length > 50) this.signals.firstElementChild?.remove();
    announce(text);
  }

  /** @param {WaitingMessage} waiting */
  onWaiting(waiting) {
    this.waitingCount.textContent = String(waiting.participants.length);
    show(this.waitingEmpty, waiting.participants.length === 0);
    this.admitAll.disabled = waiting.participants.length === 0;
    this.waitingList.replaceChildren(
      ...waiting.participants.map((p) =>
        el("li", { class: "person" }, [
          el("span", { class: "person-name", text: p.name }),
          el("span", { class: "person-actions" }, [
            button(t("lead.admit"), () => this.conn.send({ type: "admit", participant: p.id }), {
              className: "primary",
              name: t("lead.admit_name", { name: p.name }),
            }),
            button(t("lead.deny"), () => {
              const message = this.denyMessage.value.trim();
              this.conn.send(message ? { type: "deny", participant: p.id, message } : { type: "deny", participant: p.id });
            }, { name: t("lead.deny_name", { name: p.name }) }),
          ]),
        ]),
      ),
    );
    for (const p of waiting.participants) {
      if (!this.seenWaiting.has(p.id)) {
        this.seenWaiting.add(p.id);
        announce(t("lead.signal.waiting", { name: p.name }));
      }
    }
    this.setLocked(waiting.locked, waiting.queue);
  }

  /** @param {boolean} locked @param {boolean} queue */
  setLocked(locked, queue) {
    this.locked = locked;
    this.lock.setAttribute("aria-pressed", String(locked));
    this.lockQueue.checked = queue;
  }

  /** @param {RosterMessage} roster */
  onRoster(roster) {
    this.roster = roster;
    const stage = roster.stage;
    const name = stage.names[language()] ?? stage.names.id ?? stage.key;
    this.stage.textContent = t("room.stage", { index: stage.index + 1, count: stage.count, name });
    this.prev.disabled = stage.index <= 0;
    this.next.disabled = stage.index >= stage.count - 1;
    this.setLocked(roster.locked, this.lockQueue.checked);
    this.policy.value = roster.policy;

    const members = roster.participants.filter((p) => p.role !== "leader");
    this.membersCount.textContent = String(members.length);
    this.members.replaceChildren(...members.map((p) => this.memberRow(p)));

    show(this.handsEmpty, roster.hands.length === 0);
    this.hands.replaceChildren(
      ...roster.hands.map((id) => {
        const who = this.nameOf(id);
        return el("li", { class: "person" }, [
          el("span", { class: "person-name", text: who }),
          button(t("lead.ask_unmute"), () => this.conn.send({ type: "ask_unmute", participant: id }), {
            className: "primary",
            name: t("lead.ask_unmute_name", { name: who }),
          }),
        ]);
      }),
    );
  }

  /** @param {RosterParticipant} p */
  memberRow(p) {
    const send = this.conn.send.bind(this.conn);
    /** @type {string[]} */
    const states = [];
    states.push(t(p.muted ? "room.badge.muted" : "room.badge.unmuted"));
    if (!p.camera) states.push(t("room.badge.camera_off"));
    if (p.screen) states.push(t("room.badge.sharing"));
    if (p.hand) states.push(t("room.badge.hand"));
    if (!p.connected) states.push(t("room.badge.disconnected"));
    const named = (/** @type {string} */ key) => t(`${key}_name`, { name: p.name });
    return el("li", { class: "person member-row", "data-participant": p.id }, [
      el("span", { class: "person-name", text: p.name }),
      el("span", { class: "person-state", text: states.join(" · ") }),
      el("span", { class: "person-actions" }, [
        button(t("lead.mute"), () => send({ type: "mute_member", participant: p.id }), { name: named("lead.mute") }),
        button(t("lead.ask_unmute"), () => send({ type: "ask_unmute", participant: p.id }), { name: named("lead.ask_unmute") }),
        button(t("lead.stop_camera"), () => send({ type: "stop_camera", participant: p.id }), { name: named("lead.stop_camera") }),
        p.can_share
          ? button(t("lead.revoke_share"), () => send({ type: "screen_permission", participant: p.id, allowed: false }), { name: named("lead.revoke_share") })
          : button(t("lead.allow_share"), () => send({ type: "screen_permission", participant: p.id, allowed: true }), { name: named("lead.allow_share") }),
        button(t("lead.to_lobby"), () => send({ type: "to_lobby", participant: p.id }), { name: named("lead.to_lobby") }),
        button(t("lead.remove"), () => {
          if (window.confirm(t("lead.remove.confirm", { name: p.name }))) send({ type: "remove", participant: p.id });
        }, { className: "danger", name: named("lead.remove") }),
      ]),
    ]);
  }
}
