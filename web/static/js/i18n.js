// The page's message catalogue: the same /static/i18n/<lang>.json the templates use.

/** @type {Record<string, string>} */
let catalogue = {};

/** The page's language, as the server chose it (`?lang=`, cookie, Accept-Language). */
export function language() {
  return document.documentElement.lang || "id";
}

/** Load the catalogue of the page's language; call once before `t`. */
export async function loadCatalogue() {
  const response = await fetch(`/static/i18n/${language()}.json`, { credentials: "same-origin" });
  catalogue = await response.json();
}

/**
 * The text for a key; `{name}` placeholders are filled from `values`.
 * @param {string} key
 * @param {Record<string, string | number>} [values]
 */
export function t(key, values) {
  let text = catalogue[key] ?? key;
  if (values) {
    for (const [name, value] of Object.entries(values)) text = text.split(`{${name}}`).join(String(value));
  }
  return text;
}
