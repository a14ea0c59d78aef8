// RFC 6856 UTF8 and the RFC 2449 capabilities beyond login, against a scripted server that behaves as
// Courier does: a message with UTF-8 headers is replaced by a notice until the client says UTF8.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../log.js';
import { openPop3 } from './client.js';
import type { Pop3Options } from './options.js';

const ORIGINAL = Buffer.from('Subject: Grüße aus Köln\r\nFrom: Jörg <j@example.com>\r\n\r\nHallo\r\n');
const NOTICE = Buffer.from('Subject: Cannot display Unicode content\r\n\r\nnotice\r\n');

interface Script {
  /** CAPA lines before and after login (RFC 2449 lets them differ). */
  before: string[];
  after: string[];
  /** The reply to UTF8 (Courier: +OK). */
  utf8Reply?: string;
  greeting?: string;
}

/** A Courier-like server: records every command; RETR gives the original only in UTF-8 mode. */
async function courierLike(
  script: Script,
): Promise<{ server: Server; commands: string[]; close(): Promise<void> }> {
  const commands: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    let authed = false;
    let utf8 = false;
    const body = () => (utf8 ? ORIGINAL : NOTICE);
    socket.write(script.greeting ?? '+OK ready\r\n');
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let lf = buf.indexOf('\n'); lf >= 0; lf = buf.indexOf('\n')) {
        const line = buf.slice(0, lf).trim();
        buf = buf.slice(lf + 1);
        commands.push(line.startsWith('PASS') ? 'PASS' : line);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'CAPA')
          socket.write(`+OK\r\n${(authed ? script.after : script.before).join('\r\n')}\r\n.\r\n`);
        else if (verb === 'USER') socket.write('+OK\r\n');
        else if (verb === 'PASS') {
          authed = true;
          socket.write('+OK logged in\r\n');
        } else if (verb === 'UTF8') {
          const reply = script.utf8Reply ?? '+OK UTF8 enabled';
          if (reply.startsWith('+OK')) utf8 = true;
          socket.write(`${reply}\r\n`);
        } else if (verb === 'UIDL') socket.write('+OK\r\n1 a1\r\n.\r\n');
        else if (verb === 'LIST') socket.write(`+OK\r\n1 ${body().length}\r\n.\r\n`);
        else if (verb === 'RETR')
          socket.write(Buffer.concat([Buffer.from('+OK\r\n'), body(), Buffer.from('.\r\n')]));
        else if (verb === 'QUIT') socket.end('+OK bye\r\n');
        else socket.write('-ERR unknown\r\n');
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    commands,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function opts(server: Server, extra: Partial<Pop3Options> = {}): Pop3Options {
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return { host: '127.0.0.1', port, tls: 'none', user: 'u', password: 'p', auth: 'user', ...extra };
}

function capture(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return {
    logger: pino({ level: 'debug' }, sink),
    lines: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

async function fetchFirst(o: Pop3Options) {
  const s = await openPop3(o);
  const [m] = (await s.list()).messages;
  const got = await buffer(s.retrieve(m!));
  await s.close();
  return { s, got };
}

describe('POP3 UTF8 mode (RFC 6856)', () => {
  test('says UTF8 before login when CAPA lists it, and gets the original message, byte for byte', async () => {
    const fake = await courierLike({ before: ['USER', 'UIDL', 'UTF8'], after: ['UIDL', 'UTF8'] });
    try {
      const log = capture();
      const { s, got } = await fetchFirst(opts(fake.server, { logger: log.logger }));
      assert.ok(got.equals(ORIGINAL), `got the notice instead: ${got.toString()}`);
      assert.equal(s.utf8, true);
      assert.deepEqual(
        fake.commands.filter((c) => c === 'UTF8'),
        ['UTF8'],
        'UTF8 is sent exactly once',
      );
      assert.ok(fake.commands.indexOf('UTF8') < fake.commands.indexOf('USER u'), 'UTF8 before USER');
      assert.ok(
        log.lines().some((l) => l.level === 30 && /UTF-8 mode/.test(String(l.msg))),
        'the session says it is in UTF-8 mode',
      );
    } finally {
      await fake.close();
    }
  });

  test('says UTF8 after login when only the CAPA after login lists it', async () => {
    const fake = await courierLike({ before: ['USER'], after: ['UIDL', 'UTF8'] });
    try {
      const { s, got } = await fetchFirst(opts(fake.server));
      assert.ok(got.equals(ORIGINAL));
      assert.equal(s.utf8, true);
      assert.ok(fake.commands.indexOf('UTF8') > fake.commands.indexOf('PASS'));
    } finally {
      await fake.close();
    }
  });

  test('never says UTF8 to a server that does not list it', async () => {
    const fake = await courierLike({ before: ['USER', 'UIDL'], after: ['UIDL'] });
    try {
      const { s } = await fetchFirst(opts(fake.server));
      assert.equal(s.utf8, false);
      assert.equal(fake.commands.includes('UTF8'), false);
    } finally {
      await fake.close();
    }
  });

  test('a refused UTF8 is warned about with the server words, and the session goes on', async () => {
    const fake = await courierLike({
      before: ['USER', 'UTF8'],
      after: ['UTF8'],
      utf8Reply: '-ERR not now',
    });
    try {
      const log = capture();
      const { s } = await fetchFirst(opts(fake.server, { logger: log.logger }));
      assert.equal(s.utf8, false);
      const warn = log.lines().find((l) => l.level === 40);
      assert.match(String(warn?.msg), /UTF8 refused.*not now/);
      assert.deepEqual(
        fake.commands.filter((c) => c === 'UTF8'),
        ['UTF8'],
        'not asked again after login',
      );
    } finally {
      await fake.close();
    }
  });
});

describe('POP3 capabilities Postbote does not use (RFC 2449)', () => {
  test('reads LOGIN-DELAY and EXPIRE after login and names unused extensions once at debug level', async () => {
    const fake = await courierLike({
      greeting: '+OK ready <1.2@host>\r\n',
      before: ['USER', 'SASL CRAM-MD5', 'LOGIN-DELAY 300 USER', 'EXPIRE 5 USER'],
      after: ['UIDL', 'LOGIN-DELAY 900', 'EXPIRE 0', 'X-FANCY'],
    });
    try {
      const log = capture();
      const s = await openPop3(opts(fake.server, { logger: log.logger }));
      assert.deepEqual(s.policy, { utf8: false, loginDelay: 900, expire: 0 });
      await s.close();
      const debug = log.lines().filter((l) => l.level === 20 && /not used/.test(String(l.msg)));
      assert.equal(debug.length, 1, 'named once per session');
      assert.deepEqual(debug[0]!.unused, ['APOP (greeting timestamp)', 'X-FANCY']);
    } finally {
      await fake.close();
    }
  });
});
