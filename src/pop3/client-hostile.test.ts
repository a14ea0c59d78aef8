// Client against hostile or buggy providers: endless and trickling listings, trickling messages, and a
// message whose last line lacks its CRLF before the terminating dot (the desynchronised pipeline).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { afterEach, describe, test } from 'node:test';
import type { PostboteError } from '../errors.js';
import { openPop3 } from './client.js';
import type { Pop3Options } from './options.js';

const servers: Array<{ server: Server; sockets: Set<Socket> }> = [];
afterEach(async () => {
  for (const { server, sockets } of servers.splice(0)) {
    for (const socket of sockets) socket.destroy();
    await new Promise((r) => server.close(r));
  }
});

/** A raw POP3 server: greeting, CAPA (with `capa` lines), any login; other lines go to `answer`. */
async function raw(answer: (line: string, socket: Socket) => void, capa = ['USER']): Promise<Pop3Options> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('+OK hi\r\n');
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let lf = buf.indexOf('\n'); lf >= 0; lf = buf.indexOf('\n')) {
        const line = buf.slice(0, lf).trim();
        buf = buf.slice(lf + 1);
        if (line === 'CAPA') socket.write(`+OK\r\n${capa.map((c) => `${c}\r\n`).join('')}.\r\n`);
        else if (/^(USER|PASS)/.test(line)) socket.write('+OK\r\n');
        else if (line === 'QUIT') socket.end('+OK bye\r\n');
        else answer(line, socket);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  servers.push({ server, sockets });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { host: '127.0.0.1', port, tls: 'none', user: 'u', password: 'p' };
}

/** Writes `next()` again and again while the socket drains, until it closes (a server that never ends). */
function endless(socket: Socket, next: () => string): void {
  const pump = () => {
    while (!socket.destroyed && socket.write(next()));
  };
  socket.on('drain', pump);
  pump();
}

/** Writes one line every `ms` until the socket closes. */
function trickle(socket: Socket, ms: number, next: () => string): void {
  const timer = setInterval(() => {
    if (socket.destroyed) clearInterval(timer);
    else socket.write(next());
  }, ms);
  socket.on('close', () => clearInterval(timer));
}

