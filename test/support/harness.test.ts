// Proves the real-server harness: a private Dovecot answers POP3/POP3S/STLS/LMTP with the seeded
// bytes, and the corpus is deterministic and covers its edge cases.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { makeMessage, standardCorpus } from './corpus.js';
import { type Dovecot, startDovecot } from './dovecot.js';
import { RawConnection } from './raw-client.js';
import { pop3RetrBody, toCrlf } from './wire.js';

describe('Dovecot harness', () => {
  let dovecot: Dovecot;
  const seeded = [
    makeMessage({ size: 3000, seed: 1, leadingDots: true, bareLf: true }),
    makeMessage({ size: 20_000, seed: 2, eightBit: 'latin1', longLines: true }),
    makeMessage({ size: 1500, seed: 3, noMessageId: true }),
  ];

  before(async () => {
    dovecot = await startDovecot({ users: ['alice', 'bob', 'carol'], name: 'harness' });
    await dovecot.seed('alice', seeded);
  });
  after(() => dovecot?.stop());

  async function login(conn: RawConnection, user: string): Promise<void> {
    assert.match(await conn.command(`USER ${user}`), /^\+OK/);
    assert.match(await conn.command(`PASS ${dovecot.password(user)}`), /^\+OK/, dovecot.log());
  }

  test('plain POP3 greets, offers STLS, logs in and serves the seeded bytes dot-stuffed in CRLF', async () => {
    const conn = await RawConnection.connect({ port: dovecot.ports.pop3 });
    try {
      assert.match(await conn.readLine(), /^\+OK/);
      assert.match(await conn.command('CAPA'), /^\+OK/);
      const capa = (await conn.readMultiline()).toString('latin1');
      assert.match(capa, /^STLS\r$/m);
      assert.match(capa, /^UIDL\r$/m);
      await login(conn, 'alice');
      const total = seeded.reduce((n, m) => n + m.length, 0);
      const stat = await conn.command('STAT');
      assert.match(stat, /^\+OK 3 \d+$/);
      // Dovecot counts sizes with CRLF line ends, so the bare-LF message grows by one byte a line.
      assert.ok(Number(stat.split(' ')[2]) >= total, stat);
      for (const [i, msg] of seeded.entries()) {
        assert.match(await conn.command(`RETR ${i + 1}`), /^\+OK/);
        const body = await conn.readMultiline();
        assert.ok(body.equals(pop3RetrBody(msg)), `RETR ${i + 1} differs from the seeded message`);
      }
      assert.match(await conn.command('QUIT'), /^\+OK/);
    } finally {
      conn.close();
    }
  });

  test('STLS upgrades to TLS trusted through caPem for localhost', async () => {
    const conn = await RawConnection.connect({ port: dovecot.ports.pop3 });
    try {
      await conn.readLine();
      assert.match(await conn.command('STLS'), /^\+OK/);
      const secure = await conn.upgrade(dovecot.caPem, 'localhost');
      assert.equal(secure.authorized, true);
      await login(conn, 'alice');
      assert.match(await conn.command('STAT'), /^\+OK 3 /);
      await conn.command('QUIT');
    } finally {
      conn.close();
    }
  });

  test('POP3S verifies against the CA file for 127.0.0.1, and UIDLs use the %08Xu%08Xv format', async () => {
    const ca = readFileSync(dovecot.caFile, 'utf8');
    const conn = await RawConnection.connect({ port: dovecot.ports.pop3s, tls: { ca } });
    try {
      assert.match(await conn.readLine(), /^\+OK/);
      await login(conn, 'alice');
      assert.match(await conn.command('UIDL'), /^\+OK/);
      const uidl = (await conn.readMultiline()).toString('latin1');
      assert.match(uidl, /^1 [0-9a-f]{16}\r\n2 [0-9a-f]{16}\r\n3 [0-9a-f]{16}\r\n\.\r\n$/);
      await conn.command('QUIT');
    } finally {
      conn.close();
    }
  });

  test('IMAP and IMAPS accept the same login', async () => {
    for (const conn of [
      await RawConnection.connect({ port: dovecot.ports.imap }),
      await RawConnection.connect({
        port: dovecot.ports.imaps,
        tls: { ca: dovecot.caPem, servername: 'localhost' },
      }),
    ]) {
      try {
        assert.match(await conn.readLine(), /^\* OK/);
        assert.match(await conn.command(`a LOGIN alice ${dovecot.password('alice')}`), /^a OK/);
        await conn.command('b LOGOUT');
      } finally {
        conn.close();
      }
    }
  });

  test('a POP3 DELE takes effect at QUIT, and count() follows it', async () => {
    await dovecot.seed('carol', [makeMessage({ size: 900, seed: 7 }), makeMessage({ size: 900, seed: 8 })]);
    assert.equal(dovecot.count('carol'), 2);
    const conn = await RawConnection.connect({ port: dovecot.ports.pop3 });
    try {
      await conn.readLine();
      await login(conn, 'carol');
      assert.match(await conn.command('DELE 1'), /^\+OK/);
      assert.equal(dovecot.count('carol'), 2, 'nothing removed before QUIT');
      assert.match(await conn.command('QUIT'), /^\+OK/);
    } finally {
      conn.close();
    }
    assert.equal(dovecot.count('carol'), 1);
    assert.ok(dovecot.messages('carol')[0]?.includes('Test message 8'));
  });

  test('LMTP delivers a message for a user into their Maildir', async () => {
    const conn = await RawConnection.connect({ port: dovecot.ports.lmtp });
    const message = makeMessage({ size: 5000, seed: 9, leadingDots: true });
    try {
      assert.match(await conn.readLine(), /^220 /);
      conn.send('LHLO test.local');
      while (!(await conn.readLine()).startsWith('250 ')) {}
      assert.match(await conn.command('MAIL FROM:<sender@example.net>'), /^250 /);
      assert.match(await conn.command('RCPT TO:<bob@corp.local>'), /^250 /, dovecot.log());
      assert.match(await conn.command('DATA'), /^354 /);
      conn.write(pop3RetrBody(message));
      assert.match(await conn.readLine(), /^250 /, dovecot.log());
      await conn.command('QUIT');
    } finally {
      conn.close();
    }
    assert.equal(dovecot.count('bob'), 1);
    // Dovecot prepends Return-Path, Delivered-To and Received, and stores LF line ends.
    const stored = toCrlf(dovecot.messages('bob')[0]!);
    assert.match(
      stored.subarray(0, 200).toString('latin1'),
      /^Return-Path: <sender@example\.net>\r\nDelivered-To: /,
    );
    assert.ok(stored.subarray(stored.length - message.length).equals(message));
  });

  test('parallel instances get their own ports and directories, and stop() removes them', async () => {
    const [a, b] = await Promise.all([
      startDovecot({ users: ['x'], name: 'par' }),
      startDovecot({ users: ['x'], name: 'par' }),
    ]);
    const portsA = Object.values(a.ports);
    const portsB = Object.values(b.ports);
    assert.equal(new Set([...portsA, ...portsB]).size, 10);
    assert.notEqual(a.maildir('x'), b.maildir('x'));
    await a.seed('x', [makeMessage({ size: 800, seed: 1 })]);
    assert.equal(a.count('x'), 1);
    assert.equal(b.count('x'), 0);
    assert.equal(a.running(), true);
    await Promise.all([a.stop(), b.stop()]);
    assert.equal(existsSync(a.maildir('x')), false);
    // Not "its port refuses": test files run in parallel, and another one's Dovecot may take it at once.
    assert.equal(a.running(), false);
    assert.equal(b.running(), false);
  });
});

