// Opening the transport: TCP, implicit TLS, and the STLS upgrade of a plain socket (RFC 2595),
// with certificate verification on by default and TLS errors explained in terms the user can act on.
import { isIP, Socket } from 'node:net';
import * as tls from 'node:tls';
import { PostboteError, toPostboteError } from '../errors.js';
import { answeredInPlainText } from '../util/tls-probe.js';
import type { Pop3Options } from './options.js';
import { resumption } from './tls-resumption.js';

function tlsOptions(o: Pop3Options, session: Buffer | undefined): tls.ConnectionOptions {
  const servername = o.servername ?? (isIP(o.host) === 0 ? o.host : undefined);
  return {
    rejectUnauthorized: o.tlsVerify !== false,
    secureContext: o.ca !== undefined ? contextWithCa(o.ca.toString()) : systemContext(),
    ...(servername !== undefined ? { servername } : {}),
    ...(session !== undefined ? { session } : {}),
  };
}

/** A TLS client socket with the session resumption for its server wired in. */
function connectTls(o: Pop3Options, extra: tls.ConnectionOptions): tls.TLSSocket {
  const r = resumption(o);
  const secure = tls.connect({ ...extra, ...tlsOptions(o, r.session) });
  r.track(secure);
  return secure;
}

// Distinct extra CAs whose secure contexts are kept; a configuration names a handful at most.
const MAX_CACHED_CONTEXTS = 32;
const contexts = new Map<string, tls.SecureContext>();

let system: tls.SecureContext | undefined;

/**
 * The secure context for a provider with a public certificate (no ca:), built once: tls.connect
 * would build one per connection (about 0.2 ms of CPU each, a poll's twentieth), every one the same.
 */
function systemContext(): tls.SecureContext {
  system ??= tls.createSecureContext();
  return system;
}

/**
 * A secure context trusting the system roots plus `ca`, built once per CA. Building one parses all
 * ~140 root certificates (about 25 ms of CPU); per connection that dominated polling many mailboxes.
 * Node's `ca` replaces the roots, hence both.
 */
function contextWithCa(ca: string): tls.SecureContext {
  let ctx = contexts.get(ca);
  if (!ctx) {
    if (contexts.size >= MAX_CACHED_CONTEXTS) contexts.delete(contexts.keys().next().value!);
    ctx = tls.createSecureContext({ ca: [...tls.rootCertificates, ca] });
    contexts.set(ca, ctx);
  }
  return ctx;
}

const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

/**
 * A failed handshake as TLS_FAILED, with a hint that names the setting to change. `port` is given for
 * implicit TLS (tls: tls), where a plain-text answer means the port does not speak TLS at all.
 */
export function tlsError(err: unknown, where: string, port?: number): PostboteError {
  if (err instanceof PostboteError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const message = (err as Error | undefined)?.message ?? String(err);
  // Only for implicit TLS (`port` given): after STLS a plain answer means a broken server, not a setting.
  if (port !== undefined && answeredInPlainText(err)) {
    // OpenSSL's own words ("ssl3_get_record:wrong version number") name no setting; this is the cause.
    return new PostboteError('TLS_FAILED', `port ${port} answered the TLS handshake in plain text`, {
      temporary: false,
      where,
      hint: 'this port speaks plain text: set tls: starttls or none (POP3S, implicit TLS, is usually port 995)',
      cause: err,
    });
  }
  let hint = 'check that the port speaks TLS the way tls: says (tls for 995, starttls for 110)';
  if (UNTRUSTED.has(code)) {
    hint =
      "certificate not trusted: set ca: to the provider's CA file, or tlsVerify: false if you accept the risk";
  } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    hint = 'the certificate is for another name: use the host name it names, or set servername:';
  } else if (code === 'CERT_HAS_EXPIRED' || code === 'CERT_NOT_YET_VALID') {
    hint =
      "the server's certificate is outside its validity period: tell the provider (or check this machine's clock)";
  }
  return new PostboteError('TLS_FAILED', `TLS handshake failed: ${message}`, {
    temporary: false,
    where,
    hint,
    cause: err,
  });
}

/** Opens TCP (tls: 'none' | 'starttls') or TLS (tls: 'tls'), failing after `timeout` ms. */
export function openSocket(o: Pop3Options, where: string, timeout: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const implicit = o.tls === 'tls';
    const base = { host: o.host, port: o.port, ...(o.localAddress ? { localAddress: o.localAddress } : {}) };
    let socket: Socket;
    if (implicit) {
      socket = connectTls(o, base);
    } else {
      socket = new Socket().connect(base);
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new PostboteError('CONNECT_TIMEOUT', `no connection within ${timeout} ms`, {
          temporary: true,
          where,
          hint: 'check host, port and any firewall in between',
        }),
      );
    }, timeout);
    let tcpUp = false;
    socket.once('connect', () => {
      tcpUp = true;
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      const sysCode = (err as NodeJS.ErrnoException).code ?? '';
      // On an implicit-TLS socket, an error once TCP is up, or any non-system error, is the handshake's.
      const handshake = implicit && (tcpUp || sysCode.startsWith('ERR_') || !sysCode.startsWith('E'));
      reject(handshake ? tlsError(err, where, o.port) : toPostboteError(err, where));
    };
    socket.once('error', onError);
    socket.once(implicit ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** Upgrades a plain socket after "+OK" to STLS. */
export function upgradeSocket(
  plain: Socket,
  o: Pop3Options,
  where: string,
  timeout: number,
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = connectTls(o, { socket: plain });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(
        new PostboteError('TIMEOUT', `TLS handshake after STLS took longer than ${timeout} ms`, {
          temporary: true,
          where,
        }),
      );
    }, timeout);
    secure.once('error', (err) => {
      clearTimeout(timer);
      secure.destroy();
      reject(tlsError(err, where));
    });
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      resolve(secure);
    });
  });
}
