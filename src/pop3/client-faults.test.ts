// Client against servers that misbehave: drops, stalls, refusals, oversize data, slow consumers.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { PostboteError } from '../errors.js';
import { openPop3 } from './client.js';
import type { Pop3Options } from './options.js';
import { type Pop3ServerOptions, startPop3Server } from './server/index.js';

const BIG = Buffer.from(`Subject: big\r\n\r\n${'0123456789abcdef'.repeat(4096 * 80)}\r\n`); // ~5 MiB

async function withServer(
  extra: Partial<Pop3ServerOptions>,
  run: (o: Pop3Options, server: Awaited<ReturnType<typeof startPop3Server>>) => Promise<void>,
) {
  const server = await startPop3Server({
    users: { info: { password: 'pw', messages: [Buffer.from('Subject: a\r\n\r\nA\r\n'), BIG] } },
    ...extra,
  });
  try {
    await run({ host: server.host, port: server.port, tls: 'none', user: 'info', password: 'pw' }, server);
  } finally {
    await server.close();
  }
}

/** A raw server that answers each command line with whatever `answer` writes. */
const rawSockets = new Map<Server, Set<Socket>>();

async function scripted(
  answer: (line: string, socket: Socket) => void,
  greeting = '+OK hi\r\n',
): Promise<Server> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.write(greeting);
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let lf = buf.indexOf('\n'); lf >= 0; lf = buf.indexOf('\n')) {
        const line = buf.slice(0, lf).trim();
        buf = buf.slice(lf + 1);
        if (line === 'CAPA') socket.write('+OK\r\nUSER\r\n.\r\n');
        else if (/^(USER|PASS)/.test(line)) socket.write('+OK\r\n');
        else answer(line, socket);
      }
    });
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  rawSockets.set(server, sockets);
  return server;
}

function rawOptions(server: Server, extra: Partial<Pop3Options> = {}): Pop3Options {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { host: '127.0.0.1', port, tls: 'none', user: 'u', password: 'p', ...extra };
}

async function closeRaw(server: Server): Promise<void> {
  for (const socket of rawSockets.get(server) ?? []) socket.destroy();
  await new Promise((r) => server.close(r));
}

