// Client against the in-process server over plain TCP: byte-exact transfer, listing, deletion semantics.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { openPop3 } from './client.js';
import type { Pop3Options } from './options.js';
import { type Pop3Server, startPop3Server } from './server/index.js';

const MESSAGES = [
  Buffer.from('Subject: plain\r\n\r\nHello\r\n'),
  Buffer.from('Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n'),
  Buffer.from([...Buffer.from('Subject: 8bit\r\n\r\n'), 0xe4, 0xf6, 0xfc, 0x00, 0xff, 0x0d, 0x0a]),
  Buffer.from(`Subject: long\r\n\r\n${'x'.repeat(300_000)}\r\n`),
  Buffer.from('Subject: bare lf\r\n\r\nline one\n.dot after bare LF\nlast\r\n'),
  Buffer.from('.Subject: starts with a dot\r\n\r\nbody'),
];

function options(server: Pop3Server, extra: Partial<Pop3Options> = {}): Pop3Options {
  return { host: server.host, port: server.port, tls: 'none', user: 'info', password: 'secret', ...extra };
}

describe('POP3 client over plain TCP', () => {
  let server: Pop3Server;
  before(async () => {
    server = await startPop3Server({ users: { info: { password: 'secret', messages: MESSAGES } } });
  });
  after(() => server.close());

  test('round-trips messages byte for byte (leading dots, 8-bit, long lines, bare LF)', async () => {
    const s = await openPop3(options(server));
    const list = (await s.list()).messages;
    assert.equal(list.length, MESSAGES.length);
    for (const [i, m] of list.entries()) {
      const got = await buffer(s.retrieve(m));
      // The last message has no final CRLF: POP3 adds one before the terminator.
      const want = i === 5 ? Buffer.concat([MESSAGES[i]!, Buffer.from('\r\n')]) : MESSAGES[i]!;
      assert.ok(got.equals(want), `message ${m.num} differs`);
      assert.equal(m.size, MESSAGES[i]!.length);
    }
    await s.close();
  });

  for (const auth of ['user', 'apop', 'plain', 'login'] as const) {
    test(`logs in with ${auth}`, async () => {
      const s = await openPop3(options(server, { auth }));
      assert.deepEqual(await s.stat(), {
        count: MESSAGES.length,
        size: MESSAGES.reduce((n, m) => n + m.length, 0),
      });
      await s.close();
    });
  }

  test('logs commands and replies at debug level without the password, also not in base64', async () => {
    for (const auth of ['user', 'apop', 'plain', 'login'] as const) {
      let log = '';
      const sink = new Writable({
        write(chunk, _enc, cb) {
          log += chunk.toString();
          cb();
        },
      });
      const s = await openPop3(options(server, { auth, logger: pino({ level: 'debug' }, sink) }));
      await s.close();
      assert.match(log, /QUIT/, `${auth}: commands are logged`);
      for (const secret of [
        'secret',
        Buffer.from('secret').toString('base64'),
        Buffer.from('\0info\0secret').toString('base64'),
      ]) {
        assert.equal(log.includes(secret), false, `${auth}: ${secret} leaked into the log`);
      }
    }
  });

  test('rejects a wrong password as permanent POP3_AUTH', async () => {
    await assert.rejects(openPop3(options(server, { password: 'wrong' })), {
      code: 'POP3_AUTH',
      temporary: false,
      reply: { code: '-ERR', enhanced: 'AUTH', text: 'invalid user name or password' },
    });
  });

  test('reads capabilities and TOP', async () => {
    const s = await openPop3(options(server));
    assert.ok(s.capabilities.has('PIPELINING'));
    assert.deepEqual(s.capabilities.get('SASL'), ['PLAIN', 'LOGIN']);
    const [first] = (await s.list()).messages;
    assert.equal((await s.top(first!, 0)).toString(), 'Subject: plain\r\n\r\n');
    await s.noop();
    await s.close();
  });

  test('a second session on a locked mailbox gets temporary POP3_IN_USE', async () => {
    const s = await openPop3(options(server));
    await assert.rejects(openPop3(options(server)), { code: 'POP3_IN_USE', temporary: true });
    await s.close();
  });
});

describe('POP3 deletion semantics', () => {
  test('deletes (pipelined) only when QUIT commits, and RSET undoes marks', async () => {
    const server = await startPop3Server({ users: { info: { password: 'secret', messages: MESSAGES } } });
    try {
      const s = await openPop3(options(server));
      const list = (await s.list()).messages;
      await s.delete(list.slice(0, 3));
      await s.reset();
      await s.delete(list.slice(0, 2));
      assert.equal(server.mailbox('info').length, MESSAGES.length, 'nothing removed before QUIT');
      await s.close();
      assert.deepEqual(server.mailbox('info'), MESSAGES.slice(2));
    } finally {
      await server.close();
    }
  });

  test('commits nothing when the client aborts before QUIT', async () => {
    const server = await startPop3Server({ users: { info: { password: 'secret', messages: MESSAGES } } });
    try {
      const s = await openPop3(options(server));
      await s.delete((await s.list()).messages);
      s.abort();
      // The lock is released when the server sees the connection go; a new session sees everything.
      await server.idle();
      const again = await openPop3(options(server));
      assert.equal((await again.list()).messages.length, MESSAGES.length);
      await again.close();
      assert.equal(server.mailbox('info').length, MESSAGES.length);
    } finally {
      await server.close();
    }
  });

  test('works without PIPELINING, one command at a time', async () => {
    const seen: string[] = [];
    const server = await startPop3Server({
      users: { info: { password: 'secret', messages: MESSAGES } },
      capabilities: { pipelining: false },
      hooks: { onCommand: (c) => void seen.push(c.command) },
    });
    try {
      const s = await openPop3(options(server));
      assert.equal(s.capabilities.has('PIPELINING'), false);
      await s.delete((await s.list()).messages.slice(0, 2));
      await s.close();
      assert.equal(server.mailbox('info').length, MESSAGES.length - 2);
      assert.deepEqual(seen.slice(-5), ['UIDL', 'LIST', 'DELE', 'DELE', 'QUIT']);
    } finally {
      await server.close();
    }
  });
});
