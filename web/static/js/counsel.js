// The leader's counseling record while the session runs: the observation figures per member
// (from the server's `observation`, every 2 s), a note with three quick ratings per member
// (`note`, confirmed by `note_saved`), the closing evaluation (open/close, answers as they
// arrive) and the session plan (RPL). Only the leader's page loads this; members never see it.

import { announce, byId, el, show } from "./dom.js";
import { t } from "./i18n.js";
import { clock } from "./timing.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").MemberObservation} MemberObservation
 * @typedef {import("./protocol.js").EvaluationAnswerMessage} EvaluationAnswerMessage
 * @typedef {{row: HTMLTableRowElement, cells: HTMLTableCellElement[]}} ObservationRow
 * @typedef {{root: HTMLElement, summary: HTMLElement, text: HTMLTextAreaElement,
 *   ratings: Record<"active" | "respects" | "serious", HTMLSelectElement>, status: HTMLElement,
 *   save: HTMLButtonElement, name: string}} NoteForm
 */

/** The research's three indicators, in the order the forms show them. */
const INDICATORS = /** @type {const} */ (["active", "respects", "serious"]);
const MAX_NOTE_CHARS = 4000;
/** The plan's texts, in the order the panel shows them (`plan.<key>` in the catalogue). */
const PLAN_TEXTS = ["topic", "goals", "materials", "evaluation_plan"];

export class CounselPanel {
  /** @param {LingkarConnection} conn @param {string} sessionId "" when the page was not told */
  constructor(conn, sessionId) {
    this.conn = conn;
    this.obsTable = byId("obs-table", HTMLTableElement);
    this.obsRows = byId("obs-rows", HTMLTableSectionElement);
    this.obsEmpty = byId("obs-empty", HTMLElement);
    this.notes = byId("notes-list", HTMLElement);
    this.evalState = byId("eval-lead-state", HTMLElement);
    this.evalOpen = byId("btn-eval-open", HTMLButtonElement);
    this.evalClose = byId("btn-eval-close", HTMLButtonElement);
    this.evalAnswers = byId("eval-answers", HTMLElement);
    this.evalCount = byId("eval-count", HTMLElement);
    /** @type {Map<string, ObservationRow>} */
    this.rows = new Map();
    /** @type {Map<string, NoteForm>} */
    this.forms = new Map();

    this.evalOpen.addEventListener("click", () => this.setEvaluation(true));
    this.evalClose.addEventListener("click", () => this.setEvaluation(false));
    conn.on("observation", ({ members }) => this.onObservation(members));
    conn.on("note_saved", ({ participant }) => this.onNoteSaved(participant));
    conn.on("evaluation_answer", (answer) => this.onAnswer(answer));
    // On every (re)connection the server tells the evaluation's state and replays the answers.
    conn.on("welcome", () => {
      this.evalAnswers.replaceChildren();
      this.evalCount.textContent = "0";
    });
    conn.on("evaluation", ({ open }) => this.showEvaluation(open));
    conn.on("error", (error) => {
      if (error.ref !== "note") return;
      for (const form of this.forms.values()) {
        if (form.status.dataset.state === "saving") setStatus(form, "error", t("note.failed"));
      }
    });
    if (sessionId) void this.loadPlan(sessionId);
  }

  // ---- observation ----

  /** @param {MemberObservation[]} members */
  onObservation(members) {
    const present = new Set(members.map((m) => m.id));
    for (const [id, row] of this.rows) {
      if (!present.has(id)) {
        row.row.remove();
        this.rows.delete(id);
      }
    }
    members.forEach((m, index) => {
      let row = this.rows.get(m.id);
      if (!row) {
        const cells = [0, 1, 2, 3, 4, 5].map(() => el("td"));
        const tr = el("tr", { "data-participant": m.id }, [el("th", { scope: "row", text: m.name }), ...cells]);
        row = { row: tr, cells };
        this.rows.set(m.id, row);
      }
      if (this.obsRows.children[index] !== row.row) this.obsRows.insertBefore(row.row, this.obsRows.children[index] ?? null);
      const values = [clock(m.speaking_seconds), String(m.turns), String(m.hands), String(m.chats), clock(m.present_seconds), t(`obs.link.${m.link ?? "unknown"}`)];
      values.forEach((value, i) => {
        const cell = row.cells[i];
        if (cell && cell.textContent !== value) cell.textContent = value;
      });
      this.noteForm(m.id, m.name);
    });
    // A form being written stays, even if its member left (the note is still theirs to save).
    for (const [id, form] of this.forms) {
      if (!present.has(id) && !form.root.querySelector("details")?.open) {
        form.root.remove();
        this.forms.delete(id);
      }
    }
    show(this.obsTable, members.length > 0);
    show(this.obsEmpty, members.length === 0);
  }

  // ---- notes ----

