// Shared fixtures for the SMTP client tests: an in-process smtp-server that records what it received,
// a raw scriptable fake server, and a throwaway self-signed certificate. Named *.test.ts so the build
// leaves it out; it holds no tests itself.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import type { Envelope, SendResult, SmtpConnection } from './types.js';

export interface Received {
  from: string;
  to: string[];
  /** MAIL FROM parameters as smtp-server parsed them (SIZE, BODY…). */
  params: Record<string, unknown>;
  body: Buffer;
  remoteAddress: string;
  user: unknown;
}

export interface TestServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** smtp-server on 127.0.0.1:0; records every message unless `options.onData` replaces that. */
export async function startSmtpServer(options: SMTPServerOptions = {}): Promise<TestServer> {
  const received: Received[] = [];
  const server = new SMTPServer({
    logger: false,
    hideENHANCEDSTATUSCODES: false,
    disableReverseLookup: true,
    // A test that failed may leave its client connected; do not wait 30 s for it at close().
    closeTimeout: 200,
    disabledCommands: options.onAuth ? [] : ['AUTH'],
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(record(session, Buffer.concat(chunks)));
        callback(null);
      });
    },
    ...options,
  });
  // smtp-server reports clients that hang up mid-handshake as server errors; tests do that on purpose.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as net.AddressInfo).port;
  return { port, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export function record(session: SMTPServerSession, body: Buffer): Received {
  const env = session.envelope;
  return {
    from: env.mailFrom ? env.mailFrom.address : '',
    to: env.rcptTo.map((r) => r.address),
    params: env.mailFrom ? (env.mailFrom.args as Record<string, unknown>) : {},
    body,
    remoteAddress: session.remoteAddress,
    user: session.user,
  };
}

/** An Error carrying an SMTP reply code, the way smtp-server's hooks expect refusals. */
export function smtpError(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

let cert: { key: string; cert: string } | undefined;

/** A self-signed certificate for localhost and 127.0.0.1, made once per test process. */
export function selfSignedCert(): { key: string; cert: string } {
  if (cert) return cert;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'postbote-smtp-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        path.join(dir, 'key.pem'),
        '-out',
        path.join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    cert = {
      key: readFileSync(path.join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(path.join(dir, 'cert.pem'), 'utf8'),
    };
    return cert;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a fake server's script sees: the lines received so far and a way to answer. */
export interface FakeSession {
  socket: net.Socket;
  /** Resolves with the next line the client sends (without CRLF). */
  line(): Promise<string>;
  /** Resolves with everything up to and including the next "\r\n.\r\n" (the end of DATA). */
  data(): Promise<string>;
  say(text: string): void;
}

/** A raw TCP server that runs `script` for each connection: for misbehaving-server cases. */
export async function startFakeServer(script: (s: FakeSession) => Promise<void>): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = '';
    let wake: (() => void) | undefined;
    socket.on('data', (c: Buffer) => {
      buffered += c.toString('latin1');
      wake?.();
    });
    const until = async (end: string): Promise<string> => {
      for (;;) {
        const i = buffered.indexOf(end);
        if (i !== -1) {
          const got = buffered.slice(0, i + end.length);
          buffered = buffered.slice(i + end.length);
          return got;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    };
    const session: FakeSession = {
      socket,
      line: async () => (await until('\r\n')).slice(0, -2),
      data: () => until('\r\n.\r\n'),
      say: (text) => socket.write(text.endsWith('\n') ? text : `${text}\r\n`),
    };
    script(session).catch(() => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    received: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** An in-memory connection to the target for pass and metrics tests: `send` decides each transaction. */
export function fakeConnection(send: SmtpConnection['send']): SmtpConnection {
  return {
    extensions: new Map(),
    secure: false,
    closed: false,
    send,
    reset: async () => ({ code: 250, text: 'ok' }),
    probe: async () => ({ recipients: [] }),
    quit: async () => undefined,
    close: () => undefined,
  };
}

/** The target's answer when it takes the message for every recipient of `envelope`. */
export function acceptedAll(envelope: Envelope): SendResult {
  return {
    recipients: envelope.to.map((address) => ({
      address,
      stage: 'DATA' as const,
      reply: { code: 250, text: 'ok' },
    })),
  };
}
