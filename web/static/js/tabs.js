// Tabs (the WAI-ARIA tabs pattern): one pane shown at a time; arrows, Home and End move
// between the tabs, and a tab's `news` mark says something changed while it was not shown.

/** @param {HTMLElement} tab */
function paneOf(tab) {
  const pane = document.getElementById(tab.getAttribute("aria-controls") ?? "");
  if (!pane) throw new Error(`tab #${tab.id} controls no pane`);
  return pane;
}

export class Tabs {
  /** @param {HTMLElement} list the element with role="tablist" */
  constructor(list) {
    /** @type {HTMLElement[]} */
    this.tabs = [...list.querySelectorAll('[role="tab"]')].filter((node) => node instanceof HTMLElement);
    for (const tab of this.tabs) {
      tab.addEventListener("click", () => this.select(tab));
      tab.addEventListener("keydown", (event) => this.onKey(event, tab));
    }
  }

  /** @param {HTMLElement} tab @param {boolean} [focus] */
  select(tab, focus = false) {
    for (const other of this.tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      paneOf(other).hidden = !selected;
    }
    this.markNews(tab, false);
    if (focus) tab.focus();
  }

  /** Show the tab whose pane holds this node. @param {Node} node */
  reveal(node) {
    const tab = this.tabs.find((candidate) => paneOf(candidate).contains(node));
    if (tab && tab.getAttribute("aria-selected") !== "true") this.select(tab);
  }

  /** @param {HTMLElement} tab */
  isShown(tab) {
    return tab.getAttribute("aria-selected") === "true";
  }

  /** Mark (or clear) a tab that has news while another is shown. @param {HTMLElement} tab @param {boolean} news */
  markNews(tab, news) {
    const mark = tab.querySelector(".tab-news");
    if (mark instanceof HTMLElement) mark.hidden = !news || this.isShown(tab);
  }

  /** @param {KeyboardEvent} event @param {HTMLElement} tab */
  onKey(event, tab) {
    const index = this.tabs.indexOf(tab);
    const last = this.tabs.length - 1;
    const target = {
      ArrowRight: index === last ? 0 : index + 1,
      ArrowLeft: index === 0 ? last : index - 1,
      Home: 0,
      End: last,
    }[event.key];
    if (target === undefined) return;
    event.preventDefault();
    this.select(this.tabs[target], true);
  }
}
