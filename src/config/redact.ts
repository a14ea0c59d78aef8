// A copy of the configuration that is safe to print (`postbote check`, the web page): secrets masked.
import type { Config } from './types.js';

const MASK = '****';
const SECRET_KEYS = new Set([
  'password',
  'pass',
  'secret',
  'token',
  'accessToken',
  'clientSecret',
  // the web block: hashes are not secrets, but nobody needs them outside the file (offline guessing)
  'passwordHash',
  'tokenHash',
  'keyPem',
]);

export function redactConfig(config: Config): unknown {
  return redact(config);
}

function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    if (SECRET_KEYS.has(key) && inner !== undefined) out[key] = MASK;
    else if ((key === 'caPem' || key === 'certPem') && typeof inner === 'string')
      out[key] = `(PEM, ${inner.length} characters)`;
    else if (typeof inner === 'string' && /^postgres(?:ql)?:\/\//i.test(inner)) out[key] = redactUrl(inner);
    // alerts.webhook.url: a chat tool's webhook carries its secret in the path
    else if (key === 'url' && typeof inner === 'string')
      out[key] = inner.replace(/^(https?:\/\/[^/?#]*).*$/i, `$1/${MASK}`);
    else out[key] = redact(inner);
  }
  return out;
}

/** postgres://user:secret@host/db?password=x → postgres://user:****@host/db?password=**** */
function redactUrl(url: string): string {
  return url
    .replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, `$1:${MASK}@`)
    .replace(/([?&](?:password|sslpassword)=)[^&]*/gi, `$1${MASK}`);
}
