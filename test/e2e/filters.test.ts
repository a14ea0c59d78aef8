// The filter step with the real scanners users run (Debian's rspamd, spamd, clamd, started privately
// on loopback ports once for this file) between a spooled message and smtp-server as the target:
// clean, spam (GTUBE), virus (EICAR by .ndb, a file of our own by .hdb), scanner down, scanner stalling,
// too large to scan, forged scan headers from outside.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, before, describe, test } from 'node:test';
import type { FiltersConfig } from '../../src/config/types.js';
import { attemptDelivery, type DeliveryContext } from '../../src/delivery/attempt.js';
import { needsNotice } from '../../src/delivery/notice.js';
import { Target } from '../../src/delivery/target.js';
import { checkFilters } from '../../src/filters/check.js';
import { clamdScan } from '../../src/filters/clamd.js';
import { rspamdScan } from '../../src/filters/rspamd.js';
import { filterSet } from '../../src/filters/scan.js';
import { spamdScan } from '../../src/filters/spamd.js';
import { silentLogger } from '../../src/log.js';
import { connectSmtp } from '../../src/smtp/client.js';
import { startSmtpServer, type TestServer } from '../../src/smtp/test-support.test.js';
import { Spool } from '../../src/spool/spool.js';
import { SqliteStore } from '../../src/store/sqlite.js';
import { freePort } from '../support/ports.js';
import {
  type Daemon,
  EICAR,
  GTUBE,
  OWN_SIGNATURE,
  OWN_TEST_FILE,
  scannersUnavailable,
  startClamd,
  startRspamd,
  startSpamd,
} from '../support/scanners.js';

const skip = scannersUnavailable();
let clamd: Daemon;
let spamd: Daemon;
let rspamd: Daemon;
const cleanup: Array<() => Promise<unknown>> = [];

before(async () => {
  if (skip) return;
  // Settled one by one: if one daemon fails to start, the others are still stopped in after().
  const [c, s, r] = await Promise.allSettled([startClamd(), startSpamd(), startRspamd()]);
  if (c.status === 'fulfilled') clamd = c.value;
  if (s.status === 'fulfilled') spamd = s.value;
  if (r.status === 'fulfilled') rspamd = r.value;
  for (const x of [c, s, r]) if (x.status === 'rejected') throw x.reason;
});
after(async () => {
  await Promise.all([clamd?.stop(), spamd?.stop(), rspamd?.stop()]);
});
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const message = (subject: string, body: string, extra = '') =>
  Buffer.from(
    `From: Sender <s@provider.test>\r\nTo: info@corp.test\r\nSubject: ${subject}\r\nMessage-ID: <${Math.random()}@provider.test>\r\n` +
      `Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n${extra}MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n${body}\r\n`,
  );
const HAM = message('Lunch', 'Shall we meet at noon on Tuesday for lunch? Regards, Anna');
const SPAM = message('Win', `This is spam.\r\n${GTUBE}`);
const VIRUS = message('Invoice', `See below.\r\n${EICAR}`);
const ATTACHED = Buffer.from(
  'From: s@provider.test\r\nTo: info@corp.test\r\nSubject: Report\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nattached\r\n' +
    '--b1\r\nContent-Type: application/octet-stream; name="r.bin"\r\nContent-Transfer-Encoding: base64\r\n' +
    `Content-Disposition: attachment; filename="r.bin"\r\n\r\n${OWN_TEST_FILE.toString('base64')}\r\n--b1--\r\n`,
);
const open = (b: Buffer) => () => Readable.from([b]);

function filters(scanners: FiltersConfig['scanners'], more: Partial<FiltersConfig> = {}): FiltersConfig {
  return {
    scanners,
    maxScanSize: 10 * 1024 * 1024,
    timeout: 20_000,
    concurrency: 2,
    spam: { action: 'tag' },
    virus: { action: 'notify' },
    ...more,
  };
}
const at = (d: Daemon, type: 'rspamd' | 'spamd' | 'clamd', onError: 'defer' | 'deliver' = 'defer') => ({
  type,
  host: '127.0.0.1',
  port: d.port,
  onError,
});

