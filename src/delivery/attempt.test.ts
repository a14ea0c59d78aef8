// One delivery attempt against smtp-server in-process, with a real store and spool: how many
// transactions an attempt starts and what each recipient ends as.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, afterEach, describe, test } from 'node:test';
import { PostboteError } from '../errors.js';
import { silentLogger } from '../log.js';
import { connectSmtp } from '../smtp/client.js';
import { smtpError, startSmtpServer, type TestServer } from '../smtp/test-support.test.js';
import { Spool } from '../spool/spool.js';
import { SqliteStore } from '../store/sqlite.js';
import { attemptDelivery, classifySendFailure, type DeliveryContext } from './attempt.js';
import { Target } from './target.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

let server: TestServer | undefined;
let store: SqliteStore | undefined;
let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  await store?.close();
  await server?.close();
  server = store = target = undefined;
});

interface Hooks {
  /** Reply to RCPT TO for this address: undefined accepts. */
  rcpt?: (address: string) => Error | undefined;
  /** Reply to the data for these recipients: undefined accepts. */
  data?: (to: string[]) => Error | undefined;
  /** The message's envelope sender (a@provider.test). */
  sender?: string;
  /** The spooled message (default: ASCII headers). */
  message?: Buffer;
  /** The target does not advertise SMTPUTF8 (smtp-server offers it by default). */
  noSmtpUtf8?: boolean;
}

/** A target that records every transaction that reached DATA, and a message spooled for `to`. */
async function world(to: string[], hooks: Hooks) {
  const transactions: string[][] = [];
  const rcpts: string[] = [];
  const mailParams: Array<Record<string, unknown>> = [];
  const bodies: Buffer[] = [];
  server = await startSmtpServer({
    hideSMTPUTF8: hooks.noSmtpUtf8 === true,
    onMailFrom(address, _session, cb) {
      mailParams.push({ ...(address.args as Record<string, unknown>) });
      cb();
    },
    onRcptTo(address, _session, cb) {
      rcpts.push(address.address);
      cb(hooks.rcpt?.(address.address) ?? null);
    },
    onData(stream, session, cb) {
      const rcpts = session.envelope.rcptTo.map((r) => r.address);
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        bodies.push(Buffer.concat(chunks));
        transactions.push(rcpts);
        cb(hooks.data?.(rcpts) ?? null);
      });
    },
  });
  const dir = await mkdtemp(join(tmpdir(), 'postbote-attempt-'));
  dirs.push(dir);
  store = new SqliteStore(join(dir, 's.sqlite'));
  await store.migrate();
  const spool = new Spool(join(dir, 'spool'));
  const file = await spool.write(
    Readable.from([hooks.message ?? Buffer.from('Subject: x\r\n\r\nhello\r\n')]),
    1_000_000,
  );
  const record = await store.addSpooled({
    mailbox: 'info',
    uid: 'u1',
    spoolKey: file.key,
    size: file.size,
    sha256: file.sha256,
    messageId: null,
    sender: hooks.sender ?? 'a@provider.test',
    subject: 'x',
    recipients: to.map((address) => ({ address, status: 'pending', reason: 'fixed' })),
    fetchedAt: Date.now(),
  });
  target = new Target(
    { host: '127.0.0.1', port: server.port, tls: 'none', helo: 'postbote.test', maxConnections: 1 },
    connectSmtp,
    silentLogger(),
  );
  const ctx: DeliveryContext = {
    target,
    spool,
    store,
    logger: silentLogger(),
    retry: { initial: 60_000, max: 3_600_000, expireAfter: 86_400_000 },
    hostname: 'postbote.test',
    now: Date.now,
  };
  return { ctx, record, transactions, rcpts, mailParams, bodies };
}

const origin = (fallback?: string) => ({
  protocol: 'pop3' as const,
  server: 'pop.provider.test',
  secure: true,
  fallback,
});

