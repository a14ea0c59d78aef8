// The command-line side of the control socket: hands a command to a running `postbote run` and prints
// what the service writes, exactly as the command would have printed it itself.
import { connect, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { PostboteError } from '../errors.js';
import { LineSplitter, MAX_REPLY_LINE, type Op, PROTOCOL_VERSION, parseReply } from './protocol.js';
import { MAX_SOCKET_PATH, socketPath } from './server.js';

/**
 * The local folder whose socket reaches this state's service: the state folder, or with a postgres://
 * state the instance's own spool: folder (one service per spool folder; never a path made of the URL).
 */
export function controlDir(config: { state: string; stateKind: string; spool?: string }): string {
  return resolve(config.stateKind === 'postgres' && config.spool ? config.spool : config.state);
}

/** A local socket answers at once; a service that does not accept within 3 s is stuck. */
const CONNECT_TIMEOUT_MS = 3_000;
/** The service sends a heartbeat every 10 s (HEARTBEAT_MS): six missed ones mean it hangs. */
const CLIENT_IDLE_MS = 60_000;

export interface LocalOutput {
  out(data: Buffer): void;
  err(data: Buffer): void;
}

const processOutput: LocalOutput = {
  out: (d) => process.stdout.write(d),
  err: (d) => process.stderr.write(d),
};

/** The OS user, sent with the request so the service logs who did what. */
export function osUser(): string {
  try {
    return userInfo().username || String(process.getuid?.() ?? 'unknown');
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}

/**
 * Asks the service working on `stateDir` to run `op`. Resolves the exit code the service's run ended
 * with, or undefined when no service listens (no socket, or one left by a process that died): the
 * caller then does the work itself under the state's lock.
 */
export async function askService(
  stateDir: string,
  op: Op,
  args: Record<string, unknown>,
  output: LocalOutput = processOutput,
  interactive = process.stderr.isTTY === true,
): Promise<number | undefined> {
  const path = socketPath(stateDir);
  if (process.platform === 'win32' || Buffer.byteLength(path) > MAX_SOCKET_PATH) return undefined;
  const socket = await connectOrNothing(path);
  if (!socket) return undefined;
  socket.write(`${JSON.stringify({ v: PROTOCOL_VERSION, op, args, user: osUser(), interactive })}\n`);
  return new Promise<number>((resolve, reject) => {
    const splitter = new LineSplitter(MAX_REPLY_LINE);
    let done = false;
    const fail = (message: string) => {
      if (done) return;
      done = true;
      socket.destroy();
      reject(new PostboteError('CONNECTION_CLOSED', message, { temporary: true }));
    };
    socket.setTimeout(CLIENT_IDLE_MS, () => fail('the service stopped answering on its control socket'));
    socket.on('data', (chunk: Buffer) => {
      const lines = splitter.push(chunk);
      if (lines === 'too-long') return fail('the service sent a reply line longer than allowed');
      for (const line of lines) {
        const r = parseReply(line);
        if (!r.ok) return fail(`the service sent a bad reply: ${r.error}`);
        const reply = r.value;
        if (reply.t === 'o') output.out(Buffer.from(reply.d, 'base64'));
        else if (reply.t === 'e') output.err(Buffer.from(reply.d, 'base64'));
        else if (reply.t === 'x') {
          done = true;
          socket.end();
          return resolve(reply.code);
        }
      }
    });
    socket.on('error', (err) => fail(`control socket: ${err.message}`));
    socket.on('close', () =>
      fail('the service closed its control socket before the end (is it stopping?); see its log'),
    );
  });
}

function connectOrNothing(path: string): Promise<Socket | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new PostboteError(
          'TIMEOUT',
          `the service did not accept on ${path} within ${CONNECT_TIMEOUT_MS} ms`,
          {
            temporary: true,
          },
        ),
      );
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // No socket, or one a killed service left behind: no service runs.
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTSOCK')
        return resolve(undefined);
      if (err.code === 'EACCES')
        return reject(
          new PostboteError(
            'STATE_IN_USE',
            `cannot open the service's control socket ${path}: permission denied`,
            {
              temporary: false,
              hint: 'run the command as the user the service runs as (e.g. sudo -u postbote postbote …)',
            },
          ),
        );
      reject(
        new PostboteError('CONNECT_FAILED', `control socket ${path}: ${err.message}`, { temporary: true }),
      );
    });
  });
}
