// live.js: keeps a run page's live part up to date while the run is in
// progress, without reloading the page. It asks the server for the part
// again (GET data-live-src, an HTML fragment rendered like the page) with
// a growing delay, and swaps it in; it stops when the fragment says the
// run is done. This module is the one place to change to use the API's
// long-poll or Server-Sent Events instead of polling.

const FIRST_DELAY_MS = 400;
const MAX_DELAY_MS = 5000;
const GROWTH = 1.5;

// fetchPart returns the fragment's HTML, or null when the session ended
// (the server redirects to /login or answers 401).
async function fetchPart(src) {
  const res = await fetch(src, { credentials: "same-origin", redirect: "manual", headers: { Accept: "text/html" } });
  if (res.type === "opaqueredirect" || res.status === 401) return null;
  if (!res.ok) throw new Error(`live update: ${res.status}`);
  return res.text();
}

// swap replaces el's children with those of the HTML fragment and reports
// whether the run is still active.
function swap(el, html) {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const state = doc.querySelector("[data-live-state]");
  el.replaceChildren(...doc.body.childNodes);
  return state !== null && state.dataset.liveState === "active";
}

// watch polls el's data-live-src until the run is done.
export function watch(el) {
  const src = el.dataset.liveSrc;
  let delay = FIRST_DELAY_MS;
  const tick = async () => {
    let active = true;
    try {
      const html = await fetchPart(src);
      if (html === null) {
        window.location.reload(); // signed out: the page shows the sign-in form
        return;
      }
      active = swap(el, html);
    } catch (e) {
      console.warn(e);
    }
    if (!active) {
      delete el.dataset.liveActive;
      el.dataset.liveDone = "true";
      return;
    }
    delay = Math.min(delay * GROWTH, MAX_DELAY_MS);
    setTimeout(tick, delay);
  };
  setTimeout(tick, delay);
}
