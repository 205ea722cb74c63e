// Small DOM helpers. Text always goes in through textContent, never as markup.

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, string | boolean | undefined>} [attrs] attributes; `text` sets textContent
 * @param {(Node | string | null | undefined | false)[]} [children]
 * @returns {HTMLElementTagNameMap[K]}
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/**
 * The element with this id, typed.
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
export function byId(id, type) {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing`);
  return node;
}

/** @param {HTMLElement} node @param {boolean} shown */
export function show(node, shown) {
  node.hidden = !shown;
}

/** Announce a status change to screen readers (and show it). @param {string} text */
export function announce(text) {
  const region = document.getElementById("announcer");
  if (region) {
    region.textContent = "";
    // A separate task, so that the same text twice is still read out.
    setTimeout(() => (region.textContent = text), 50);
  }
}
