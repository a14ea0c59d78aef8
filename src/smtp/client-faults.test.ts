// Misbehaving servers, scripted on raw TCP: refusals, drops, stalls, 421, malformed replies.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { afterEach, describe, test } from 'node:test';
import { pino } from 'pino';
import { isPostboteError, type PostboteError } from '../errors.js';
import { connectSmtp } from './client.js';
import { type FakeSession, startFakeServer, type TestServer } from './test-support.test.js';
import type { SmtpClientOptions } from './types.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function fake(script: (s: FakeSession) => Promise<void>): Promise<SmtpClientOptions> {
  server = await startFakeServer(script);
  return { host: '127.0.0.1', port: server.port, tls: 'none', helo: 'postbote.test' };
}

/** Greeting and EHLO with the given extensions. */
async function greet(s: FakeSession, extensions = ['PIPELINING']): Promise<void> {
  s.say('220 fake ESMTP');
  await s.line();
  s.say(
    ['250-fake', ...extensions].map((e, i, all) => `250${i < all.length - 1 ? '-' : ' '}${e}`).join('\r\n'),
  );
}

const body = (size = 10) => Readable.from([Buffer.alloc(size, 'a')]);
const envelope = { from: 'a@x.test', to: ['b@y.test', 'c@y.test'] };

