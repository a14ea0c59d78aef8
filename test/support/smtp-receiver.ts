// The company mail server in tests: an in-process smtp-server (or LMTP) that records every accepted
// message byte for byte, answers what a test scripts, and can go down and come back on its port.
import { EventEmitter } from 'node:events';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';

/** A scripted reply; `undefined` from a hook means "accept as usual". */
export interface Reply {
  code: number;
  message: string;
}

export interface Envelope {
  from: string;
  to: string[];
}

export interface ReceiverHooks {
  onConnect?: (remoteAddress: string) => Reply | undefined;
  onRcpt?: (address: string, session: SMTPServerSession) => Reply | undefined;
  /** For LMTP an array gives one reply per recipient (undefined entries accept). */
  onData?: (envelope: Envelope, raw: Buffer) => Reply | Array<Reply | undefined> | undefined;
}

export interface ReceiverOptions extends ReceiverHooks {
  host?: string;
  port?: number;
  lmtp?: boolean;
  /** Offer STARTTLS with this key and certificate (PEM); without it STARTTLS is disabled. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  authRequired?: boolean;
  /** username → password accepted by AUTH PLAIN/LOGIN. */
  users?: Record<string, string>;
}

export interface ReceivedMessage {
  from: string;
  to: string[];
  /** The message as the server saw it after DATA: dot-unstuffed, terminator removed, nothing else. */
  raw: Buffer;
  remoteAddress: string;
  secure: boolean;
  user: string | undefined;
  at: number;
}

export interface Refusal {
  stage: 'connect' | 'rcpt' | 'data';
  code: number;
  from?: string;
  to?: string[];
}

export interface Receiver {
  host: string;
  port: number;
  received: ReceivedMessage[];
  /** Every scripted refusal, in order, to assert that a 4xx or 5xx was really given. */
  refused: Refusal[];
  byRecipient(address: string): Buffer[];
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

// Far above any test message (the corpus tops out at 20 MB), so SIZE never refuses one by surprise.
const MAX_SIZE = 512 * 1024 * 1024;
// How long stop() lets open sessions finish before they get 421 and are closed.
const CLOSE_GRACE_MS = 20;
const DEFAULT_WAIT_MS = 10_000;

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? '127.0.0.1';
  const received: ReceivedMessage[] = [];
  const refused: Refusal[] = [];
  const events = new EventEmitter();
  let server: SMTPServer | undefined;
  let port = options.port ?? 0;

  const record = (m: ReceivedMessage) => {
    received.push(m);
    events.emit('received');
  };

  const listen = async () => {
    const s = createServer(options, record, refused);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.listen(port, host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    // A test's broken client must not crash the test process through an unhandled 'error'.
    s.on('error', () => {});
    port = (s.server.address() as { port: number }).port;
    server = s;
  };
  await listen();

  return {
    host,
    get port() {
      return port;
    },
    received,
    refused,
    byRecipient: (address) =>
      received.filter((m) => m.to.some((t) => t.toLowerCase() === address.toLowerCase())).map((m) => m.raw),
    waitFor: (count, timeoutMs = DEFAULT_WAIT_MS) => waitForCount(events, received, count, timeoutMs),
    stop: async () => {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    start: async () => {
      if (!server) await listen();
    },
  };
}

function createServer(
  options: ReceiverOptions,
  record: (m: ReceivedMessage) => void,
  refused: Refusal[],
): SMTPServer {
  const settings: SMTPServerOptions = {
    lmtp: options.lmtp ?? false,
    name: 'mail.corp.local',
    logger: false,
    disableReverseLookup: true,
    allowInsecureAuth: true,
    authOptional: !options.authRequired,
    authMethods: ['PLAIN', 'LOGIN'],
    size: MAX_SIZE,
    closeTimeout: CLOSE_GRACE_MS,
    disabledCommands: options.tls ? [] : ['STARTTLS'],
    ...(options.tls ? { key: options.tls.key, cert: options.tls.cert } : {}),
    onConnect(session, callback) {
      const reply = options.onConnect?.(session.remoteAddress);
      if (reply) refused.push({ stage: 'connect', code: reply.code });
      callback(reply ? replyError(reply) : null);
    },
    onAuth(auth, _session, callback) {
      const expected = auth.username === undefined ? undefined : options.users?.[auth.username];
      if (expected !== undefined && auth.password === expected)
        return callback(null, { user: auth.username });
      callback(replyError({ code: 535, message: '5.7.8 Authentication credentials invalid' }));
    },
    onRcptTo(address, session, callback) {
      const reply = options.onRcpt?.(address.address, session);
      if (reply) refused.push({ stage: 'rcpt', code: reply.code, to: [address.address] });
      callback(reply ? replyError(reply) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('error', (err) => callback(err));
      stream.once('end', () => {
        const raw = Buffer.concat(chunks);
        const envelope = envelopeOf(session);
        const reply = options.onData?.(envelope, raw);
        if (Array.isArray(reply))
          return callback(null, lmtpReplies(reply, envelope, raw, session, record, refused));
        if (reply) {
          refused.push({ stage: 'data', code: reply.code, ...envelope });
          return callback(replyError(reply));
        }
        record(messageOf(envelope, raw, session));
        callback(null, `2.0.0 Ok: queued as ${Date.now().toString(36)}`);
      });
    },
  };
  return new SMTPServer(settings);
}

/** LMTP: one reply per recipient; the message is recorded once, for the recipients that accepted. */
function lmtpReplies(
  replies: Array<Reply | undefined>,
  envelope: Envelope,
  raw: Buffer,
  session: SMTPServerSession,
  record: (m: ReceivedMessage) => void,
  refused: Refusal[],
): Array<string | Error> {
  const accepted = envelope.to.filter((_, i) => !replies[i]);
  envelope.to.forEach((to, i) => {
    const r = replies[i];
    if (r) refused.push({ stage: 'data', code: r.code, from: envelope.from, to: [to] });
  });
  if (accepted.length > 0) record(messageOf({ from: envelope.from, to: accepted }, raw, session));
  return envelope.to.map((_, i) => {
    const r = replies[i];
    return r ? replyError(r) : '2.0.0 Ok: delivered';
  });
}

function envelopeOf(session: SMTPServerSession): Envelope {
  const from = session.envelope.mailFrom;
  return { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) };
}

function messageOf(envelope: Envelope, raw: Buffer, session: SMTPServerSession): ReceivedMessage {
  const user = session.user as string | undefined;
  return {
    ...envelope,
    raw,
    remoteAddress: session.remoteAddress,
    secure: session.secure,
    user,
    at: Date.now(),
  };
}

function replyError(reply: Reply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

function waitForCount(
  events: EventEmitter,
  received: ReceivedMessage[],
  count: number,
  timeoutMs: number,
): Promise<void> {
  if (received.length >= count) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReceived = () => {
      if (received.length < count) return;
      clearTimeout(timer);
      events.off('received', onReceived);
      resolve();
    };
    const timer = setTimeout(() => {
      events.off('received', onReceived);
      reject(new Error(`receiver got ${received.length} of ${count} messages within ${timeoutMs} ms`));
    }, timeoutMs);
    events.on('received', onReceived);
  });
}
