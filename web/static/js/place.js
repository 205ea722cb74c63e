// A member's place in a session, kept in this tab's sessionStorage: a reload (phones reload a
// tab that was in the background) or a phone's browser restoring a killed tab comes straight
// back into the room with the same participant, without the form or a new admission. Not a
// cookie and not localStorage: another tab, or the browser after the session, does not have it.

/**
 * @typedef {{participant: string, resume_token: string, name: string, receive: string, camera: boolean,
 *   microphone: boolean}} Place
 */

/** @param {string} code */
const key = (code) => `lingkar.place.${code}`;

/** The place kept for this session in this tab, if any. @param {string} code @returns {Place | null} */
export function loadPlace(code) {
  try {
    const value = JSON.parse(sessionStorage.getItem(key(code)) ?? "null");
    if (
      value &&
      typeof value.participant === "string" &&
      typeof value.resume_token === "string" &&
      typeof value.name === "string" &&
      typeof value.receive === "string" &&
      typeof value.camera === "boolean" &&
      typeof value.microphone === "boolean"
    ) {
      return value;
    }
  } catch {
    /* unreadable: as if nothing was kept */
  }
  return null;
}

/** @param {string} code @param {Place} place */
export function savePlace(code, place) {
  try {
    sessionStorage.setItem(key(code), JSON.stringify(place));
  } catch {
    /* storage full or disabled: a reload then asks again */
  }
}

/** The session is over for this tab (left, denied, removed, ended, expired). @param {string} code */
export function forgetPlace(code) {
  try {
    sessionStorage.removeItem(key(code));
  } catch {
    /* nothing kept */
  }
}
