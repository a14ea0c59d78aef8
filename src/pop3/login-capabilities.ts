// What each server's CAPA said at the point of login, remembered from one session to the next, so a
// poll of a server known to pipeline can send CAPA and the login in one write (one round trip less).
// The CAPA is still asked every session, in that same write: its answer is the final word, and a
// server whose capabilities changed is forgotten here, so the next session logs in step by step.
import type { Capabilities } from './capabilities.js';
import type { Pop3Options } from './options.js';

// Distinct servers remembered; a configuration names a handful of provider hosts, tests many more.
const MAX_SERVERS = 1024;

const known = new Map<string, Capabilities>();

/** Same host, port and TLS mode: the same login dialogue (a STLS server's CAPA after TLS). */
function key(o: Pick<Pop3Options, 'host' | 'port' | 'tls'>): string {
  return `${o.host}\0${o.port}\0${o.tls}`;
}

/** The capabilities the last session saw before logging in, if they allow a pipelined login. */
export function pipelinedLogin(o: Pick<Pop3Options, 'host' | 'port' | 'tls'>): Capabilities | undefined {
  const caps = known.get(key(o));
  // UTF8 is said before login (RFC 6856), awaiting its answer: such a server logs in step by step.
  return caps?.has('PIPELINING') && !caps.has('UTF8') ? caps : undefined;
}

export function rememberLogin(o: Pick<Pop3Options, 'host' | 'port' | 'tls'>, caps: Capabilities): void {
  const k = key(o);
  known.delete(k);
  if (known.size >= MAX_SERVERS) known.delete(known.keys().next().value!);
  known.set(k, caps);
}

export function forgetLogin(o: Pick<Pop3Options, 'host' | 'port' | 'tls'>): void {
  known.delete(key(o));
}
