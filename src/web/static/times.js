// @ts-check
/// <reference lib="dom" />
// Times on the page in the reader's own zone and words ("3 min ago"): the server writes UTC.

/** @typedef {{ done: string, testing: string, ok: string, failed: string, fix: string, ago: string, in: string }} ScriptTexts */

/** The words the server put in the page for this script, in the page's language. */
export function texts() {
  const meta = document.querySelector('meta[name="postbote-texts"]');
  /** @type {ScriptTexts} */
  const fallback = {
    done: 'Done',
    testing: 'Testing…',
    ok: 'OK:',
    failed: 'Failed:',
    fix: 'Fix:',
    ago: '{} ago',
    in: 'in {}',
  };
  try {
    return { ...fallback, ...JSON.parse(meta?.getAttribute('content') ?? '{}') };
  } catch {
    return fallback;
  }
}

/**
 * @param {number} ms
 * @param {ScriptTexts} t
 */
export function ago(ms, t) {
  let s = Math.round((Date.now() - ms) / 1000);
  const future = s < 0;
  s = Math.abs(s);
  const text =
    s < 60
      ? `${s} s`
      : s < 3600
        ? `${Math.round(s / 60)} min`
        : s < 86400
          ? `${Math.round(s / 3600)} h`
          : `${Math.round(s / 86400)} d`;
  return (future ? t.in : t.ago).replace('{}', text);
}

/**
 * @param {ParentNode} root
 * @param {ScriptTexts} t
 */
export function localTimes(root, t) {
  const locale = document.documentElement.lang || undefined;
  root.querySelectorAll('time[datetime]').forEach((el) => {
    const ms = Date.parse(el.getAttribute('datetime') ?? '');
    if (Number.isNaN(ms)) return;
    const when = new Date(ms);
    /** @type {HTMLElement} */ (el).title = when.toLocaleString(locale);
    el.textContent = `${when.toLocaleString(locale, { dateStyle: 'short', timeStyle: 'medium' })} (${ago(ms, t)})`;
  });
}
