// The observer's panel (/s/{code}/observe, once admitted): their own notes on the members,
// sealed on the server under their name and read by nobody else, and the observation figures
// when the counselor allows observers to see them.

import { byId, el, show } from "./dom.js";
import { t } from "./i18n.js";
import { clock } from "./timing.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").RosterMessage} RosterMessage
 * @typedef {import("./protocol.js").ObservationMessage} ObservationMessage
 */

export class ObserverPanel {
  /** @param {LingkarConnection} conn */
  constructor(conn) {
    this.conn = conn;
    this.member = byId("observer-note-member", HTMLSelectElement);
    this.text = byId("observer-note-text", HTMLTextAreaElement);
    this.status = byId("observer-note-status", HTMLElement);
    this.figures = byId("observer-figures", HTMLElement);
    this.figureList = byId("observer-figures-list", HTMLElement);
    /** @type {Map<string, string>} drafts by member, kept while switching between members */
    this.drafts = new Map();
    /** @type {Map<string, string>} member id -> name */
    this.names = new Map();
    /** The member whose note the text area holds. */
    this.shown = "";
    this.member.addEventListener("change", () => {
      this.drafts.set(this.shown, this.text.value);
      this.shown = this.member.value;
      this.text.value = this.drafts.get(this.shown) ?? "";
      this.status.textContent = "";
    });
    byId("observer-note-form", HTMLFormElement).addEventListener("submit", (event) => {
      event.preventDefault();
      const participant = this.member.value;
      if (!participant) {
        this.status.textContent = t("observer.no_members");
        return;
      }
      this.drafts.set(participant, this.text.value);
      conn.send({ type: "note", participant, text: this.text.value, ratings: { active: null, respects: null, serious: null } });
    });
    conn.on("note_saved", ({ participant }) => {
      this.status.textContent = t("observer.saved", { name: this.names.get(participant) ?? "" });
    });
    conn.on("error", (error) => {
      if (error.ref === "note") this.status.textContent = error.message;
    });
    conn.on("roster", (roster) => this.onRoster(roster));
    conn.on("observation", (observation) => this.onObservation(observation));
    conn.on("you", (you) => show(this.figures, you.permissions.includes("observe_figures")));
  }

  /** @param {RosterMessage} roster */
  onRoster(roster) {
    const members = roster.participants.filter((p) => p.role === "member");
    for (const p of members) this.names.set(p.id, p.name);
    this.member.replaceChildren(...members.map((p) => el("option", { value: p.id, text: p.name })));
    if (members.some((p) => p.id === this.shown)) {
      this.member.value = this.shown;
      return;
    }
    // The member whose note was open left: keep the draft, show the first one's.
    if (this.shown) this.drafts.set(this.shown, this.text.value);
    this.shown = this.member.value;
    this.text.value = this.drafts.get(this.shown) ?? "";
  }

  /** @param {ObservationMessage} observation */
  onObservation(observation) {
    this.figureList.replaceChildren(
      ...observation.members.map((m) =>
        el("li", {
          class: "person",
          text: t("observer.figure_line", {
            name: m.name,
            speaking: clock(m.speaking_seconds),
            turns: String(m.turns),
            hands: String(m.hands),
          }),
        }),
      ),
    );
  }
}
