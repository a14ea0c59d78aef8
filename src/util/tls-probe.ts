// Telling which TLS mode a port speaks when the configured one does not work: a port configured as
// plain that stays silent may be waiting for a ClientHello (POP3S 995, SMTPS 465), and a handshake
// answered with text means the port speaks plain. Both are named with the setting to change.
import tls from 'node:tls';

/** Where the probe goes: the same host, port and source address as the real connection. */
export interface ProbeTarget {
  host: string;
  port: number;
  localAddress?: string;
}

// A plain POP3 or SMTP server greets within milliseconds; one silent this long is either slow
// (reverse DNS, tarpitting) or waiting for us to speak TLS. The probe is a separate connection, so
// probing a merely slow server costs nothing but that connection: far better than waiting out 30 s.
export const SILENT_GREETING_PROBE_MS = 1_500;

// A TLS handshake on a LAN or to a provider takes well under a second; a probe that has not finished
// by then proves nothing and is dropped.
const PROBE_TIMEOUT_MS = 5_000;

// OpenSSL's verdicts when the first bytes from the server are not a TLS record: text such as "+OK",
// "-ERR" or "220" reads as a record with an impossible version or length.
const PLAIN_TEXT_ANSWERS = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_UNKNOWN_PROTOCOL',
  'ERR_SSL_RECORD_LAYER_FAILURE',
]);

/** The handshake failed because the server answered in plain text (it does not speak implicit TLS). */
export function answeredInPlainText(err: unknown): boolean {
  return PLAIN_TEXT_ANSWERS.has((err as NodeJS.ErrnoException | undefined)?.code ?? '');
}

/**
 * Whether the port completes a TLS handshake. Nothing is verified and nothing is sent after it: the
 * question is only which mode the port speaks. Resolves false on any failure or after the timeout.
 */
export function speaksTls(t: ProbeTarget, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: t.host,
      port: t.port,
      ...(t.localAddress ? { localAddress: t.localAddress } : {}),
      rejectUnauthorized: false,
    });
    const done = (verdict: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    // The probe must never be what keeps a finished process alive.
    timer.unref();
    socket.unref();
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/**
 * While a greeting is awaited on a plain connection: after SILENT_GREETING_PROBE_MS of silence, asks
 * the port in a second connection whether it speaks TLS and, if so, calls `onTls`. Returns the
 * function that stops the watch (call it when the greeting arrives or the wait ends).
 */
export function watchSilentGreeting(t: ProbeTarget, onTls: () => void): () => void {
  let stopped = false;
  const timer = setTimeout(() => {
    void speaksTls(t).then((yes) => {
      if (yes && !stopped) onTls();
    });
  }, SILENT_GREETING_PROBE_MS);
  timer.unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
