// The provider certificates this process has seen: each TLS session to a provider reports its peer
// certificate's expiry once, at the handshake (a hook in the POP3 and IMAP connects: no extra
// connection). The alert watcher reads them; only what was seen since the start is known.
import type { TLSSocket } from 'node:tls';

export interface SeenCertificate {
  /** 'host:port' as configured. */
  server: string;
  validTo: number;
  subject: string;
  seenAt: number;
}

// Servers remembered at most; a configuration names a handful, a long-running test process more.
const MAX_SERVERS = 1024;
const seen = new Map<string, SeenCertificate>();

/** Records `socket`'s peer certificate when its handshake completes (POP3: hooked before it starts). */
export function observePeerCertificate(host: string, port: number, socket: TLSSocket): void {
  socket.once('secureConnect', () => notePeerCertificate(host, port, socket));
}

/** Records the peer certificate of a socket whose handshake is done (IMAP, after connect). */
export function notePeerCertificate(host: string, port: number, socket: TLSSocket): void {
  try {
    const cert = socket.getPeerCertificate();
    const validTo = cert?.valid_to ? Date.parse(cert.valid_to) : Number.NaN;
    if (!Number.isFinite(validTo)) return; // no certificate to read: keep what was known
    const server = `${host}:${port}`;
    seen.delete(server);
    if (seen.size >= MAX_SERVERS) seen.delete(seen.keys().next().value!);
    const cn = cert.subject?.CN;
    seen.set(server, {
      server,
      validTo,
      subject: Array.isArray(cn) ? cn.join(', ') : (cn ?? ''),
      seenAt: Date.now(),
    });
  } catch {
    // the socket closed meanwhile: nothing to learn from it
  }
}

export function seenCertificates(): SeenCertificate[] {
  return [...seen.values()];
}