describe('attemptDelivery', () => {
  test('a 451 to the data for every recipient sends the data once and defers the message', async () => {
    const w = await world(['b@corp.test', 'c@corp.test'], {
      data: () => smtpError(451, 'Try again later'),
    });
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.kind, 'deferred');
    assert.deepEqual(w.transactions, [['b@corp.test', 'c@corp.test']]);
    assert.deepEqual(
      outcome.record.recipients.map((r) => [r.address, r.status]),
      [
        ['b@corp.test', 'pending'],
        ['c@corp.test', 'pending'],
      ],
    );
  });

  test('a 451 to RCPT for every recipient starts no second transaction', async () => {
    const w = await world(['b@corp.test'], { rcpt: () => smtpError(451, 'Greylisted') });
    const outcome = await attemptDelivery(w.ctx, origin(), w.record);
    assert.equal(outcome.kind, 'deferred');
    assert.deepEqual(w.transactions, []);
    assert.deepEqual(w.rcpts, ['b@corp.test']);
    assert.equal((await w.ctx.store.attemptsOf(w.record.id)).length, 1);
  });

  test('a second transaction carries only the fallback, not the recipients that got 4xx', async () => {
    const w = await world(['gone@corp.test', 'busy@corp.test', 'ok@corp.test'], {
      rcpt: (a) =>
        a === 'gone@corp.test'
          ? smtpError(550, 'No such user')
          : a === 'busy@corp.test'
            ? smtpError(452, 'Mailbox busy')
            : undefined,
    });
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.kind, 'deferred');
    assert.deepEqual(w.transactions, [['ok@corp.test'], ['postmaster@corp.test']]);
    assert.deepEqual(w.rcpts, ['gone@corp.test', 'busy@corp.test', 'ok@corp.test', 'postmaster@corp.test']);
    assert.deepEqual(
      outcome.record.recipients.map((r) => [r.address, r.status]),
      [
        ['gone@corp.test', 'rerouted'],
        ['busy@corp.test', 'pending'],
        ['ok@corp.test', 'delivered'],
        ['postmaster@corp.test', 'delivered'],
      ],
    );
  });

  test('a 550 for the only recipient is rerouted to the fallback in the same attempt', async () => {
    const w = await world(['gone@corp.test'], {
      rcpt: (a) => (a === 'gone@corp.test' ? smtpError(550, 'No such user') : undefined),
    });
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.kind, 'final');
    assert.equal(outcome.record.state, 'delivered');
    assert.deepEqual(w.transactions, [['postmaster@corp.test']]);
  });

  test('a message whose sender can never be sent is quarantined at once; the target stays healthy', async () => {
    const w = await world(['b@corp.test'], { sender: 'a\u0001b@provider.test' });
    w.ctx.target.setHealth('ok');
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.kind, 'final');
    assert.equal(outcome.record.state, 'quarantined');
    assert.match(outcome.record.reason ?? '', /sender address .* cannot be sent/);
    assert.equal(w.ctx.target.health.state, 'ok');
    assert.deepEqual(w.rcpts, [], 'nothing was sent');
  });

  test('a permanent fault of the connection (no such local address) leaves the message untouched', async () => {
    const w = await world(['b@corp.test'], {});
    const ctx = {
      ...w.ctx,
      target: new Target(
        {
          host: '127.0.0.1',
          port: server!.port,
          tls: 'none',
          helo: 'postbote.test',
          maxConnections: 1,
          localAddress: '192.0.2.55', // TEST-NET-1: never an address of this machine
        },
        connectSmtp,
        silentLogger(),
      ),
    };
    const outcome = await attemptDelivery(ctx, origin(), w.record);
    assert.equal(outcome.kind, 'target-unavailable');
    assert.equal(outcome.kind === 'target-unavailable' && outcome.error.temporary, false);
    assert.equal(ctx.target.health.state, 'refusing', 'shown as needing a fix, not as down');
    const after = await w.ctx.store.get(w.record.id);
    assert.equal(after?.state, 'spooled');
    assert.equal(after?.attempts, 0, 'no attempt counted towards the expiry');
    await ctx.target.close();
  });
});

test('a failed transaction: the connector, the message, or the target down, from code and temporary', () => {
  const e = (code: PostboteError['code'], temporary: boolean) => new PostboteError(code, code, { temporary });
  const cases: Array<[PostboteError, ReturnType<typeof classifySendFailure>]> = [
    [e('CONNECT_FAILED', true), 'down'], // refused, DNS: the server may come back
    [e('TIMEOUT', true), 'down'],
    [e('CONNECTION_CLOSED', true), 'down'],
    [e('SMTP_AUTH', true), 'connector'], // 454: listed as a connector fault whatever temporary says
    [e('SMTP_REFUSED_CLIENT', true), 'connector'],
    [e('SMTP_GREETING', true), 'connector'],
    [e('CONNECT_FAILED', false), 'connector'], // localAddress not on this machine
    [e('TLS_FAILED', false), 'connector'], // certificate not trusted
    [e('SMTP_AUTH', false), 'connector'], // 535
    [e('SMTP_SENDER', false), 'message'], // this message's sender cannot be sent, ever
    [e('SMTP_RECIPIENT', false), 'message'],
    [e('SPOOL', false), 'down'], // local: handled by the pass, never a verdict on the target
  ];
  for (const [error, expected] of cases) {
    assert.equal(classifySendFailure(error), expected, `${error.code} temporary=${error.temporary}`);
  }
});

