// The room's chat: the panel, its unread count, sending to everyone or privately to the
// counselor, and what a stage's preset closes. Chat lives only in the server's memory.

import { byId, el, show } from "./dom.js";
import { t } from "./i18n.js";

/**
 * @typedef {import("./protocol.js").LingkarConnection} LingkarConnection
 * @typedef {import("./protocol.js").ChatMessage} ChatMessage
 */

/** The protocol's limit for one chat message (docs/protocol.md). */
const MAX_CHAT_CHARS = 1000;

export class ChatPanel {
  /** @param {LingkarConnection} conn @param {() => string} selfId */
  constructor(conn, selfId) {
    this.conn = conn;
    this.selfId = selfId;
    this.button = byId("btn-chat", HTMLButtonElement);
    this.panel = byId("chat-panel", HTMLElement);
    this.log = byId("chat-log", HTMLElement);
    this.form = byId("chat-form", HTMLFormElement);
    this.text = byId("chat-text", HTMLInputElement);
    this.to = document.getElementById("chat-to");
    this.closedNote = document.getElementById("chat-closed");
    this.unread = 0;
    /** The unread count, described apart from the button's name ("Chat", not "Chat 1"). */
    this.unreadNote = byId("chat-unread", HTMLElement);
    /** Whether the stage closed chat to everyone and we switched "Send to" to the counselor. */
    this.forced = false;
    this.button.addEventListener("click", () => this.toggle());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = this.text.value.trim();
      if (!text) return;
      const to = this.to instanceof HTMLSelectElement && this.to.value === "leader" ? "leader" : "all";
      if (conn.send({ type: "chat", text: text.slice(0, MAX_CHAT_CHARS), to })) this.text.value = "";
    });
    conn.on("chat", (line) => this.onChat(line));
  }

  toggle() {
    const open = this.panel.hidden;
    show(this.panel, open);
    this.button.setAttribute("aria-expanded", String(open));
    if (open) {
      this.unread = 0;
      this.button.removeAttribute("data-unread");
      this.button.removeAttribute("aria-describedby");
      this.unreadNote.textContent = "";
      this.text.focus();
    }
  }

  /** @param {ChatMessage} line */
  onChat(line) {
    this.addLine(line.name, line.text, line.to === "leader" ? "private" : "all");
    if (this.panel.hidden && line.sender !== this.selfId()) {
      this.unread += 1;
      this.button.dataset.unread = String(this.unread);
      this.unreadNote.textContent = t("room.chat_unread", { count: this.unread });
      this.button.setAttribute("aria-describedby", "chat-unread");
    }
  }

  /** @param {string | null} name @param {string} text @param {"all" | "private" | "system"} kind */
  addLine(name, text, kind) {
    const item = el("li", { class: `chat-line ${kind}` }, [
      name ? el("strong", { text: name }) : null,
      kind === "private" ? el("span", { class: "private-tag", text: t("chat.private") }) : null,
      el("span", { class: "chat-text", text }),
    ]);
    this.log.append(item);
    item.scrollIntoView({ block: "nearest" });
  }

  /** A stage's preset closes (or opens) chat to everyone. @param {boolean} closed */
  setClosed(closed) {
    if (!(this.to instanceof HTMLSelectElement)) return;
    const everyone = this.to.querySelector('option[value="all"]');
    if (everyone instanceof HTMLOptionElement) everyone.disabled = closed;
    if (closed && this.to.value === "all") {
      this.to.value = "leader";
      this.forced = true;
    } else if (!closed && this.forced) {
      this.to.value = "all";
      this.forced = false;
    }
    if (this.closedNote) show(this.closedNote, closed);
  }
}
