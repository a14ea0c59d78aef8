// The service's control socket, `<state>/postbote.sock`: `postbote fetch`, `route`, `queue` and `backup`
// started beside a running `postbote run` hand their work to it instead of waiting for the state's lock.
// Who may connect is decided by the file system: the socket is created mode 0600 inside the state
// folder, so only the service's own user (and root) can open it. Node cannot read the peer's
// credentials (SO_PEERCRED) without a native addon, so there is no second check on the peer's uid.
import { chmodSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import {
  type ControlRequest,
  LineSplitter,
  MAX_REQUEST_LINE,
  type Op,
  outputLines,
  parseRequest,
} from './protocol.js';

export const SOCKET_FILE = 'postbote.sock';
/** A few admins and scripts at once; more is a runaway loop or an attack, refused with a reason. */
export const MAX_CONTROL_CONNECTIONS = 8;
/** The client sends its request as soon as it connects: 5 s is generous even on a loaded machine. */
export const REQUEST_TIMEOUT_MS = 5_000;
/** A heartbeat this often keeps a client's idle timer (CLIENT_IDLE_MS) from firing during a long pass. */
export const HEARTBEAT_MS = 10_000;
/** Output a client does not read is not buffered beyond this: the connection is dropped instead. */
const MAX_UNREAD_BYTES = 8 * 1024 * 1024;
/** Below this, a writer that waited for the client to read (drain) goes on. */
const DRAIN_BELOW_BYTES = 1024 * 1024;
/** sun_path is 108 bytes on Linux (104 on macOS) including the final NUL. */
export const MAX_SOCKET_PATH = 103;

/** Where a handler writes: what the client prints on its stdout / stderr. */
export interface ControlIo {
  out(data: string | Buffer): void;
  err(data: string | Buffer): void;
  /** Resolves once the client has read most of what was written (or is gone). */
  drain(): Promise<void>;
  /** The client's stderr is a terminal. */
  interactive: boolean;
  /** The OS user who asked, for the log of actions. */
  user: string;
}

/** Runs one request; resolves the exit code the client exits with. */
export type ControlHandler = (args: Record<string, unknown>, io: ControlIo) => Promise<number>;

export interface ControlServer {
  path: string;
  close(): Promise<void>;
}

export function socketPath(stateDir: string): string {
  return join(stateDir, SOCKET_FILE);
}

/**
 * Listens on `<stateDir>/postbote.sock`. Must be called under the state's lock: a socket file already
 * there is a leftover of a process that died, and is replaced.
 */
export async function startControlServer(
  stateDir: string,
  handlers: ReadonlyMap<Op, ControlHandler>,
  logger: Logger,
): Promise<ControlServer | undefined> {
  const path = socketPath(stateDir);
  if (process.platform === 'win32') {
    // Node speaks named pipes there, which have no file mode to keep other users out: no control
    // socket on Windows; commands beside the service wait for the state's lock (exit 3) as before.
    logger.debug('no control socket on Windows');
    return undefined;
  }
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    logger.warn(
      { path },
      'control socket path too long for a Unix socket: fetch, route and queue beside the service will wait for it instead',
    );
    return undefined;
  }
  try {
    unlinkSync(path);
  } catch {
    // none left over
  }
  const open = new Set<Socket>();
  const server = createServer((socket) => serve(socket, open, handlers, logger));
  // Node's own hard cap, beyond which it drops connections unanswered: room for those being served,
  // as many again being told "too many" or finishing their close.
  server.maxConnections = 2 * MAX_CONTROL_CONNECTIONS;
  // The socket is created with the umask's mode: 0177 makes it 0600 from its first instant, not after
  // a chmod a local user could race.
  const umask = process.umask(0o177);
  try {
    await listen(server, path);
  } finally {
    process.umask(umask);
  }
  chmodSync(path, 0o600);
  logger.debug({ path }, 'control socket listening');
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve()); // removes the socket file
      }),
  };
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Connections still being served. One the service has answered, refused or dropped is ended or
 * destroyed at once but leaves `open` only at its close event, which comes after the loop has polled
 * for new connections: a client that saw the end and connected again must not find it counted.
 */
