// The member's closing evaluation (laiseg, UCA: Understanding, Comfort, Action): a form shown
// while the leader has the evaluation open and the member has not answered, then a thank-you.

import { announce, byId, show } from "./dom.js";
import { t } from "./i18n.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").EvaluationMessage} EvaluationMessage
 */

const MAX_ANSWER_CHARS = 1000;

export class EvaluationForm {
  /** @param {LingkarConnection} conn */
  constructor(conn) {
    this.conn = conn;
    this.panel = byId("evaluation-panel", HTMLElement);
    this.heading = byId("evaluation-title", HTMLElement);
    this.form = byId("evaluation-form", HTMLFormElement);
    this.thanks = byId("evaluation-thanks", HTMLElement);
    this.error = byId("eval-error", HTMLElement);
    this.understanding = byId("eval-understanding", HTMLTextAreaElement);
    this.comfort = byId("eval-comfort", HTMLTextAreaElement);
    this.action = byId("eval-action", HTMLTextAreaElement);
    this.anonymous = byId("eval-anonymous", HTMLInputElement);
    /** @type {EvaluationMessage | null} */
    this.state = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    conn.on("evaluation", (state) => this.onState(state));
    conn.on("error", (error) => {
      if (error.ref !== "evaluation_answer") return;
      this.setBusy(false);
      this.error.textContent = t(error.error === "conflict" ? "room.error.evaluation_done" : "room.error.evaluation_closed");
    });
  }

  /** @param {EvaluationMessage} state */
  onState(state) {
    const before = this.state;
    this.state = state;
    const asking = state.open && !state.answered;
    show(this.panel, state.open || (state.answered && !!before?.open));
    show(this.form, asking);
    show(this.thanks, state.answered);
    this.setBusy(false);
    if (asking && !(before?.open && !before.answered)) {
      announce(t("eval.opened"));
      this.panel.scrollIntoView({ block: "start", behavior: "smooth" });
    } else if (!state.open && before?.open && !before.answered) {
      announce(t("eval.closed"));
    } else if (state.answered && !before?.answered) {
      announce(t("eval.thanks"));
      this.heading.focus();
    }
    if (!state.open && state.answered) show(this.panel, false);
  }

  submit() {
    this.error.textContent = "";
    const checked = this.form.querySelector('input[name="eval-rating"]:checked');
    const rating = checked instanceof HTMLInputElement ? Number(checked.value) : 0;
    if (!(rating >= 1 && rating <= 5)) {
      this.error.textContent = t("eval.error.rating");
      const first = this.form.querySelector('input[name="eval-rating"]');
      if (first instanceof HTMLInputElement) first.focus();
      return;
    }
    const sent = this.conn.send({
      type: "evaluation_answer",
      understanding: this.understanding.value.trim().slice(0, MAX_ANSWER_CHARS),
      comfort: this.comfort.value.trim().slice(0, MAX_ANSWER_CHARS),
      action: this.action.value.trim().slice(0, MAX_ANSWER_CHARS),
      rating,
      anonymous: this.anonymous.checked,
    });
    if (!sent) {
      this.error.textContent = t("eval.error.offline");
      return;
    }
    this.setBusy(true);
  }

  /** @param {boolean} busy */
  setBusy(busy) {
    const submit = this.form.querySelector('button[type="submit"]');
    if (submit instanceof HTMLButtonElement) submit.disabled = busy;
  }
}
