// @ts-check
/// <reference lib="dom" />
// Buttons and forms that act through the JSON API with the session's CSRF token, and the toast that
// says how it went.

/** @typedef {import('./times.js').ScriptTexts} ScriptTexts */

/** How long a toast stays: long enough to read a server's reply. */
const TOAST_MS = 4000;

/** @type {ReturnType<typeof setTimeout> | undefined} */
let toastTimer;

/**
 * @param {string} text
 * @param {boolean} [bad]
 */
export function toast(text, bad) {
  const t = document.getElementById('toast');
  if (!t) return;
  t.textContent = text;
  t.className = `toast show${bad ? ' bad' : ''}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    t.className = 'toast';
  }, TOAST_MS);
}

/**
 * @param {string} csrf
 * @param {string} url
 * @param {string} method
 * @param {Record<string, unknown>} [body]
 * @returns {Promise<Record<string, any>>}
 */
async function api(csrf, url, method, body) {
  /** @type {Record<string, string>} */
  const headers = { 'x-csrf-token': csrf };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  /** @type {Record<string, any>} */
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { error: text };
  }
  if (!res.ok) throw new Error(data.error || data.message || `HTTP ${res.status}`);
  return data;
}

/** @param {unknown} err */
function messageOf(err) {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Wires `button[data-post]` and `form[data-api]`; `refresh` reloads the live parts afterwards.
 * @param {{ csrf: string, t: ScriptTexts, refresh: () => void }} o
 */
export function wireActions({ csrf, t, refresh }) {
  document.addEventListener('click', async (ev) => {
    const btn = /** @type {Element | null} */ (ev.target)?.closest('button[data-post]');
    if (!(btn instanceof HTMLButtonElement)) return;
    const question = btn.getAttribute('data-confirm');
    if (question && !window.confirm(question)) return;
    btn.disabled = true;
    try {
      await api(csrf, btn.getAttribute('data-post') ?? '', btn.getAttribute('data-method') || 'POST');
      toast(btn.getAttribute('data-done') || t.done);
      refresh();
    } catch (err) {
      toast(messageOf(err), true);
    } finally {
      btn.disabled = false;
    }
  });

  document.addEventListener('submit', async (ev) => {
    const form = /** @type {Element | null} */ (ev.target)?.closest('form[data-api]');
    if (!(form instanceof HTMLFormElement)) return;
    ev.preventDefault();
    /** @type {Record<string, unknown>} */
    const body = {};
    new FormData(form).forEach((value, key) => {
      if (value === '') return;
      const input = form.elements.namedItem(key);
      body[key] = input instanceof HTMLInputElement && input.type === 'number' ? Number(value) : value;
    });
    const button = form.querySelector('button[type="submit"]');
    if (button instanceof HTMLButtonElement) button.disabled = true;
    const resultId = form.getAttribute('data-result');
    const target = resultId ? document.getElementById(resultId) : null;
    if (target) {
      target.className = 'check-result';
      target.textContent = t.testing;
    }
    try {
      const data = await api(csrf, form.getAttribute('data-api') ?? '', 'POST', body);
      if (target) {
        target.className = `check-result ${data.ok ? 'check-ok' : 'check-bad'}`;
        target.textContent = `${data.ok ? t.ok : t.failed} ${data.subject}: ${data.detail}${data.hint ? ` ${t.fix} ${data.hint}` : ''}`;
      } else {
        toast(form.getAttribute('data-done') || t.done);
        refresh();
      }
    } catch (err) {
      if (target) {
        target.className = 'check-result check-bad';
        target.textContent = messageOf(err);
      } else toast(messageOf(err), true);
    } finally {
      if (button instanceof HTMLButtonElement) button.disabled = false;
    }
  });
}
