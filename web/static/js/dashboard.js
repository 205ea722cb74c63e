// The dashboard: a card reached by its address (#session-N, as after creating a session) shows
// its link and QR code at once; other cards show them on demand.

function openTargetShare() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  if (!/^session-\d+$/.test(id)) return;
  const share = document.getElementById(id)?.querySelector("details.share");
  if (share instanceof HTMLDetailsElement) share.open = true;
}

openTargetShare();
window.addEventListener("hashchange", openTargetShare);