function serving(open: ReadonlySet<Socket>): number {
  let n = 0;
  for (const s of open) if (!s.destroyed && !s.writableEnded) n++;
  return n;
}

function serve(
  socket: Socket,
  open: Set<Socket>,
  handlers: ReadonlyMap<Op, ControlHandler>,
  logger: Logger,
): void {
  socket.on('error', () => undefined); // a client that went away; nothing to report
  const end = (code: number, message?: string) => {
    if (message) for (const l of outputLines('e', `postbote: ${message}\n`)) socket.write(l);
    socket.end(`${JSON.stringify({ t: 'x', code })}\n`);
  };
  const busy = serving(open);
  open.add(socket); // every connection, so that close() ends them all
  socket.on('close', () => open.delete(socket));
  if (busy >= MAX_CONTROL_CONNECTIONS) {
    end(1, `the service already serves ${MAX_CONTROL_CONNECTIONS} control connections; try again`);
    return;
  }
  const splitter = new LineSplitter(MAX_REQUEST_LINE);
  const timer = setTimeout(() => {
    logger.warn('control socket: no request within the time allowed; connection closed');
    socket.destroy();
  }, REQUEST_TIMEOUT_MS);
  const onData = (chunk: Buffer) => {
    const lines = splitter.push(chunk);
    if (lines === 'too-long') {
      clearTimeout(timer);
      logger.warn(`control socket: request longer than ${MAX_REQUEST_LINE} bytes; connection closed`);
      socket.off('data', onData);
      end(2, 'request too long');
      return;
    }
    if (lines.length === 0) return;
    clearTimeout(timer);
    socket.off('data', onData); // one request per connection: anything after it is ignored
    const parsed = parseRequest(lines[0]!);
    if (!parsed.ok) {
      logger.warn({ error: parsed.error }, 'control socket: bad request; connection closed');
      end(2, `bad control request: ${parsed.error}`);
      return;
    }
    void run(socket, parsed.value, handlers, logger).then((code) => {
      if (!socket.destroyed) socket.end(`${JSON.stringify({ t: 'x', code })}\n`);
    });
  };
  socket.on('data', onData);
}

async function run(
  socket: Socket,
  req: ControlRequest,
  handlers: ReadonlyMap<Op, ControlHandler>,
  logger: Logger,
): Promise<number> {
  const handler = handlers.get(req.op);
  if (!handler) {
    for (const l of outputLines('e', `postbote: the service does not do ${req.op}\n`)) socket.write(l);
    return 2;
  }
  const write = (stream: 'o' | 'e', data: string | Buffer) => {
    if (socket.destroyed) return;
    if (socket.writableLength > MAX_UNREAD_BYTES) {
      logger.warn({ op: req.op }, 'control socket: the client does not read its output; connection dropped');
      socket.destroy();
      return;
    }
    for (const l of outputLines(stream, data)) socket.write(l);
  };
  const io: ControlIo = {
    out: (d) => write('o', d),
    err: (d) => write('e', d),
    drain: () =>
      new Promise<void>((resolve) => {
        if (socket.destroyed || socket.writableLength < DRAIN_BELOW_BYTES) return resolve();
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      }),
    interactive: req.interactive,
    user: req.user,
  };
  const heartbeat = setInterval(() => {
    if (!socket.destroyed) socket.write(`${JSON.stringify({ t: 'w' })}\n`);
  }, HEARTBEAT_MS);
  logger.info({ op: req.op, user: req.user }, `control: ${req.op} asked by ${req.user}`);
  try {
    return await handler(req.args, io);
  } catch (err) {
    logger.error({ err, op: req.op }, 'control: request failed');
    io.err(`postbote: ${(err as Error)?.message ?? String(err)}\n`);
    return 1;
  } finally {
    clearInterval(heartbeat);
  }
}
