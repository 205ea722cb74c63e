// Clocks that count locally between the server's updates (the stage timer, the floor's
// countdown), and the texts of a stage in the page's language.

import { language } from "./i18n.js";

/**
 * Seconds as m:ss (minutes are not capped: 75:00 after an hour and a quarter).
 * @param {number} seconds
 */
export function clock(seconds) {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/**
 * A text the server sends in both languages ({"id": …, "en": …}), in the page's language.
 * @param {Record<string, string> | null | undefined} texts
 */
export function localized(texts) {
  if (!texts) return "";
  return texts[language()] ?? texts.id ?? Object.values(texts)[0] ?? "";
}

/** A value in seconds the server sent, counted on locally: up (elapsed) or down (time left). */
export class LocalClock {
  /** @param {1 | -1} direction */
  constructor(direction) {
    this.direction = direction;
    /** @type {number | null} */
    this.base = null;
    this.at = 0;
  }

  /** Correct the clock with the server's value (null: no value, e.g. a floor without a limit). */
  /** @param {number | null} seconds */
  set(seconds) {
    this.base = seconds;
    this.at = Date.now();
  }

  /** @returns {number | null} */
  now() {
    if (this.base === null) return null;
    return Math.max(0, this.base + (this.direction * (Date.now() - this.at)) / 1000);
  }
}

/** @type {Set<() => void>} */
const tickers = new Set();
/** @type {ReturnType<typeof setInterval> | null} */
let ticking = null;

/**
 * Call `fn` every second (one shared interval for the page).
 * @param {() => void} fn
 */
export function everySecond(fn) {
  tickers.add(fn);
  ticking ??= setInterval(() => {
    for (const tick of tickers) {
      try {
        tick();
      } catch (err) {
        console.error("lingkar tick", err);
      }
    }
  }, 1000);
}