describe('POP3 client faults', () => {
  test('a connection dropped mid-RETR makes the stream error, never end', async () => {
    await withServer({ hooks: { retrCutAfter: 100_000 } }, async (o) => {
      const s = await openPop3(o);
      const [, big] = (await s.list()).messages;
      await assert.rejects(buffer(s.retrieve(big!)), { code: 'CONNECTION_CLOSED', temporary: true });
      s.abort();
    });
  });

  test('-ERR [IN-USE] at PASS is a temporary POP3_IN_USE with the server words', async () => {
    const hooks = {
      onCommand: (c: { command: string }) =>
        c.command === 'PASS' ? { reply: '-ERR [IN-USE] locked by pid 7' } : undefined,
    };
    await withServer({ hooks, capabilities: { sasl: [] } }, async (o) => {
      const err = await openPop3(o).then(
        () => assert.fail('login succeeded'),
        (e: PostboteError) => e,
      );
      assert.equal(err.code, 'POP3_IN_USE');
      assert.equal(err.temporary, true);
      assert.deepEqual(err.reply, { code: '-ERR', enhanced: 'IN-USE', text: 'locked by pid 7' });
      assert.equal(err.command, 'PASS ****');
      assert.match(err.where ?? '', /^pop3 127\.0\.0\.1:\d+$/);
    });
  });

  test('-ERR on a pipelined DELE refuses only that message, as a temporary error carrying the reply', async () => {
    const hooks = {
      onCommand: (c: { command: string; args: string }) =>
        c.command === 'DELE' && c.args === '2' ? { reply: '-ERR [SYS/TEMP] cannot delete now' } : undefined,
    };
    await withServer({ hooks }, async (o, server) => {
      const s = await openPop3(o);
      const refused = await s.delete((await s.list()).messages);
      assert.deepEqual(
        refused.map((r) => r.message.num),
        [2],
      );
      assert.deepEqual(
        {
          code: (refused[0]!.error as PostboteError).code,
          temporary: (refused[0]!.error as PostboteError).temporary,
          command: (refused[0]!.error as PostboteError).command,
          reply: (refused[0]!.error as PostboteError).reply,
        },
        {
          code: 'POP3_SYS_TEMP',
          temporary: true,
          command: 'DELE 2',
          reply: { code: '-ERR', enhanced: 'SYS/TEMP', text: 'cannot delete now' },
        },
      );
      await s.close();
      assert.equal(server.mailbox('info').length, 1, 'message 1 was deleted, message 2 kept');
    });
    const plain = {
      onCommand: (c: { command: string }) => (c.command === 'DELE' ? { reply: '-ERR no' } : undefined),
    };
    await withServer({ hooks: plain }, async (o) => {
      const s = await openPop3(o);
      const refused = await s.delete((await s.list()).messages);
      assert.deepEqual(
        refused.map((r) => (r.error as PostboteError).code),
        ['POP3_COMMAND', 'POP3_COMMAND'],
      );
      s.abort();
    });
  });

  test('a stalled server fails the command with TIMEOUT within the configured time', async () => {
    const hooks = {
      onCommand: (c: { command: string }) => (c.command === 'LIST' ? ('stall' as const) : undefined),
    };
    await withServer({ hooks }, async (o) => {
      const s = await openPop3({ ...o, timeouts: { command: 300 } });
      const started = Date.now();
      await assert.rejects(s.list(), { code: 'TIMEOUT', temporary: true });
      assert.ok(Date.now() - started < 2000);
    });
  });

  test('a server that goes silent mid-body fails the stream with TIMEOUT after the idle time', async () => {
    const server = await scripted((line, socket) => {
      if (line.startsWith('RETR')) socket.write('+OK\r\nSubject: x\r\n\r\npartial'); // then nothing
    });
    try {
      const s = await openPop3(rawOptions(server, { timeouts: { idle: 300 } }));
      const started = Date.now();
      await assert.rejects(buffer(s.retrieve({ uid: 'x', num: 1, size: 10 })), { code: 'TIMEOUT' });
      assert.ok(Date.now() - started < 2000);
    } finally {
      await closeRaw(server);
    }
  });

  test('the idle time counts from the last chunk: a body that trickles in time lives on, then its silence fails it', async () => {
    const server = await scripted((line, socket) => {
      if (!line.startsWith('RETR')) return;
      socket.write('+OK\r\nSubject: x\r\n\r\n');
      // A chunk every 150 ms for 900 ms (three idle periods of 300 ms), then nothing.
      let n = 0;
      const t = setInterval(() => {
        socket.write(`line ${n}\r\n`);
        if (++n === 6) clearInterval(t);
      }, 150);
      socket.on('close', () => clearInterval(t));
    });
    try {
      const s = await openPop3(rawOptions(server, { timeouts: { idle: 300 } }));
      const started = Date.now();
      const err = await buffer(s.retrieve({ uid: 'x', num: 1, size: 10 })).then(
        () => assert.fail('the body never ended'),
        (e: PostboteError) => e,
      );
      assert.equal(err.code, 'TIMEOUT');
      assert.match(err.message, /server silent for 300 ms/);
      const took = Date.now() - started;
      assert.ok(took >= 1100, `timed out after ${took} ms, before the last chunk's idle time ran out`);
      assert.ok(took < 2500, `timed out only after ${took} ms`);
    } finally {
      await closeRaw(server);
    }
  });

  test('a message over maxMessageSize fails with MESSAGE_TOO_LARGE and the session goes on', async () => {
    await withServer({}, async (o) => {
      const s = await openPop3({ ...o, maxMessageSize: 1_000_000 });
      const [small, big] = (await s.list()).messages;
      await assert.rejects(buffer(s.retrieve(big!)), { code: 'MESSAGE_TOO_LARGE', temporary: false });
      // A server that understates the size in LIST is caught by counting the bytes.
      await assert.rejects(buffer(s.retrieve({ ...big!, size: 10 })), { code: 'MESSAGE_TOO_LARGE' });
      assert.equal((await buffer(s.retrieve(small!))).toString(), 'Subject: a\r\n\r\nA\r\n');
      await s.close();
    });
  });

  test('holds the socket back while the consumer is slow, and still delivers every byte', async () => {
    await withServer({}, async (o) => {
      const s = await openPop3(o);
      const [, big] = (await s.list()).messages;
      const stream = s.retrieve(big!);
      await once(stream, 'readable');
      // Give an unbounded reader time to swallow the whole 5 MiB; a bounded one stops near its highWaterMark.
      await delay(200);
      assert.ok(stream.readableLength < 1024 * 1024, `buffered ${stream.readableLength} octets`);
      assert.ok((await buffer(stream)).equals(BIG));
      await s.close();
    });
  });

  test('a stream destroyed early leaves the session usable', async () => {
    await withServer({}, async (o) => {
      const s = await openPop3(o);
      const [small, big] = (await s.list()).messages;
      const stream = s.retrieve(big!);
      await once(stream, 'readable');
      stream.destroy();
      await s.noop();
      assert.equal((await buffer(s.retrieve(small!))).toString(), 'Subject: a\r\n\r\nA\r\n');
      await s.close();
    });
  });

  test('a server without UIDL is reported as a permanent POP3_COMMAND with a hint', async () => {
    await withServer({ capabilities: { uidl: false } }, async (o) => {
      const s = await openPop3(o);
      await assert.rejects(s.list(), (e: PostboteError) => {
        assert.equal(e.code, 'POP3_COMMAND');
        assert.equal(e.temporary, false);
        assert.match(e.hint ?? '', /UIDL/);
        return true;
      });
      await s.close();
    });
  });

  test('a reply line beyond maxLineLength fails with LINE_TOO_LONG', async () => {
    const server = await scripted(() => {}, `+OK ${'x'.repeat(3 * 1024 * 1024)}\r\n`);
    try {
      await assert.rejects(openPop3(rawOptions(server, { maxLineLength: 1024 * 1024 })), {
        code: 'LINE_TOO_LONG',
      });
    } finally {
      await closeRaw(server);
    }
  });

  test('garbage instead of a status line is a PROTOCOL error', async () => {
    const server = await scripted(() => {}, '* OK IMAP4rev1 ready\r\n');
    try {
      await assert.rejects(openPop3(rawOptions(server)), { code: 'PROTOCOL' });
    } finally {
      await closeRaw(server);
    }
  });

  test('a closed port is a temporary CONNECT_FAILED', async () => {
    const server = await scripted(() => {});
    const o = rawOptions(server);
    await closeRaw(server);
    await assert.rejects(openPop3(o), { code: 'CONNECT_FAILED', temporary: true });
  });
});
