// One request/reply exchange with a scanner daemon over TCP or a Unix socket: write the request
// (streamed, with backpressure), read a bounded reply until the parser is satisfied, all within a
// deadline. Shared by the spamd and clamd clients.
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { PostboteError } from '../errors.js';

export interface Endpoint {
  host?: string;
  port?: number;
  socket?: string;
}

export function endpointName(e: Endpoint): string {
  return e.socket ?? `${e.host ?? '127.0.0.1'}:${e.port ?? 0}`;
}

export type Parsed<T> = { kind: 'more' } | { kind: 'done'; value: T } | { kind: 'error'; message: string };

export interface Exchange<T> {
  endpoint: Endpoint;
  /** For errors: 'clamd 127.0.0.1:3310'. */
  where: string;
  timeout: number;
  /** Replies longer than this are a protocol error (a daemon is never trusted to end its reply). */
  maxReply: number;
  write(socket: Socket): Promise<void>;
  parse(reply: Buffer): Parsed<T>;
}

export function exchange<T>(x: Exchange<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const socket = x.endpoint.socket
      ? connect({ path: x.endpoint.socket })
      : connect({ host: x.endpoint.host ?? '127.0.0.1', port: x.endpoint.port ?? 0 });
    let reply = Buffer.alloc(0);
    let settled = false;
    const finish = (err: PostboteError | undefined, value?: T) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(value as T);
    };
    const fail = (message: string, cause?: unknown) =>
      finish(new PostboteError('FILTER_UNAVAILABLE', message, { temporary: true, where: x.where, cause }));
    const timer = setTimeout(
      () => fail(`no verdict within ${seconds(x.timeout)} (filters timeout)`),
      x.timeout,
    );
    const tryParse = (atEnd: boolean) => {
      const r = x.parse(reply);
      if (r.kind === 'done') finish(undefined, r.value);
      else if (r.kind === 'error') fail(r.message);
      else if (atEnd) fail(reply.length === 0 ? 'connection closed without a reply' : 'reply cut short');
    };
    socket.on('data', (chunk: Buffer) => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.length > x.maxReply) return fail(`reply longer than ${x.maxReply} bytes`);
      tryParse(false);
    });
    socket.on('end', () => tryParse(true));
    socket.on('close', () => tryParse(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The daemon may answer (e.g. clamd's size limit) and close while we still write: its reply wins.
      if ((err.code === 'EPIPE' || err.code === 'ECONNRESET') && reply.length > 0) return tryParse(true);
      fail(
        err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
          ? 'not reachable (connection refused)'
          : err.message,
        err,
      );
    });
    socket.once('connect', () => {
      x.write(socket).catch((err) => {
        if (!settled && reply.length === 0)
          fail(`sending the message failed: ${(err as Error).message}`, err);
      });
    });
  });
}

/** '60 s', or '300 ms' below a second. */
export function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

/**
 * Writes a stream's chunks to the socket, waiting for 'drain' (no whole-message copy). With `gather`,
 * chunks are collected up to that many bytes and `frame` wraps each group (its pieces go out in one
 * write): a protocol with its own chunk framing then sends few large frames whatever the read size.
 */
export async function writeStream(
  socket: Socket,
  source: Readable,
  frame: (chunks: Buffer[], length: number) => Buffer[] = (c) => c,
  gather = 0,
): Promise<void> {
  let group: Buffer[] = [];
  let length = 0;
  const flush = async () => {
    if (group.length === 0 || socket.destroyed) return;
    const pieces = frame(group, length);
    group = [];
    length = 0;
    socket.cork();
    let ok = true;
    for (const piece of pieces) ok = socket.write(piece) && ok;
    socket.uncork();
    if (!ok) await drained(socket);
  };
  try {
    for await (const chunk of source) {
      if (socket.destroyed) return;
      group.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= gather) await flush();
    }
    await flush();
  } finally {
    source.destroy();
  }
}

function drained(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}
