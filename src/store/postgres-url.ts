// The PostgreSQL state URL: masked for every message and log line that shows it, and turned into the
// pool's settings. Credentials come from the URL (`${VAR}` in the config), PGPASSWORD or a password
// file (PGPASSFILE, ~/.pgpass: the pg driver reads them); TLS from libpq's parameters in the URL:
// `?sslmode=verify-full&sslrootcert=/etc/postbote/db-ca.pem` verifies the chain and the host name.
import { PostboteError } from '../errors.js';

const MASK = '****';

/** postgres://user:secret@host/db?password=x → postgres://user:****@host/db?password=**** */
export function maskUrl(url: string): string {
  return url
    .replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, `$1:${MASK}@`)
    .replace(/([?&](?:password|sslpassword)=)[^&]*/gi, `$1${MASK}`);
}

/** Removes every occurrence of the URL's password from a text (a driver message quoting it). */
export function scrub(text: string, url: string): string {
  let out = text.split(url).join(maskUrl(url));
  for (const secret of secretsOf(url)) if (secret.length >= 3) out = out.split(secret).join(MASK);
  return out;
}

function secretsOf(url: string): string[] {
  try {
    const u = new URL(url);
    const out = [u.password, decodeURIComponent(u.password)];
    for (const key of ['password', 'sslpassword']) {
      const v = u.searchParams.get(key);
      if (v) out.push(v);
    }
    return out.filter((s) => s !== '');
  } catch {
    return [];
  }
}

// libpq's modes; the pg driver alone would take an unknown one for "verify-full" without a word.
const SSL_MODES = new Set(['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'no-verify']);

/** Refuses a URL the driver would misread, with the URL masked. */
export function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PostboteError('CONFIG_INVALID', `state ${maskUrl(url)} is not a valid postgres:// URL`, {
      temporary: false,
      hint: 'write it as postgres://USER@HOST:PORT/DATABASE (percent-encode special characters)',
    });
  }
  const mode = u.searchParams.get('sslmode');
  if (mode !== null && !SSL_MODES.has(mode)) {
    throw new PostboteError('CONFIG_INVALID', `state ${maskUrl(url)}: unknown sslmode ${mode}`, {
      temporary: false,
      hint: 'use sslmode=verify-full (with sslrootcert=FILE for a private CA) or sslmode=disable',
    });
  }
  if (u.pathname.length <= 1) {
    throw new PostboteError('CONFIG_INVALID', `state ${maskUrl(url)} names no database`, {
      temporary: false,
      hint: 'end the URL with /DATABASE, e.g. postgres://postbote@db.corp.local/postbote',
    });
  }
}