  /** The note form on one member, made once and kept. @param {string} id @param {string} name */
  noteForm(id, name) {
    const existing = this.forms.get(id);
    if (existing) return existing;
    const prefix = `note-${id}`;
    const text = el("textarea", { id: `${prefix}-text`, maxlength: String(MAX_NOTE_CHARS), rows: "3" });
    /** @type {Record<string, HTMLSelectElement>} */
    const ratings = {};
    const ratingFields = INDICATORS.map((key) => {
      const select = el("select", { id: `${prefix}-${key}` }, [
        el("option", { value: "", text: t("note.rating.none") }),
        ...[1, 2, 3, 4, 5].map((n) => el("option", { value: String(n), text: String(n) })),
      ]);
      ratings[key] = select;
      return el("span", { class: "note-rating" }, [el("label", { for: select.id, text: t(`note.rating.${key}`) }), select]);
    });
    const status = el("span", { class: "note-status", role: "status" });
    const save = el("button", { type: "submit", class: "button small primary", text: t("note.save"), "aria-label": t("note.save_name", { name }) });
    const form = el("form", { class: "note-form" }, [
      el("label", { for: text.id, text: t("note.text", { name }) }),
      text,
      el("p", { class: "hint", text: t("note.hint") }),
      el("fieldset", { class: "note-ratings" }, [el("legend", { text: t("note.ratings", { name }) }), ...ratingFields]),
      el("p", { class: "note-actions" }, [save, " ", status]),
    ]);
    const summary = el("summary", { text: t("note.summary", { name }) });
    const root = el("li", { class: "note", "data-participant": id }, [el("details", {}, [summary, form])]);
    /** @type {NoteForm} */
    const note = {
      root,
      summary,
      text,
      ratings: /** @type {NoteForm["ratings"]} */ (ratings),
      status,
      save,
      name,
    };
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendNote(id, note);
    });
    for (const field of [text, ...Object.values(ratings)]) {
      field.addEventListener("input", () => {
        if (status.dataset.state === "saved") setStatus(note, "", "");
      });
    }
    this.forms.set(id, note);
    this.notes.append(root);
    return note;
  }

  /** @param {string} id @param {NoteForm} note */
  sendNote(id, note) {
    /** @param {HTMLSelectElement} select */
    const rating = (select) => (select.value ? Number(select.value) : null);
    const sent = this.conn.send({
      type: "note",
      participant: id,
      text: note.text.value.trim().slice(0, MAX_NOTE_CHARS),
      ratings: {
        active: rating(note.ratings.active),
        respects: rating(note.ratings.respects),
        serious: rating(note.ratings.serious),
      },
    });
    setStatus(note, sent ? "saving" : "error", t(sent ? "note.saving" : "note.failed"));
  }

  /** @param {string} participant */
  onNoteSaved(participant) {
    const note = this.forms.get(participant);
    if (!note) return;
    setStatus(note, "saved", t("note.saved"));
    note.summary.textContent = t("note.summary_saved", { name: note.name });
  }

  // ---- the closing evaluation ----

  /** @param {boolean} open */
  setEvaluation(open) {
    if (!this.conn.send({ type: "evaluation", open })) return;
    this.showEvaluation(open);
    (open ? this.evalClose : this.evalOpen).focus();
  }

  /** @param {boolean} open */
  showEvaluation(open) {
    this.evalState.textContent = t(open ? "eval.lead.opened" : "eval.lead.closed");
    this.evalOpen.disabled = open;
    this.evalClose.disabled = !open;
  }

  /** @param {EvaluationAnswerMessage} answer */
  onAnswer(answer) {
    const who = answer.name ?? t("eval.lead.anonymous");
    /** @type {[string, string][]} */
    const parts = [
      ["eval.understanding", answer.understanding],
      ["eval.comfort", answer.comfort],
      ["eval.action", answer.action],
    ];
    const item = el("li", { class: `eval-answer${answer.name ? "" : " anonymous"}` }, [
      el("p", { class: "eval-who" }, [
        el("strong", { text: who }),
        " ",
        el("span", { class: "eval-rating", text: t("eval.lead.rating", { rating: answer.rating }) }),
      ]),
      el("dl", { class: "stack" }, parts.flatMap(([key, text]) => [
        el("dt", { text: t(key) }),
        el("dd", { class: "prewrap", text: text || t("eval.lead.empty") }),
      ])),
    ]);
    this.evalAnswers.append(item);
    this.evalCount.textContent = String(this.evalAnswers.children.length);
    announce(t("eval.lead.arrived", { name: who }));
  }

  // ---- the plan (RPL) ----

  /** GET the plan of this session (the counselor's cookie goes along). @param {string} sessionId */
  async loadPlan(sessionId) {
    if (!/^\d{1,9}$/.test(sessionId)) return;
    /** @type {any} */
    let body;
    try {
      const response = await fetch(`/dashboard/sessions/${sessionId}/plan.json`, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return;
    }
    const plan = body && typeof body.plan === "object" ? body.plan : null;
    if (!plan) return;
    /** @type {Node[]} */
    const rows = [];
    /** @param {string} label @param {string} value */
    const add = (label, value) => {
      if (value) rows.push(el("dt", { text: label }), el("dd", { class: "prewrap", text: value }));
    };
    add(t("plan.topic"), str(plan.topic));
    if (plan.topic_kind === "assigned" || plan.topic_kind === "free") add(t("plan.topic_kind"), t(`plan.topic_kind.${plan.topic_kind}`));
    if (["personal", "social", "learning", "career"].includes(plan.field)) add(t("plan.field"), t(`plan.field.${plan.field}`));
    for (const key of PLAN_TEXTS.slice(1)) add(t(`plan.${key}`), str(plan[key]));
    if (typeof plan.group_size === "number") add(t("plan.group_size"), String(plan.group_size));
    if (!rows.length) rows.push(el("dd", { class: "muted", text: t("lead.plan.empty") }));
    byId("plan-list", HTMLElement).replaceChildren(...rows);
    show(byId("plan-block", HTMLElement), true);
  }
}

/** @param {unknown} value */
function str(value) {
  return typeof value === "string" ? value.trim() : "";
}

/** @param {NoteForm} note @param {string} state @param {string} text */
function setStatus(note, state, text) {
  note.status.dataset.state = state;
  note.status.textContent = text;
}