describe('a target that refuses every recipient', () => {
  test('550 5.7.54 (non-accepted domain) names the domain to accept, not RemoteIPRanges', async () => {
    const w = await world(['b@corp.test', 'c@corp.test'], {
      rcpt: () => smtpError(550, '5.7.54 SMTP; Unable to relay recipient in non-accepted domain'),
    });
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.kind, 'target-unavailable');
    const hint = outcome.kind === 'target-unavailable' ? (outcome.error.hint ?? '') : '';
    assert.match(hint, /corp\.test is not an accepted domain/);
    assert.doesNotMatch(hint, /RemoteIPRanges/);
  });
});

describe('UTF-8 headers (RFC 6531/6532)', () => {
  const UTF8_MESSAGE = Buffer.from('Subject: Grüße aus Köln\r\n\r\nhello\r\n');

  test('a message with UTF-8 headers goes with SMTPUTF8 when the target offers it', async () => {
    const w = await world(['b@corp.test'], { message: UTF8_MESSAGE });
    const outcome = await attemptDelivery(w.ctx, origin(), w.record);
    assert.equal(outcome.record.state, 'delivered');
    assert.equal(w.mailParams[0]?.SMTPUTF8, true);
  });

  test('an ASCII-header message with an 8-bit body goes without SMTPUTF8', async () => {
    const w = await world(['b@corp.test'], { message: Buffer.from('Subject: x\r\n\r\nGrüße\r\n') });
    await attemptDelivery(w.ctx, origin(), w.record);
    assert.equal(w.mailParams[0]?.SMTPUTF8, undefined);
  });

  test('UTF-8 headers for a target without SMTPUTF8 are sent unchanged, as Postfix does', async () => {
    const w = await world(['b@corp.test'], { message: UTF8_MESSAGE, noSmtpUtf8: true });
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.record.state, 'delivered');
    assert.equal(w.mailParams[0]?.SMTPUTF8, undefined, 'not asked for: the target does not offer it');
    assert.ok(w.bodies[0]?.includes(UTF8_MESSAGE), 'the header bytes unchanged');
  });

  test('a message just spooled is read once: its captured header block decides SMTPUTF8', async () => {
    for (const [message, want] of [
      [UTF8_MESSAGE, true],
      [Buffer.from('Subject: x\r\n\r\nGrüße\r\n'), undefined],
    ] as const) {
      const w = await world(['b@corp.test'], { message });
      const opened: string[] = [];
      const open = w.ctx.spool.open.bind(w.ctx.spool);
      w.ctx.spool.open = (key: string) => {
        opened.push(key);
        return open(key);
      };
      const header = message.subarray(0, message.indexOf('\r\n\r\n') + 4);
      const outcome = await attemptDelivery(w.ctx, origin(), w.record, { header });
      assert.equal(outcome.record.state, 'delivered');
      assert.equal(w.mailParams[0]?.SMTPUTF8, want);
      assert.equal(opened.length, 1, 'only the delivery reads the spool');
      await target?.close();
      await store?.close();
      await server?.close();
    }
  });

  test('a UTF-8 address for a target without SMTPUTF8 is quarantined with the reason, never sent', async () => {
    const w = await world(['jörg@corp.test'], { noSmtpUtf8: true });
    const outcome = await attemptDelivery(w.ctx, origin('postmaster@corp.test'), w.record);
    assert.equal(outcome.kind, 'final');
    assert.equal(outcome.record.state, 'quarantined');
    assert.match(outcome.record.reason ?? '', /SMTPUTF8/);
    assert.match(outcome.record.reason ?? '', /not downgraded/);
    assert.deepEqual(w.mailParams, [], 'not even MAIL FROM was sent');
    assert.equal(w.ctx.target.health.state, 'ok', 'the target itself is fine');
  });
});