describe('corpus', () => {
  test('the same seed gives the same bytes, and the size is exact', () => {
    const a = makeMessage({ size: 123_456, seed: 42, eightBit: true, leadingDots: true });
    const b = makeMessage({ size: 123_456, seed: 42, eightBit: true, leadingDots: true });
    assert.ok(a.equals(b));
    assert.equal(a.length, 123_456);
    assert.ok(!a.equals(makeMessage({ size: 123_456, seed: 43, eightBit: true, leadingDots: true })));
  });

  test('standardCorpus covers 1 KB to 20 MB and every edge case, in well under a second', () => {
    // CPU time, not wall time: on a shared 2-core machine other processes' load would decide.
    const started = process.cpuUsage();
    const corpus = standardCorpus();
    const used = process.cpuUsage(started);
    assert.ok((used.user + used.system) / 1000 < 1000, 'corpus generation is slow');
    const sizes = corpus.map((c) => c.data.length);
    assert.equal(Math.min(...sizes), 1024);
    assert.equal(Math.max(...sizes), 20 * 1024 * 1024);
    const all = corpus.map((c) => c.data);
    const some = (pred: (m: Buffer) => boolean) => all.some(pred);
    assert.ok(
      some((m) => m.includes('\r\n.\r\n')),
      'a line that is only "."',
    );
    assert.ok(
      some((m) => m.includes('\n.\n') && !m.includes('\r')),
      'bare LF with a dot line',
    );
    assert.ok(
      some((m) => m.includes('\r\n..two dots\r\n')),
      'lines starting with "."',
    );
    assert.ok(
      some((m) => m.includes('Grüße')),
      'UTF-8',
    );
    assert.ok(
      some((m) => m.includes(Buffer.from('Grüße', 'latin1')) && m.includes('iso-8859-1')),
      'Latin-1',
    );
    assert.ok(
      some((m) => longestLine(m) >= 10_000),
      'a line of 10,000+ characters',
    );
    assert.ok(
      some((m) => !m.includes('Message-ID:')),
      'no Message-ID',
    );
    for (const { name, data } of corpus) {
      assert.match(data.subarray(0, 2000).toString('latin1'), /^Return-Path: .*\nReceived: /s, name);
      assert.equal(new Set(corpus.map((c) => c.name)).size, corpus.length);
    }
  });
});

function longestLine(m: Buffer): number {
  let longest = 0;
  let from = 0;
  for (let at = m.indexOf(0x0a); at >= 0; at = m.indexOf(0x0a, at + 1)) {
    longest = Math.max(longest, at - from);
    from = at + 1;
  }
  return longest;
}
