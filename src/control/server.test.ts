// The control socket's bound on connections counts only the ones it still serves: a connection the
// service has finished with (answered, refused, or idle past the request timeout) no longer counts,
// even before its close event has run, so a client that saw it end is not refused as one too many.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { silentLogger } from '../log.js';
import { MAX_CONTROL_CONNECTIONS, startControlServer } from './server.js';

const PING = JSON.stringify({ v: 1, op: 'ping', args: {}, user: 'tester' });

/** What a client shows of the server's lines: its output decoded, then `exit N`. */
function shown(lines: string): string {
  return lines
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const m = JSON.parse(l) as { t: string; d?: string; code?: number };
      return m.t === 'x' ? `exit ${m.code}` : Buffer.from(m.d ?? '', 'base64').toString('utf8');
    })
    .join('');
}

/** A connection that sends `line`: the socket and what the client shows until the server ends it. */
function talk(path: string, line: string): { socket: Socket; output: Promise<string> } {
  const socket = connect(path);
  socket.write(`${line}\n`);
  socket.setEncoding('utf8');
  const output = new Promise<string>((resolve, reject) => {
    let out = '';
    socket.on('data', (d: string) => {
      out += d;
    });
    socket.on('error', reject);
    socket.on('end', () => resolve(shown(out)));
  });
  return { socket, output };
}

test('a client that connects as soon as the last busy connections were answered is served, not refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'postbote-control-'));
  const path = join(dir, 'postbote.sock');
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let waiting = 0;
  const handlers = new Map([
    [
      'ping' as const,
      async () => {
        waiting++;
        await gate;
        return 0;
      },
    ],
  ]);
  const server = await startControlServer(dir, handlers, silentLogger());
  try {
    const busy = Array.from({ length: MAX_CONTROL_CONNECTIONS }, () => talk(path, PING));
    while (waiting < MAX_CONTROL_CONNECTIONS) await new Promise((r) => setTimeout(r, 5));
    // All answered at once; the next command starts the moment the last answer ends, while the
    // service has not yet seen those connections close.
    let next: Promise<string> | undefined;
    busy.at(-1)!.socket.once('end', () => {
      next = talk(path, PING).output;
    });
    open();
    for (const b of busy) assert.equal(await b.output, 'exit 0');
    assert.equal(await next!, 'exit 0');
  } finally {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
});
