// TLS session resumption for POP3 connections: the last session ticket per server and trust setting.
// Polling a mailbox every minute repeats the same handshake; resuming skips the key exchange and the
// certificate chain (verified when the session was made) and costs a third of the CPU. A server that
// has never resumed one (Dovecot in its default login mode gives every connection a new process with
// its own ticket key) is offered none for an hour after ten tries: parsing a ticket for nothing costs
// CPU too.
import type { TLSSocket } from 'node:tls';
import { notePeerCertificate } from '../alerts/certificates.js';
import type { Pop3Options } from './options.js';

const MAX_CACHED_SERVERS = 1024;
const MISSES_BEFORE_PAUSE = 10;
const PAUSE_MS = 60 * 60_000;
/**
 * The certificate's expiry (for the alerts, which warn days ahead) is read at most this often per
 * server: reading it turns the whole certificate into an object, a cost per poll for nothing new. A
 * renewed certificate is seen within the hour; a resumed session carries the one already read.
 */
const CERTIFICATE_READ_MS = 60 * 60_000;
const certificateReadAt = new Map<string, number>();

function readCertificate(o: Pop3Options, socket: TLSSocket): void {
  const server = `${o.host}:${o.port}`;
  const now = Date.now();
  if (now - (certificateReadAt.get(server) ?? Number.NEGATIVE_INFINITY) < CERTIFICATE_READ_MS) return;
  if (certificateReadAt.size >= MAX_CACHED_SERVERS)
    certificateReadAt.delete(certificateReadAt.keys().next().value!);
  certificateReadAt.set(server, now);
  notePeerCertificate(o.host, o.port, socket);
}

interface Resumption {
  session?: Buffer;
  /** Offers the server did not take, while it has never taken one. */
  misses: number;
  /** The server has resumed a session of ours: keep offering, whatever the odd miss. */
  resumes: boolean;
  pausedUntil: number;
}

const servers = new Map<string, Resumption>();

/** TLS handshakes since start: how many resumed a session, how many were full (for metrics). */
export const tlsHandshakes = { full: 0, resumed: 0 };

/**
 * The session to offer when connecting with `o` (if any), and `track`, to be called with the new
 * socket: it keeps the tickets the server sends and learns whether the server honours them. Sessions
 * are only shared between connections that would verify the server the same way (same name, same
 * verification, same extra CA).
 */
export function resumption(o: Pop3Options): { session: Buffer | undefined; track(socket: TLSSocket): void } {
  const ca = o.ca === undefined ? '' : o.ca.toString();
  const key = `${o.host}\0${o.port}\0${o.servername ?? ''}\0${o.tlsVerify !== false}\0${ca}`;
  let entry = servers.get(key);
  if (!entry) {
    if (servers.size >= MAX_CACHED_SERVERS) servers.delete(servers.keys().next().value!);
    entry = { misses: 0, resumes: false, pausedUntil: 0 };
    servers.set(key, entry);
  }
  const r = entry;
  const session = r.pausedUntil <= Date.now() ? r.session : undefined;
  return {
    session,
    track(socket) {
      socket.once('secureConnect', () => {
        const reused = socket.isSessionReused();
        // Every POP3 TLS handshake passes here: the certificate's expiry is read for the alerts.
        if (!reused) readCertificate(o, socket);
        if (reused) tlsHandshakes.resumed++;
        else tlsHandshakes.full++;
        if (session === undefined || r.resumes) return;
        if (reused) r.resumes = true;
        else if (++r.misses >= MISSES_BEFORE_PAUSE) {
          r.misses = 0;
          r.pausedUntil = Date.now() + PAUSE_MS;
        }
      });
      socket.on('session', (ticket: Buffer) => {
        r.session = ticket;
      });
    },
  };
}
