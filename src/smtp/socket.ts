// Opening the TCP or implicit-TLS connection to the target, and turning TLS failures into errors
// that say what to change (CA, server name, verification, port).
import net from 'node:net';
import tls from 'node:tls';
import { PostboteError, toPostboteError } from '../errors.js';
import { answeredInPlainText } from '../util/tls-probe.js';
import type { SmtpClientOptions } from './types.js';

/** TLS options for implicit TLS and STARTTLS alike. */
export function tlsOptions(o: SmtpClientOptions): tls.ConnectionOptions {
  const name = o.servername ?? o.host;
  return {
    host: o.host,
    // SNI must not carry an IP literal (RFC 6066 3); the certificate is then checked against `host`.
    servername: net.isIP(name) ? undefined : name,
    rejectUnauthorized: o.tlsVerify !== false,
    // Node's `ca` replaces the trusted roots; the option means "also trust this one".
    ca: o.ca === undefined ? undefined : [...tls.rootCertificates, o.ca.toString()],
  };
}

/** Resolves once TCP (and for tls: 'tls' the TLS handshake) is up, within `timeoutMs`. */
export function openSocket(o: SmtpClientOptions, timeoutMs: number, where: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const base = { host: o.host, port: o.port, localAddress: o.localAddress };
    const implicitTls = o.tls === 'tls';
    const socket = implicitTls ? tls.connect({ ...base, ...tlsOptions(o) }) : net.connect(base);
    let tcpUp = false;
    const timer = setTimeout(() => {
      socket.destroy();
      const stage = tcpUp ? 'the TLS handshake did not finish' : 'no connection';
      reject(
        new PostboteError('CONNECT_TIMEOUT', `${stage} within ${timeoutMs / 1000} s`, {
          temporary: true,
          where,
          hint: tcpUp
            ? `check that port ${o.port} speaks implicit TLS (else use tls: starttls or none)`
            : 'check host, port and firewalls between Postbote and the target',
        }),
      );
    }, timeoutMs);
    const onError = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(tcpUp && implicitTls ? tlsFailed(err, o, where) : toPostboteError(err, where));
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      tcpUp = true;
      // Writes are already batched (corked commands, large body chunks); Nagle would only hold back the
      // small final ".\r\n" until the server's delayed ACK, about 40 ms per message on loopback.
      socket.setNoDelay(true);
    });
    socket.once(implicitTls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      resolve(socket);
    });
  });
}

// OpenSSL / Node codes that mean "the certificate was not accepted" rather than "TLS did not work".
const CERT_ERROR = /CERT|SELF_SIGNED|ALTNAME|UNABLE_TO_(?:GET|VERIFY)|HOSTNAME|ISSUER/;

export function tlsFailed(err: Error, o: SmtpClientOptions, where: string): PostboteError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (o.tls === 'tls' && answeredInPlainText(err)) {
    // OpenSSL's own words ("ssl3_get_record:wrong version number") name no setting; this is the cause.
    return new PostboteError('TLS_FAILED', `port ${o.port} answered the TLS handshake in plain text`, {
      temporary: true,
      where,
      hint: 'this port speaks plain text: set tls: starttls or none (implicit TLS, SMTPS, is usually port 465)',
      cause: err,
    });
  }
  const hint = CERT_ERROR.test(code)
    ? `the server's certificate was not accepted (${code}): set target.ca to the CA certificate (PEM) ` +
      `that issued it, target.servername to the name it was issued for, or tlsVerify: false on a trusted network`
    : o.tls === 'tls'
      ? `check that port ${o.port} speaks implicit TLS (else use tls: starttls) and that the server's TLS versions are current`
      : `the STARTTLS handshake failed: check the certificate and TLS versions of the receive connector`;
  // Temporary: a certificate or TLS fault is the connector's, never the mail's; retry once it is fixed.
  return new PostboteError('TLS_FAILED', `TLS with the target failed: ${err.message}`, {
    temporary: true,
    where,
    hint,
    cause: err,
  });
}
