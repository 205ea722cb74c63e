// The leader's panel: the lobby (admit, deny), the roster and its controls, the hand queue,
// private signals, the stages (timer, what the stage's preset allows, a checklist ticked here
// only), the floor and turns, lock and the unmute policy, and ending the session.

import { announce, byId, el, show } from "./dom.js";
import { language, t } from "./i18n.js";
import { Tabs } from "./tabs.js";
import { LocalClock, clock, everySecond, localized } from "./timing.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").RosterMessage} RosterMessage
 * @typedef {import("./protocol.js").RosterParticipant} RosterParticipant
 * @typedef {import("./protocol.js").WaitingMessage} WaitingMessage
 * @typedef {import("./protocol.js").Stage} Stage
 */

/**
 * A button with a visible label and, where the label alone is ambiguous, an accessible name
 * that says whom it acts on. `key` names it across rebuilds of its list, so focus stays on it.
 * @param {string} label
 * @param {() => void} onClick
 * @param {{className?: string, name?: string, key?: string}} [options]
 */
function button(label, onClick, options = {}) {
  const node = el("button", { type: "button", class: `button small ${options.className ?? ""}`.trim(), text: label });
  if (options.name) node.setAttribute("aria-label", options.name);
  if (options.key) node.dataset.key = options.key;
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
    this.arrival = byId("arrival", HTMLElement);
    this.arrivalText = byId("arrival-text", HTMLElement);
    this.denyField = byId("deny-field", HTMLElement);
    this.denyAll = byId("btn-deny-all", HTMLButtonElement);
    this.tabs = new Tabs(byId("lead-tabs", HTMLElement));
    this.membersTab = byId("tab-members", HTMLElement);
    /** @type {Set<string>} members whose menu of further actions is open */
    this.openMenus = new Set();
    /** @type {string} the raised hands last shown, to mark news on the Members tab */
    this.handsSeen = "";
    this.muteAll = byId("btn-mute-all", HTMLButtonElement);
    this.lock = byId("btn-lock", HTMLButtonElement);
    this.lockQueue = byId("lock-queue", HTMLInputElement);
    this.policy = byId("unmute-policy", HTMLSelectElement);
    this.hands = byId("hands-list", HTMLElement);
    this.handsEmpty = byId("hands-empty", HTMLElement);
    this.signals = byId("signals", HTMLElement);
    this.members = byId("members-list", HTMLElement);
    this.membersCount = byId("members-count", HTMLElement);
    this.stageTimer = byId("lead-stage-timer", HTMLElement);
    this.presetList = byId("lead-preset", HTMLElement);
    this.checklist = byId("lead-checklist", HTMLElement);
    this.floorStatus = byId("floor-status", HTMLElement);
    this.floorLeft = byId("floor-left", HTMLElement);
    this.floorTime = byId("floor-time", HTMLSelectElement);
    this.inTurn = byId("btn-in-turn", HTMLButtonElement);
    this.nextTurn = byId("btn-next-turn", HTMLButtonElement);
    this.endFloor = byId("btn-end-floor", HTMLButtonElement);
    this.panel = byId("leader-panel", HTMLElement);
    this.stageClock = new LocalClock(1);
    this.floorClock = new LocalClock(-1);
    /** @type {string | null} the stage whose checklist is shown */
    this.checklistStage = null;
    /** Ticks on each stage's checklist, kept in this page only (never sent). */
    /** @type {Map<string, Set<number>>} */
    this.ticked = new Map();
    this.locked = false;
    /** @type {Set<string>} ids already announced as waiting */
    this.seenWaiting = new Set();

    this.prev.addEventListener("click", () => conn.send({ type: "stage", direction: "previous" }));
    this.next.addEventListener("click", () => conn.send({ type: "stage", direction: "next" }));
    this.admitAll.addEventListener("click", () => conn.send({ type: "admit_all" }));
    this.denyAll.addEventListener("click", () => {
      if (!window.confirm(t("lead.deny_all.confirm"))) return;
      const message = this.denyMessage.value.trim();
      conn.send(message ? { type: "deny_all", message } : { type: "deny_all" });
      this.denyMessage.value = "";
    });
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
    this.inTurn.addEventListener("click", () => conn.send({ type: "in_turn", seconds: this.floorSeconds() }));
    this.nextTurn.addEventListener("click", () => conn.send({ type: "next_turn" }));
    this.endFloor.addEventListener("click", () => conn.send({ type: "end_floor" }));
    everySecond(() => this.renderClocks());
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
    // Two counselors in one room see what the other does (who admitted whom, who moved on).
    conn.on("activity", (done) => {
      if (done.by === conn.entry?.participant) return;
      this.signal(t(`activity.${done.action}`, { by: done.by_name, target: done.target_name }), "activity");
    });
    const figuresToObservers = byId("obs-to-observers", HTMLInputElement);
    figuresToObservers.addEventListener("change", () =>
      conn.send({ type: "observer_figures", allowed: figuresToObservers.checked }));
    conn.on("you", (you) => {
      figuresToObservers.checked = you.observers_see_figures;
      show(figuresToObservers.closest("label") ?? figuresToObservers, you.permissions.includes("grant"));
    });
  }

  /** The floor's time chosen in the panel, in seconds (0: no limit). */
  floorSeconds() {
    const seconds = Number(this.floorTime.value);
    return Number.isInteger(seconds) && seconds >= 0 && seconds <= 3600 ? seconds : 0;
  }

  /** @param {string} id */
  giveFloor(id) {
    this.conn.send({ type: "give_floor", participant: id, seconds: this.floorSeconds() });
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
    this.tabs.markNews(this.membersTab, true);
    announce(text);
  }

  /** @param {WaitingMessage} waiting */
  onWaiting(waiting) {
    const count = waiting.participants.length;
    this.waitingCount.textContent = String(count);
    show(this.waitingEmpty, count === 0);
    show(this.denyField, count > 0);
    this.admitAll.disabled = count === 0;
    this.arrival.dataset.waiting = String(count);
    const names = waiting.participants.map((p) => p.name);
    this.arrivalText.textContent =
      count === 0 ? t("lead.arrival.none")
        : count === 1 ? t("lead.arrival.one", { name: names[0] })
          : t("lead.arrival.many", { count, names: names.join(", ") });
    this.arrivalText.title = this.arrivalText.textContent;
    this.waitingList.replaceChildren(
      ...waiting.participants.map((p) =>
        el("li", { class: `person${p.connected ? "" : " connecting"}` }, [
          el("span", { class: "person-name", text: p.name, title: p.connected ? p.name : `${p.name} (${t("lead.waiting.connecting")})` }),
          p.role === "observer" ? el("span", { class: "tag", text: t("lobby.observer") }) : null,
          // Said to screen readers; shown by the name's style, so that the row keeps its place
          // (the counselor's click must not land elsewhere when the person connects).
          p.connected ? null : el("span", { class: "visually-hidden", text: t("lead.waiting.connecting") }),
          el("span", { class: "person-actions" }, [
            button(t("lead.admit"), () => this.conn.send({ type: "admit", participant: p.id }), {
              className: "primary",
              name: t("lead.admit_name", { name: p.name }),
            }),
            button(t("lead.deny"), () => {
              const message = this.denyMessage.value.trim();
              this.conn.send(message ? { type: "deny", participant: p.id, message } : { type: "deny", participant: p.id });
              // A message is for the one student it was typed for, never the next one.
              this.denyMessage.value = "";
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
    // The lists below are rebuilt: keep the keyboard's place on the same control.
    const active = document.activeElement;
    const focusKey = active instanceof HTMLElement && this.panel.contains(active) ? active.dataset.key : undefined;
    this.renderStage(roster.stage);
    this.setLocked(roster.locked, this.lockQueue.checked);
    this.policy.value = roster.policy;

    const members = roster.participants.filter((p) => p.role === "member");
    this.membersCount.textContent = String(members.length);
    for (const id of this.openMenus) if (!members.some((p) => p.id === id)) this.openMenus.delete(id);
    this.members.replaceChildren(...members.map((p) => this.memberRow(p)));

    show(this.handsEmpty, roster.hands.length === 0);
    const hands = roster.hands.join(",");
    if (hands !== this.handsSeen && roster.hands.some((id) => !this.handsSeen.split(",").includes(id))) {
      this.tabs.markNews(this.membersTab, true);
    }
    this.handsSeen = hands;
    this.hands.replaceChildren(
      ...roster.hands.map((id) => {
        const who = this.nameOf(id);
        return el("li", { class: "person" }, [
          el("span", { class: "person-name", text: who }),
          el("span", { class: "person-actions" }, [
            button(t("lead.ask_unmute"), () => this.conn.send({ type: "ask_unmute", participant: id }), {
              className: "primary",
              name: t("lead.ask_unmute_name", { name: who }),
              key: `hand-unmute:${id}`,
            }),
            button(t("lead.floor.give"), () => this.giveFloor(id), {
              name: t("lead.floor.give_name", { name: who }),
              key: `hand-floor:${id}`,
            }),
          ]),
        ]);
      }),
    );

    const floor = roster.floor;
    this.floorClock.set(floor ? floor.seconds_left : null);
    this.nextTurn.disabled = !floor;
    this.endFloor.disabled = !floor;
    this.renderClocks();

    if (focusKey) {
      const again = [...this.panel.querySelectorAll("[data-key]")].find((node) => node instanceof HTMLElement && node.dataset.key === focusKey);
      if (again instanceof HTMLElement) again.focus();
    }
  }

  /** @param {Stage | null} stage */
  renderStage(stage) {
    if (!stage) {
      this.stage.textContent = "";
      this.prev.disabled = true;
      this.next.disabled = true;
      this.stageClock.set(null);
      this.presetList.replaceChildren();
      this.checklist.replaceChildren();
      return;
    }
    const name = localized(stage.names) || stage.key;
    this.stage.textContent = t("room.stage", { index: stage.index + 1, count: stage.count, name });
    this.prev.disabled = stage.index <= 0;
    this.next.disabled = stage.index >= stage.count - 1;
    this.stageClock.set(stage.elapsed_seconds);
    const preset = stage.preset;
    const lines = [
      t(preset.policy === "ask_to_speak" ? "lead.preset.mic_ask" : "lead.preset.mic_open"),
      t(preset.video ? "lead.preset.video_on" : "lead.preset.video_off"),
      t(preset.chat ? "lead.preset.chat_open" : "lead.preset.chat_closed"),
      t(preset.share ? "lead.preset.share_all" : "lead.preset.share_allowed"),
    ];
    const texts = [...this.presetList.children].map((node) => node.textContent);
    if (texts.join("\n") !== lines.join("\n")) this.presetList.replaceChildren(...lines.map((line) => el("li", { text: line })));
    // The checklist is rebuilt only when the stage changes, so ticks and focus stay.
    const stageKey = `${stage.index}:${stage.key}`;
    if (this.checklistStage === stageKey) return;
    this.checklistStage = stageKey;
    const ticked = this.ticked.get(stageKey) ?? new Set();
    this.ticked.set(stageKey, ticked);
    this.checklist.replaceChildren(
      ...stage.checklist.map((item, index) => {
        const box = el("input", { type: "checkbox" });
        box.checked = ticked.has(index);
        box.addEventListener("change", () => {
          if (box.checked) ticked.add(index);
          else ticked.delete(index);
        });
        return el("li", {}, [el("label", { class: "check" }, [box, " ", localized(item)])]);
      }),
    );
  }

  /** The stage timer and the floor's countdown, counted on between rosters. */
  renderClocks() {
    const stage = this.roster?.stage;
    const elapsed = this.stageClock.now();
    if (stage && elapsed !== null) {
      const text = t("stage.timer", { elapsed: clock(elapsed), total: clock(stage.minutes * 60) });
      if (this.stageTimer.textContent !== text) this.stageTimer.textContent = text;
      this.stageTimer.classList.toggle("over", elapsed > stage.minutes * 60);
    } else {
      this.stageTimer.textContent = "";
    }
    const floor = this.roster?.floor;
    const holder = floor
      ? t(floor.in_turn ? "lead.floor.holder_in_turn" : "lead.floor.holder", { name: this.nameOf(floor.participant) })
      : t("lead.floor.nobody");
    // Read out when who holds the floor changes; the countdown beside it is a silent timer.
    if (this.floorStatus.textContent !== holder) this.floorStatus.textContent = holder;
    const left = floor ? this.floorClock.now() : null;
    this.floorLeft.textContent = !floor ? "" : left === null ? t("floor.no_limit") : t("floor.left", { time: clock(left) });
  }

  /**
   * One member: name and state, the frequent actions (mute, the floor) one click away, and
   * the others in a menu opened by "More".
   * @param {RosterParticipant} p
   */
  memberRow(p) {
    const send = this.conn.send.bind(this.conn);
    /** @type {string[]} */
    const states = [];
    states.push(t(p.muted ? "room.badge.muted" : "room.badge.unmuted"));
    if (!p.camera) states.push(t("room.badge.camera_off"));
    if (p.screen) states.push(t("room.badge.sharing"));
    if (p.hand) states.push(t("room.badge.hand"));
    if (!p.connected) states.push(t("room.badge.disconnected"));
    const holds = this.roster?.floor?.participant === p.id;
    if (holds) states.unshift(t("lead.floor.badge"));
    const named = (/** @type {string} */ key) => t(`${key}_name`, { name: p.name });
    const keyed = (/** @type {string} */ key) => ({ name: named(key), key: `${key}:${p.id}` });
    const open = this.openMenus.has(p.id);
    const menu = el("span", { class: "member-menu", id: `member-menu-${p.id}`, role: "group", "aria-label": named("lead.more") }, [
      button(t("lead.ask_unmute"), () => send({ type: "ask_unmute", participant: p.id }), keyed("lead.ask_unmute")),
      button(t("lead.stop_camera"), () => send({ type: "stop_camera", participant: p.id }), keyed("lead.stop_camera")),
      p.can_share
        ? button(t("lead.revoke_share"), () => send({ type: "screen_permission", participant: p.id, allowed: false }), keyed("lead.revoke_share"))
        : button(t("lead.allow_share"), () => send({ type: "screen_permission", participant: p.id, allowed: true }), keyed("lead.allow_share")),
      button(t("lead.to_lobby"), () => send({ type: "to_lobby", participant: p.id }), keyed("lead.to_lobby")),
      button(t("lead.remove"), () => {
        if (window.confirm(t("lead.remove.confirm", { name: p.name }))) send({ type: "remove", participant: p.id });
      }, { className: "danger", ...keyed("lead.remove") }),
    ]);
    const more = button("", () => setOpen(!this.openMenus.has(p.id)), keyed("lead.more"));
    more.setAttribute("aria-controls", menu.id);
    /** @param {boolean} nowOpen */
    const setOpen = (nowOpen) => {
      if (nowOpen) this.openMenus.add(p.id);
      else this.openMenus.delete(p.id);
      menu.hidden = !nowOpen;
      more.setAttribute("aria-expanded", String(nowOpen));
      more.textContent = `${t("lead.more")} ${nowOpen ? "▴" : "▾"}`;
    };
    setOpen(open);
    menu.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      setOpen(false);
      more.focus();
    });
    const name = el("span", { class: "person-name", text: p.name, title: p.name });
    return el("li", { class: `person member-row${holds ? " has-floor" : ""}`, "data-participant": p.id }, [
      name,
      el("span", { class: "person-state", text: states.join(" · ") }),
      el("span", { class: "person-actions" }, [
        button(t("lead.mute"), () => send({ type: "mute_member", participant: p.id }), keyed("lead.mute")),
        holds
          ? button(t("lead.floor.end"), () => send({ type: "end_floor" }), { className: "primary", ...keyed("lead.floor.end") })
          : button(t("lead.floor.give"), () => this.giveFloor(p.id), { className: "primary", ...keyed("lead.floor.give") }),
        more,
      ]),
      menu,
    ]);
  }
}
