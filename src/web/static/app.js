// @ts-check
/// <reference lib="dom" />
// The admin page's script, served as /static/app.js (a module; the CSP forbids inline scripts): local
// times, actions through the JSON API, and live updates of the [data-live] parts from the event stream.
import { wireActions } from './actions.js';
import { localTimes, texts } from './times.js';

/** Several events in a burst (a pass delivering many messages) cause one reload, this long after. */
const REFRESH_DELAY_MS = 300;
/** "3 min ago" stays roughly true without reloading anything. */
const RETIME_MS = 30_000;
const EVENT_TYPES = ['pass', 'message', 'state', 'listed', 'action'];

const t = texts();
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

/** @type {ReturnType<typeof setTimeout> | undefined} */
let refreshTimer;
let refreshing = false;

function refresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(reloadLiveParts, REFRESH_DELAY_MS);
}

/** Fetches this page again and swaps in the fresh [data-live] parts (not one being typed in). */
async function reloadLiveParts() {
  if (refreshing) return refresh();
  const live = document.querySelectorAll('[data-live][id]');
  if (live.length === 0) return;
  refreshing = true;
  try {
    const res = await fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
    live.forEach((el) => {
      const fresh = doc.getElementById(el.id);
      const typing = el.contains(document.activeElement) && document.activeElement?.tagName === 'INPUT';
      if (!fresh || typing) return;
      el.innerHTML = fresh.innerHTML;
      localTimes(el, t);
    });
    document.dispatchEvent(new CustomEvent('postbote:refreshed'));
  } catch {
    // offline for a moment: the next event or reload brings the page up to date
  } finally {
    refreshing = false;
  }
}

wireActions({ csrf, t, refresh });
localTimes(document, t);
if (csrf && window.EventSource) {
  const source = new EventSource('/api/events');
  for (const type of EVENT_TYPES) source.addEventListener(type, refresh);
}
setInterval(() => localTimes(document, t), RETIME_MS);