function isError(code: PostboteError['code'], temporary = true) {
  return (err: unknown) => {
    assert.ok(isPostboteError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.equal(err.temporary, temporary);
    return true;
  };
}

describe('refusals at connect', () => {
  test('a 554 greeting is SMTP_REFUSED_CLIENT naming the source address, and the client says QUIT', async () => {
    let quit = '';
    const options = await fake(async (s) => {
      s.say('554 5.7.1 Client host rejected: no access');
      quit = await s.line();
      s.say('221 bye');
    });
    await assert.rejects(connectSmtp({ ...options, localAddress: '127.0.0.2' }), (err) => {
      isError('SMTP_REFUSED_CLIENT')(err);
      const e = err as PostboteError;
      assert.match(e.message, /127\.0\.0\.2/);
      assert.match(e.hint ?? '', /source address 127\.0\.0\.2.*RemoteIPRanges.*target\.localAddress/);
      assert.deepEqual(e.reply, { code: 554, enhanced: '5.7.1', text: 'Client host rejected: no access' });
      return true;
    });
    assert.equal(quit, 'QUIT');
  });

  test('a 421 greeting is a temporary SMTP_GREETING', async () => {
    const options = await fake(async (s) => s.say('421 4.3.2 too busy'));
    await assert.rejects(connectSmtp(options), isError('SMTP_GREETING'));
  });

  test('a refused connection is CONNECT_FAILED', async () => {
    const options = await fake(async () => {});
    await server?.close();
    await assert.rejects(connectSmtp(options), isError('CONNECT_FAILED'));
  });

  test('a greeting that never comes is a TIMEOUT', async () => {
    const options = await fake(() => new Promise(() => {}));
    await assert.rejects(connectSmtp({ ...options, timeouts: { greeting: 100 } }), isError('TIMEOUT'));
  });

  test('a malformed reply is a PROTOCOL error', async () => {
    const options = await fake(async (s) => s.say('hello there'));
    await assert.rejects(connectSmtp(options), isError('PROTOCOL'));
  });

  test('falls back to HELO when EHLO is unknown, then sends commands one by one', async () => {
    const seen: string[] = [];
    const options = await fake(async (s) => {
      s.say('220 old');
      seen.push(await s.line());
      s.say('502 unknown command');
      seen.push(await s.line());
      s.say('250 hi');
      for (const reply of ['250 ok', '250 ok', '250 ok', '354 go']) {
        seen.push(await s.line());
        s.say(reply);
      }
      await s.data();
      s.say('250 queued');
    });
    const conn = await connectSmtp(options);
    assert.equal(conn.extensions.size, 0);
    const result = await conn.send(envelope, body());
    assert.deepEqual(
      result.recipients.map((r) => r.reply.text),
      ['queued', 'queued'],
    );
    assert.deepEqual(seen, [
      'EHLO postbote.test',
      'HELO postbote.test',
      'MAIL FROM:<a@x.test>',
      'RCPT TO:<b@y.test>',
      'RCPT TO:<c@y.test>',
      'DATA',
    ]);
    conn.close();
  });

  test('refuses data sent along with the STARTTLS reply (command injection)', async () => {
    const options = await fake(async (s) => {
      await greet(s, ['STARTTLS']);
      await s.line();
      s.say('220 go ahead\r\n250 injected\r\n');
    });
    await assert.rejects(connectSmtp({ ...options, tls: 'starttls' }), isError('PROTOCOL'));
  });
});

describe('faults during a transaction', () => {
  test('a connection dropped mid-DATA rejects with a temporary error and closes the connection', async () => {
    const options = await fake(async (s) => {
      await greet(s);
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await new Promise((resolve) => s.socket.once('data', resolve));
      s.socket.destroy();
    });
    const conn = await connectSmtp(options);
    await assert.rejects(conn.send(envelope, body(5_000_000)), isError('CONNECTION_CLOSED'));
    assert.equal(conn.closed, true);
    await assert.rejects(conn.send(envelope, body()), isError('CONNECTION_CLOSED'));
  });

  test('a server that refuses the data while it comes and hangs up gives its reply to every recipient', async () => {
    const options = await fake(async (s) => {
      await greet(s);
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await new Promise((resolve) => s.socket.once('data', resolve));
      s.say('552 5.3.4 Message too big');
      s.socket.end();
    });
    const conn = await connectSmtp(options);
    const result = await conn.send(envelope, body(20_000_000));
    assert.deepEqual(
      result.recipients.map((r) => [r.stage, r.reply.code, r.reply.enhanced]),
      [
        ['DATA', 552, '5.3.4'],
        ['DATA', 552, '5.3.4'],
      ],
    );
    assert.equal(conn.closed, true);
  });

  test('a 421 to RCPT rejects with a temporary error carrying the reply and closes', async () => {
    const options = await fake(async (s) => {
      await greet(s);
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n421 4.3.2 shutting down');
    });
    const conn = await connectSmtp(options);
    await assert.rejects(conn.send(envelope, body()), (err) => {
      isError('CONNECTION_CLOSED')(err);
      assert.equal((err as PostboteError).reply?.code, 421);
      return true;
    });
    assert.equal(conn.closed, true);
  });

  test('no reply to the data within the data-end timeout is a TIMEOUT', async () => {
    const options = await fake(async (s) => {
      await greet(s);
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await s.data();
    });
    const conn = await connectSmtp({ ...options, timeouts: { dataEnd: 150 } });
    await assert.rejects(conn.send(envelope, body()), isError('TIMEOUT'));
    assert.equal(conn.closed, true);
  });

  test('ends the data at once when a server answers DATA with 354 although no recipient was accepted', async () => {
    const seen: string[] = [];
    const options = await fake(async (s) => {
      await greet(s);
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go');
      seen.push(await s.line());
      s.say('554 no valid recipients');
    });
    const conn = await connectSmtp(options);
    const result = await conn.send(envelope, body());
    assert.deepEqual(
      result.recipients.map((r) => [r.stage, r.reply.code]),
      [
        ['RCPT', 550],
        ['RCPT', 550],
      ],
    );
    // The lone "." ended the transaction (RFC 5321 4.1.1.4), so no RSET is needed.
    assert.deepEqual(seen, ['.']);
    assert.equal(conn.closed, false);
    conn.close();
  });

  test('LMTP: a 354 although no recipient was accepted drops the connection instead of waiting for replies nobody owes', async () => {
    let seen = '';
    const options = await fake(async (s) => {
      s.say('220 fake LMTP');
      await s.line();
      s.say('250-fake\r\n250 PIPELINING');
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n550 5.1.1 no\r\n550 5.1.1 no\r\n354 go');
      seen = await s.line();
    });
    const conn = await connectSmtp({ ...options, lmtp: true, timeouts: { dataEnd: 2_000 } });
    const result = await conn.send(envelope, body());
    assert.deepEqual(
      result.recipients.map((r) => [r.stage, r.reply.code]),
      [
        ['RCPT', 550],
        ['RCPT', 550],
      ],
    );
    assert.equal(conn.closed, true);
    assert.equal(seen, '');
  });

  test('LMTP keeps the replies received before the connection broke', async () => {
    const options = await fake(async (s) => {
      s.say('220 fake LMTP');
      await s.line();
      s.say('250-fake\r\n250 PIPELINING');
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await s.data();
      s.say('250 2.0.0 delivered to b');
      s.socket.end();
    });
    const conn = await connectSmtp({ ...options, lmtp: true });
    const result = await conn.send(envelope, body());
    const [first, second] = result.recipients;
    assert.deepEqual(first?.reply, { code: 250, enhanced: '2.0.0', text: 'delivered to b' });
    assert.equal(second?.reply.code, 421);
    assert.equal(second?.reply.enhanced, '4.4.2');
    assert.match(second?.reply.text ?? '', /^\[Postbote\]/);
    assert.equal(conn.closed, true);
  });

  test('a body stream that fails aborts by closing the connection', async () => {
    const options = await fake(async (s) => {
      await greet(s);
      for (let i = 0; i < 4; i++) await s.line();
      s.say('250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await s.data();
    });
    const conn = await connectSmtp(options);
    const failing = new Readable({
      read() {
        this.destroy(new Error('spool file vanished'));
      },
    });
    await assert.rejects(conn.send(envelope, failing), isError('SMTP_DATA'));
    assert.equal(conn.closed, true);
  });
});

/** A logger that keeps warnings, to check that a server's fault is reported as such. */
function warnings() {
  const lines: Array<{ msg: string; where?: string; reply?: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** Greeting, EHLO with PIPELINING, then the pipelined MAIL, 2 × RCPT and DATA answered with `replies`. */
async function upToData(s: FakeSession, replies: string): Promise<void> {
  await greet(s);
  for (let i = 0; i < 4; i++) await s.line();
  s.say(replies);
}

describe('a target out of step with the protocol', () => {
  test('a 250 to DATA before the body was sent is a temporary PROTOCOL error, never a delivery', async () => {
    const { logger, lines } = warnings();
    let after = '';
    const options = await fake(async (s) => {
      await upToData(s, '250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued');
      after = await s.line();
      s.say('250 reset');
    });
    const conn = await connectSmtp({ ...options, logger });
    await assert.rejects(conn.send(envelope, body()), (err) => {
      isError('PROTOCOL')(err);
      assert.equal((err as PostboteError).reply?.code, 250);
      return true;
    });
    assert.equal(conn.closed, true);
    assert.equal(after, '', 'nothing more was sent on that connection');
    assert.match(
      lines[0]?.msg ?? '',
      /target 127\.0\.0\.1:\d+ broke the protocol: "250 2\.0\.0 queued" cannot answer DATA/,
    );
  });

  for (const lmtp of [false, true]) {
    test(`a 3xx to the end of data is never a delivery (${lmtp ? 'LMTP' : 'SMTP'})`, async () => {
      const options = await fake(async (s) => {
        await upToData(s, '250 ok\r\n250 ok\r\n250 ok\r\n354 go');
        await s.data();
        s.say(lmtp ? '250 2.0.0 b ok\r\n354 more please' : '354 more please');
        await s.line();
        s.say('250 reset');
      });
      const conn = await connectSmtp({ ...options, lmtp });
      if (lmtp) {
        // The first recipient's 250 stands (delivered; not to be sent again); the second is retried.
        const result = await conn.send(envelope, body());
        assert.deepEqual(
          result.recipients.map((r) => r.reply.code),
          [250, 421],
        );
        assert.match(result.recipients[1]?.reply.text ?? '', /^\[Postbote\] no reply.*354 more please/);
      } else {
        await assert.rejects(conn.send(envelope, body()), (err) => {
          isError('PROTOCOL')(err);
          assert.equal((err as PostboteError).reply?.code, 354);
          return true;
        });
      }
      assert.equal(conn.closed, true);
    });
  }

  test('a 354 to RCPT (replies out of step) is a PROTOCOL error', async () => {
    const options = await fake(async (s) => {
      await upToData(s, '250 ok\r\n354 go\r\n250 ok\r\n354 go');
      await s.data();
      s.say('250 queued');
    });
    const conn = await connectSmtp(options);
    await assert.rejects(conn.send(envelope, body()), isError('PROTOCOL'));
    assert.equal(conn.closed, true);
  });

  test('a reply no command waits for closes the connection instead of answering the next command', async () => {
    const { logger, lines } = warnings();
    const options = await fake(async (s) => {
      await upToData(s, '250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await s.data();
      // Two replies to one end of data: the second would answer the next transaction's MAIL.
      s.say('451 4.3.0 later\r\n250 2.0.0 queued');
      await new Promise(() => {});
    });
    const conn = await connectSmtp({ ...options, logger });
    const result = await conn.send(envelope, body());
    assert.deepEqual(
      result.recipients.map((r) => r.reply.code),
      [451, 451],
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(conn.closed, true);
    await assert.rejects(conn.send(envelope, body()), isError('PROTOCOL'));
    assert.match(
      lines.at(-1)?.msg ?? '',
      /broke the protocol: it sent a reply no command was waiting for \("250 2\.0\.0 queued"\)/,
    );
  });

  test('an unasked 421 on an idle connection closes it quietly', async () => {
    const { logger, lines } = warnings();
    const options = await fake(async (s) => {
      await greet(s);
      await new Promise((resolve) => setTimeout(resolve, 50));
      s.say('421 4.4.2 idle timeout');
      await new Promise(() => {});
    });
    const conn = await connectSmtp({ ...options, logger });
    await new Promise((resolve) => setTimeout(resolve, 150));
    assert.equal(conn.closed, true);
    await assert.rejects(conn.send(envelope, body()), isError('CONNECTION_CLOSED'));
    assert.deepEqual(lines, []);
  });

  test('a multi-line reply with mixed codes is read by its last line and logged as the server’s fault', async () => {
    const { logger, lines } = warnings();
    const options = await fake(async (s) => {
      await upToData(s, '250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await s.data();
      s.say('250-2.0.0 ok\r\n451 4.3.0 oops');
      await s.line();
      s.say('250 reset');
    });
    const conn = await connectSmtp({ ...options, logger });
    const result = await conn.send(envelope, body());
    assert.deepEqual(
      result.recipients.map((r) => [r.stage, r.reply.code, r.reply.enhanced]),
      [
        ['DATA', 451, '4.3.0'],
        ['DATA', 451, '4.3.0'],
      ],
    );
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!.msg,
      /^target 127\.0\.0\.1:\d+ broke the protocol: .*different codes.*250-2\.0\.0 ok.*451 4\.3\.0 oops.*last line, 451/,
    );
    assert.equal(lines[0]!.reply, '451 4.3.0 ok / oops');
    conn.close();
  });
});

describe('a target that never ends or trickles', () => {
  test('a reply line that never ends fails at the line cap, a reply that never ends at the line count', async () => {
    for (const [chunk, code] of [
      ['x', 'LINE_TOO_LONG'],
      ['250-more\r\n', 'PROTOCOL'],
    ] as const) {
      const options = await fake(async (s) => {
        s.say('220 fake');
        await s.line();
        s.socket.write('250-');
        const flood = Buffer.from(chunk.repeat(Math.ceil(4096 / chunk.length)));
        while (!s.socket.destroyed) {
          if (!s.socket.write(flood)) await new Promise((resolve) => s.socket.once('drain', resolve));
        }
      });
      await assert.rejects(connectSmtp(options), isError(code));
      await server?.close();
    }
  });

  test('a reply trickled a byte at a time gets the command deadline, not more', async () => {
    const options = await fake(async (s) => {
      s.say('220 fake');
      await s.line();
      for (const ch of '250-fake\r\n250 PIPELINING\r\n') {
        if (s.socket.destroyed) return;
        s.socket.write(ch);
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
    });
    const started = Date.now();
    await assert.rejects(connectSmtp({ ...options, timeouts: { command: 300 } }), isError('TIMEOUT'));
    assert.ok(Date.now() - started < 900, `${Date.now() - started} ms`);
  });

  test('a server reading the data slower than the minimum rate times out, though it never stalls', async () => {
    const options = await fake(async (s) => {
      await upToData(s, '250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      // Reads a chunk, then pauses: never idle for long, but about 640 KB/s at most.
      s.socket.on('data', () => {
        s.socket.pause();
        setTimeout(() => s.socket.resume(), 100);
      });
      await s.data();
      s.say('250 2.0.0 queued at last');
    });
    const conn = await connectSmtp({
      ...options,
      timeouts: { command: 3_000, minDataRate: 8 * 1024 * 1024 },
    });
    const started = Date.now();
    await assert.rejects(
      conn.send(envelope, Readable.from(Array.from({ length: 64 }, () => Buffer.alloc(256 * 1024, 'a')))),
      (err) => {
        isError('TIMEOUT')(err);
        // Sizes in units people read, not 8192 KiB/s or a byte count of seven digits.
        assert.match(
          (err as PostboteError).message,
          /slower than 8\.0 MB\/s \(\d+(?:\.\d)? (?:KB|MB) in \d+ s\)/,
        );
        return true;
      },
    );
    assert.ok(Date.now() - started < 12_000, `${Date.now() - started} ms`);
    assert.equal(conn.closed, true);
  });

  test('LMTP replies after the data share one deadline', async () => {
    const options = await fake(async (s) => {
      s.say('220 fake LMTP');
      await s.line();
      s.say('250-fake\r\n250 PIPELINING');
      for (let i = 0; i < 5; i++) await s.line();
      s.say('250 ok\r\n250 ok\r\n250 ok\r\n250 ok\r\n354 go');
      await s.data();
      for (const who of ['b', 'c', 'd']) {
        if (s.socket.destroyed) return;
        s.say(`250 2.0.0 delivered to ${who}`);
        await new Promise((resolve) => setTimeout(resolve, 700));
      }
    });
    const conn = await connectSmtp({ ...options, lmtp: true, timeouts: { dataEnd: 1_000 } });
    const result = await conn.send({ from: 'a@x.test', to: ['b@y.test', 'c@y.test', 'd@y.test'] }, body());
    assert.deepEqual(
      result.recipients.map((r) => r.reply.code),
      [250, 250, 421],
    );
    assert.match(result.recipients[2]?.reply.text ?? '', /^\[Postbote\] no reply/);
    assert.equal(conn.closed, true);
  });
});