/** A target that records what it got, a store and spool with `bytes` spooled for info@corp.test. */
async function world(bytes: Buffer) {
  const server: TestServer = await startSmtpServer();
  cleanup.push(() => server.close());
  const dir = await mkdtemp(join(tmpdir(), 'postbote-filters-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  const store = new SqliteStore(join(dir, 's.sqlite'));
  await store.migrate();
  cleanup.push(() => store.close());
  const spool = new Spool(join(dir, 'spool'));
  const file = await spool.write(Readable.from([bytes]), 100_000_000);
  const record = await store.addSpooled({
    mailbox: 'info',
    uid: 'u1',
    spoolKey: file.key,
    size: file.size,
    sha256: file.sha256,
    messageId: null,
    sender: 's@provider.test',
    subject: 'x',
    recipients: [{ address: 'info@corp.test', status: 'pending', reason: 'fixed' }],
    fetchedAt: Date.now(),
  });
  const target = new Target(
    { host: '127.0.0.1', port: server.port, tls: 'none', helo: 'postbote.test', maxConnections: 1 },
    connectSmtp,
    silentLogger(),
  );
  cleanup.push(() => target.close());
  const ctx: DeliveryContext = {
    target,
    spool,
    store,
    logger: silentLogger(),
    retry: { initial: 60_000, max: 3_600_000, expireAfter: 86_400_000 },
    hostname: 'postbote.test',
    now: Date.now,
  };
  const deliver = (config: FiltersConfig, rec = record) =>
    attemptDelivery(
      ctx,
      {
        protocol: 'pop3',
        server: 'pop.provider.test',
        secure: true,
        filters: filterSet(config),
        mailboxUser: 'info',
      },
      rec,
    );
  return { ctx, store, record, server, deliver, spool };
}

/** The header block of what the target received, unfolded. */
const head = (b: Buffer) => (b.toString('latin1').split('\r\n\r\n')[0] ?? '').replace(/\r\n[ \t]+/g, ' ');

/** A TCP server that accepts and never answers: a scanner that stalls. */
async function stallingServer(): Promise<number> {
  const sockets: net.Socket[] = [];
  // Half-open allowed: a client that ends its request (spamd's) still gets no reply, no close.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.resume();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return (server.address() as net.AddressInfo).port;
}

describe('scanner clients against the real daemons', { skip }, () => {
  test('rspamd: GTUBE is spam with action reject; ham is not', async () => {
    const env = { from: 's@provider.test', rcpt: ['info@corp.test'], queueId: 'q1', user: 'info' };
    const spam = await rspamdScan({ port: rspamd.port }, open(SPAM), SPAM.length, env, 20_000);
    assert.equal(spam.spam, true);
    assert.equal(spam.action, 'reject');
    assert.ok(spam.symbols.includes('GTUBE'), spam.symbols.join(','));
    const ham = await rspamdScan({ port: rspamd.port }, open(HAM), HAM.length, env, 20_000);
    assert.equal(ham.spam, false, JSON.stringify(ham));
  });

  test('spamd: GTUBE is spam with 1000 points; ham is not', async () => {
    const spam = await spamdScan({ port: spamd.port }, open(SPAM), SPAM.length, 20_000, 'info');
    assert.deepEqual([spam.spam, spam.score, spam.required], [true, 1000, 5]);
    assert.ok(spam.symbols.includes('GTUBE'));
    const ham = await spamdScan({ port: spamd.port }, open(HAM), HAM.length, 20_000);
    assert.equal(ham.spam, false, JSON.stringify(ham));
  });

  test('clamd over TCP and its Unix socket: clean, EICAR, and our own file inside a base64 attachment', async () => {
    assert.deepEqual(await clamdScan({ port: clamd.port }, open(HAM), 20_000), { infected: false });
    const eicar = await clamdScan({ socket: clamd.socket }, open(VIRUS), 20_000);
    assert.ok(eicar.infected && eicar.virus.startsWith('Eicar-Test-Signature'), JSON.stringify(eicar));
    const own = await clamdScan({ port: clamd.port }, open(ATTACHED), 20_000);
    assert.ok(own.infected && own.virus.startsWith(OWN_SIGNATURE), JSON.stringify(own));
  });

  test('the message is streamed in chunks: 900 KB in 64 KiB pieces is scanned whole', async () => {
    const big = Buffer.concat([message('Big', 'x'.repeat(900_000)), Buffer.from(`${EICAR}\r\n`)]);
    const chunks = () =>
      Readable.from(
        Array.from({ length: Math.ceil(big.length / 65536) }, (_, i) =>
          big.subarray(i * 65536, (i + 1) * 65536),
        ),
      );
    const v = await clamdScan({ port: clamd.port }, chunks, 20_000);
    assert.equal(v.infected, true);
  });
});

describe('postbote check for the filters', { skip }, () => {
  test('each scanner endpoint is probed once, a dead one fails with a fix', async () => {
    const dead = await freePort();
    const results = await checkFilters({
      filters: filters([at(rspamd, 'rspamd'), at(spamd, 'spamd'), at(clamd, 'clamd')]),
      mailboxes: [
        {
          enabled: true,
          filters: filters([
            at(clamd, 'clamd'),
            { type: 'clamd', host: '127.0.0.1', port: dead, onError: 'deliver' },
          ]),
        },
        {
          enabled: false,
          filters: filters([{ type: 'spamd', host: '127.0.0.1', port: dead, onError: 'defer' }]),
        },
      ] as never,
    });
    assert.deepEqual(
      results.map((r) => [r.subject, r.ok]),
      [
        [`scanner rspamd 127.0.0.1:${rspamd.port}`, true],
        [`scanner spamd 127.0.0.1:${spamd.port}`, true],
        [`scanner clamd 127.0.0.1:${clamd.port}`, true],
        [`scanner clamd 127.0.0.1:${dead}`, false],
      ],
    );
    assert.match(results[2]!.detail, /^answered: clamd: clean$/);
    assert.match(results[3]!.detail, /^not reachable/, 'the scanner is named once, in the subject');
    assert.match(results[3]!.hint ?? '', /delivered unscanned while it is down/);
  });
});

describe('the filter step before delivery', { skip }, () => {
  test('clean mail is delivered with the scanners’ headers; a forged X-Spam-Status from outside is gone', async () => {
    const forged = message(
      'Hello',
      'Nothing to see here, just a note.',
      'X-Spam-Status: No, score=-100.0\r\nX-Virus-Status: Clean\r\n\tforged\r\n',
    );
    const w = await world(forged);
    const outcome = await w.deliver(filters([at(spamd, 'spamd'), at(clamd, 'clamd')]));
    assert.equal(outcome.record.state, 'delivered');
    const got = head(w.server.received[0]!.body);
    assert.doesNotMatch(got, /score=-100/);
    assert.doesNotMatch(got, /forged/);
    assert.match(got, /^X-Spam-Status: No, score=-?[\d.]+ required=5\.0 /m);
    assert.equal(got.match(/^X-Virus-Status: Clean$/gm)?.length, 1);
    // The spool kept the bytes as fetched: only delivery applied the edits.
    assert.equal(outcome.record.filter?.verdict, 'clean');
    const stored = await w.store.get(w.record.id);
    assert.match(stored?.filter?.summary ?? '', /^clean \(spamd: clean/);
  });

  test('spam (GTUBE) is tagged with X-Spam-Flag and the subject prefix, and delivered', async () => {
    const w = await world(SPAM);
    const outcome = await w.deliver(
      filters([at(rspamd, 'rspamd')], { spam: { action: 'tag', subjectPrefix: '[SPAM] ' } }),
    );
    assert.equal(outcome.record.state, 'delivered');
    const got = head(w.server.received[0]!.body);
    assert.match(got, /^X-Spam-Flag: YES$/m);
    assert.match(got, /^X-Spam-Status: Yes, score=15\.0 required=15\.0 tests=.*GTUBE/m);
    assert.match(got, /^Subject: \[SPAM\] Win$/m);
  });

  test('spam is redirected to the junk address instead of the recipient', async () => {
    const w = await world(SPAM);
    const outcome = await w.deliver(
      filters([at(spamd, 'spamd')], { spam: { action: 'redirect', redirectTo: 'junk@corp.test' } }),
    );
    assert.equal(outcome.record.state, 'delivered');
    assert.deepEqual(
      w.server.received.map((r) => r.to),
      [['junk@corp.test']],
    );
    assert.match(outcome.record.recipients[0]?.reason ?? '', /spam for info@corp\.test/);
    assert.equal(needsNotice(outcome.record), false, 'a redirect is no refusal: no postmaster notice');
  });

  test('spam may be quarantined: kept with its bytes, nothing sent, no notice', async () => {
    const w = await world(SPAM);
    const outcome = await w.deliver(filters([at(rspamd, 'rspamd')], { spam: { action: 'quarantine' } }));
    assert.equal(outcome.record.state, 'quarantined');
    assert.match(outcome.record.reason ?? '', /^filter: spam \(rspamd: spam 15\.0/);
    assert.ok(outcome.record.spoolKey);
    assert.equal(w.server.received.length, 0);
    assert.equal(needsNotice(outcome.record), false);
    // Released later and then refused by the target: that quarantine is not the filter's, it is told.
    const refused = { ...outcome.record, reason: 'refused: info@corp.test: 550 5.7.1 no' };
    assert.equal(needsNotice(refused), true);
  });

  test('a virus is quarantined (never deleted) and the postmaster is told', async () => {
    const w = await world(VIRUS);
    const outcome = await w.deliver(filters([at(rspamd, 'rspamd'), at(clamd, 'clamd')]));
    assert.equal(outcome.record.state, 'quarantined');
    assert.match(outcome.record.reason ?? '', /virus \(.*clamd: Eicar-Test-Signature/);
    assert.ok(
      outcome.record.spoolKey && (await w.spool.intact(outcome.record.spoolKey, outcome.record.size)),
    );
    assert.equal(w.server.received.length, 0);
    assert.equal(needsNotice(outcome.record), true);
  });

  test('a crash between quarantine and recording the verdict leaves the virus quarantined', async () => {
    const w = await world(VIRUS);
    const crashing = Object.create(w.store) as typeof w.store;
    crashing.recordFilter = async () => {
      throw new Error('killed here');
    };
    w.ctx.store = crashing;
    await assert.rejects(w.deliver(filters([at(clamd, 'clamd')])), /killed here/);
    const after = await w.store.get(w.record.id);
    assert.equal(after?.state, 'quarantined');
    assert.equal(w.server.received.length, 0);
  });

  test('a scanner that is down defers the message, naming it; once it is back the message is delivered', async () => {
    const port = await freePort();
    const w = await world(HAM);
    const config = filters([{ type: 'clamd', host: '127.0.0.1', port, onError: 'defer' }]);
    const down = await w.deliver(config);
    assert.equal(down.kind, 'target-unavailable');
    assert.equal(down.record.state, 'deferred');
    assert.ok(down.record.nextAttemptAt !== null);
    assert.equal(down.kind === 'target-unavailable' && down.error.code, 'FILTER_UNAVAILABLE');
    assert.match(down.record.reason ?? '', new RegExp(`clamd 127\\.0\\.0\\.1:${port}: not reachable`));
    assert.equal(w.server.received.length, 0);
    assert.equal(down.record.filter, null, 'no verdict yet: it is scanned on the retry');

    const back = await startClamd({ port });
    cleanup.push(() => back.stop());
    const retried = await w.deliver(config, down.record);
    assert.equal(retried.record.state, 'delivered');
    assert.match(head(w.server.received[0]!.body), /^X-Virus-Status: Clean$/m);
  });

  test('onError: deliver passes the mail on, marked as not scanned', async () => {
    const port = await freePort();
    const w = await world(HAM);
    const outcome = await w.deliver(
      filters([{ type: 'rspamd', host: '127.0.0.1', port, onError: 'deliver' }]),
    );
    assert.equal(outcome.record.state, 'delivered');
    assert.equal(outcome.record.filter?.verdict, 'unscanned');
    assert.match(
      head(w.server.received[0]!.body),
      /^X-Postbote-Filter: not scanned by rspamd: scanner failed: rspamd/m,
    );
  });

  test('a scanner that stalls is given up after the timeout and the message deferred', async () => {
    const port = await stallingServer();
    const w = await world(HAM);
    const started = Date.now();
    const outcome = await w.deliver(
      filters([{ type: 'spamd', host: '127.0.0.1', port, onError: 'defer' }], { timeout: 500 }),
    );
    assert.ok(Date.now() - started < 5_000);
    assert.equal(outcome.record.state, 'deferred');
    assert.match(outcome.record.reason ?? '', /no verdict within 500 ms \(filters timeout\)/);
  });

  test('a message over maxScanSize is not sent to the scanners, delivered and marked unscanned', async () => {
    const port = await stallingServer(); // any contact would stall the test into its timeout
    const w = await world(VIRUS);
    const outcome = await w.deliver(
      filters([{ type: 'clamd', host: '127.0.0.1', port, onError: 'defer' }], {
        maxScanSize: 100,
        timeout: 60_000,
      }),
    );
    assert.equal(outcome.record.state, 'delivered');
    assert.match(
      head(w.server.received[0]!.body),
      new RegExp(
        `^X-Postbote-Filter: not scanned by clamd: too large \\(${VIRUS.length} bytes, maxScanSize 100\\)`,
        'm',
      ),
    );
  });

  test('a message over clamd’s own StreamMaxLength is delivered, marked unscanned, not held for the scanner', async () => {
    const w = await world(message('Big', 'y'.repeat(1_200_000)));
    const config = filters([at(clamd, 'clamd')]);
    // clamd replies "size limit exceeded" and closes with our bytes unread; its reset can beat the reply
    // (clamdScan asks up to three connections). On a loaded machine all three can lose it: the message
    // is then deferred like any scanner fault, and the scheduler's next attempt asks again.
    let outcome = await w.deliver(config);
    for (let retry = 0; retry < 3 && /EPIPE|ECONNRESET/.test(outcome.record.reason ?? ''); retry++)
      outcome = await w.deliver(config, outcome.record);
    assert.equal(outcome.record.state, 'delivered', outcome.record.reason ?? '');
    assert.match(
      head(w.server.received[0]!.body),
      /^X-Postbote-Filter: not scanned by clamd: too large for clamd \(INSTREAM size limit exceeded/m,
    );
  });

  test('a scanner that never ends its reply is cut off at the bound', async () => {
    const server = net.createServer((s) => {
      s.on('error', () => {});
      const junk = Buffer.alloc(1024, 'x');
      const pump = () => {
        while (!s.destroyed && s.write(junk));
        if (!s.destroyed) s.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    await assert.rejects(clamdScan({ port }, open(HAM), 10_000), /reply longer than 4096 bytes/);
  });
});