/** Rejects when `p` has not settled after `ms`: a fault that holds the client forever fails the test. */
function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still waiting after ${ms} ms`)), ms);
  });
  return Promise.race([p, limit]).finally(() => clearTimeout(timer));
}

describe('listings from a hostile server', () => {
  test('an endless UIDL listing ends with POP3_LISTING_TOO_LARGE and memory stays bounded', async () => {
    const o = await raw((line, socket) => {
      if (line !== 'UIDL') return;
      socket.write('+OK\r\n');
      let n = 0;
      endless(socket, () => {
        let chunk = '';
        for (let i = 0; i < 1000; i++) chunk += `${++n} uid-${n}\r\n`;
        return chunk;
      });
    });
    const s = await openPop3(o);
    const base = process.memoryUsage().rss;
    let peak = 0;
    // Without a bound the listing grows by gigabytes a minute: stop the test before the machine does.
    const watch = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss - base);
      if (peak > 1024 * 1024 * 1024) s.abort();
    }, 20);
    try {
      const err = await within(
        s.list().then(
          () => assert.fail('an endless listing was accepted'),
          (e: PostboteError) => e,
        ),
        60_000,
      );
      assert.equal(err.code, 'POP3_LISTING_TOO_LARGE', err.message);
      assert.equal(err.command, 'UIDL');
      assert.match(err.message, /server/);
      assert.ok(peak < 700 * 1024 * 1024, `memory grew by ${Math.round(peak / 1048576)} MiB`);
    } finally {
      clearInterval(watch);
      s.abort();
    }
  });

  test('a listing that trickles a line at a time fails with TIMEOUT by its deadline', async () => {
    const o = await raw((line, socket) => {
      if (line !== 'UIDL') return;
      socket.write('+OK\r\n');
      let n = 0;
      trickle(socket, 50, () => `${++n} uid-${n}\r\n`);
    });
    const s = await openPop3({ ...o, timeouts: { command: 500, idle: 5000 } });
    const started = Date.now();
    await within(assert.rejects(s.list(), { code: 'TIMEOUT', command: 'UIDL' }), 10_000);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    s.abort();
  });
});

describe('messages from a hostile server', () => {
  test('a message that trickles a byte at a time fails with TIMEOUT by its per-message deadline', async () => {
    const o = await raw((line, socket) => {
      if (!line.startsWith('RETR')) return;
      socket.write('+OK 100 octets\r\n');
      trickle(socket, 20, () => 'x');
    });
    const s = await openPop3({ ...o, timeouts: { idle: 5000, message: 500 } });
    const started = Date.now();
    await within(
      assert.rejects(buffer(s.retrieve({ uid: 'a', num: 1, size: 100 })), {
        code: 'TIMEOUT',
        command: 'RETR 1',
      }),
      10_000,
    );
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    s.abort();
  });

  test('a slow reader does not count against the per-message deadline', async () => {
    const body = `Subject: x\r\n\r\n${'y'.repeat(200_000)}\r\n`;
    const o = await raw((line, socket) => {
      if (line.startsWith('RETR')) socket.write(`+OK ${body.length} octets\r\n${body}.\r\n`);
    });
    const s = await openPop3({ ...o, timeouts: { message: 300 } });
    const stream = s.retrieve({ uid: 'a', num: 1, size: body.length });
    await once(stream, 'readable');
    await new Promise((r) => setTimeout(r, 800)); // we hold the socket back, not the server
    assert.equal((await buffer(stream)).toString(), body);
    await s.close();
  });
});

// Message 1 ends "last line" without CRLF, and the server appends ".\r\n" as if it had one.
const BAD = 'Subject: bad\r\n\r\nlast line';
const GOOD = (n: number) => `Subject: good ${n}\r\n\r\nbody ${n}\r\n`;
const messages = [BAD, GOOD(2), GOOD(3)];
const listing = messages.map((m, i) => ({ uid: `u${i + 1}`, num: i + 1, size: Buffer.byteLength(m) }));

function retrServer(
  capa: string[],
  reply = (n: number) => `+OK ${Buffer.byteLength(messages[n - 1]!)} octets`,
) {
  return raw((line, socket) => {
    const m = /^RETR (\d+)$/.exec(line);
    if (m) socket.write(`${reply(Number(m[1]))}\r\n${messages[Number(m[1]) - 1]}.\r\n`);
  }, capa);
}

describe('a message without CRLF before the terminating dot', () => {
  test('pipelined: the body running into the next reply is POP3_DESYNC, and nothing is handed on whole', async () => {
    const s = await openPop3(await retrServer(['USER', 'PIPELINING']));
    assert.equal(s.pipelining, true);
    const streams = s.retrieveMany(listing);
    const results = await within(Promise.allSettled(streams.map((stream) => buffer(stream))), 10_000);
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 'rejected', `message ${i + 1} was handed on as complete`);
    }
    const first = (results[0] as PromiseRejectedResult).reason as PostboteError;
    assert.equal(first.code, 'POP3_DESYNC');
    assert.equal(first.temporary, true);
    assert.equal(first.command, 'RETR 1');
    assert.match(first.message, /\+OK/);
    s.abort();
  });

  test('pipelined: a reply announcing another size than listed is POP3_DESYNC', async () => {
    // The server answers RETR 1 with message 2's reply: replies out of order.
    const s = await openPop3(
      await raw(
        (line, socket) => {
          const m = /^RETR (\d+)$/.exec(line);
          if (!m) return;
          const n = Number(m[1]) === 1 ? 2 : Number(m[1]);
          socket.write(`+OK ${Buffer.byteLength(messages[n - 1]!)} octets\r\n${messages[n - 1]}.\r\n`);
        },
        ['USER', 'PIPELINING'],
      ),
    );
    // RETR 2 and RETR 3 are answered in order: accepted.
    const ok = s.retrieveMany([listing[1]!, listing[2]!]);
    assert.deepEqual((await Promise.all(ok.map((x) => buffer(x)))).map(String), [GOOD(2), GOOD(3)]);
    const [one, three] = s.retrieveMany([listing[0]!, listing[2]!]);
    three!.on('error', () => undefined); // it fails before it is read
    await within(assert.rejects(buffer(one!), { code: 'POP3_DESYNC', command: 'RETR 1' }), 10_000);
    await assert.rejects(buffer(three!), { code: 'POP3_DESYNC' });
    s.abort();
  });

  test('without pipelining (asked for), the body never ends: POP3_UNREADABLE within the deadline', async () => {
    const o = await retrServer(['USER', 'PIPELINING']);
    const s = await openPop3({ ...o, pipelining: false, timeouts: { idle: 400, message: 5000 } });
    assert.equal(s.pipelining, false, 'pipelining: false wins over CAPA');
    const started = Date.now();
    const err = await within(
      buffer(s.retrieve(listing[0]!)).then(
        () => assert.fail('a message without its end was handed on'),
        (e: PostboteError) => e,
      ),
      10_000,
    );
    assert.equal(err.code, 'POP3_UNREADABLE', err.message);
    assert.equal(err.temporary, false);
    assert.equal(err.command, 'RETR 1');
    assert.ok(Date.now() - started < 3000);
    s.abort();
  });

  test('without pipelining, a good message is not mistaken for an unreadable one when the server stalls', async () => {
    const o = await raw((line, socket) => {
      if (line.startsWith('RETR')) socket.write(`+OK 100 octets\r\n${GOOD(2)}`); // then nothing
    });
    const s = await openPop3({ ...o, timeouts: { idle: 300 } });
    await assert.rejects(buffer(s.retrieve({ uid: 'x', num: 1, size: 100 })), { code: 'TIMEOUT' });
    s.abort();
  });
});
