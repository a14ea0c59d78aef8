// Where the login form may send a freshly logged-in admin: only a page of this site, never another one.
// Browsers forgive a lot on the way to a URL (they drop tabs and newlines, read `\` as `/`, resolve dot
// segments), so the check is made on what a URL parser makes of the value, not on its first characters.

/** Longer than any page's address with a full search; a `next` beyond it is not one of ours. */
export const MAX_NEXT_LENGTH = 2048;

/** Stands for this site: whatever resolves to another origin would leave it. `.invalid` never resolves. */
const SITE = 'http://postbote.invalid';
/** Control characters (browsers drop some, which turns `/\t/x` into `//x`) and backslashes (read as `/`). */
function hasForbidden(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x5c) return true;
  }
  return false;
}

function isLocalPath(path: string): boolean {
  if (!path.startsWith('/') || path.startsWith('//') || hasForbidden(path)) return false;
  let url: URL;
  try {
    url = new URL(path, SITE);
  } catch {
    return false;
  }
  // `/a/../..//x` normalises to the path `//x`: harmless itself, but one more hop makes it a host.
  return url.origin === SITE && !url.pathname.startsWith('//');
}

/**
 * `next` if it is a path of this site, else `/`. Checked as sent and once percent-decoded, so neither
 * the browser nor anything that decodes it on a later hop (`/%2F%2Fx`, `/%09/x`, `%0d%0a`) finds a
 * host or a header in it.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > MAX_NEXT_LENGTH) return '/';
  let decoded: string;
  try {
    decoded = decodeURIComponent(next);
  } catch {
    return '/';
  }
  return isLocalPath(next) && isLocalPath(decoded) ? next : '/';
}
