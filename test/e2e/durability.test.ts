// Durability branches run end to end against the fake provider and receiver (fault-world.ts), with a
// clock the test controls: the backoff as recorded, expiry into quarantine, 552 at the target,
// deleteAfterDays in keep mode, a damaged spool file, and mail quarantined without its bytes released.
import assert from 'node:assert/strict';
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createRuntime, type Runtime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import { type PassOptions, type PassSummary, runMailboxPass } from '../../src/connector/mailbox-pass.js';
import { MAX_READ_FAILURES } from '../../src/connector/read-failure.js';
import { silentLogger } from '../../src/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import type { MessageRecord } from '../../src/store/types.js';
import { ActionError, release } from '../../src/web/actions.js';
import { infoMailbox, left, mail, type World, world } from './fault-world.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 0, 5, 8, 0, 0);

interface Clocked {
  w: World;
  /** The pass's clock (DeliveryContext.now), moved by the test. */
  now: number;
  /** One pass at `now`; the state's records afterwards, oldest first. */
  pass(options?: PassOptions): Promise<{ summary: PassSummary; records: MessageRecord[] }>;
  /** Opens the state between passes (the process's lock is free then). */
  withRuntime<T>(use: (rt: Runtime) => Promise<T>): Promise<T>;
  stateDir: string;
  /** The mailbox's and delivery's configuration lines, read at each pass (an admin may edit them). */
  mailbox: string;
  delivery: string;
}

/** A fault world whose passes run at a clock the test sets, with the configuration given. */
async function clocked(
  messages: Buffer[],
  o: { mailbox?: string; delivery?: string } = {},
): Promise<Clocked> {
  const w = await world(messages);
  const stateDir = join(w.tmp.path, 'state');
  const yaml = () => `
state: ${stateDir}
target: { host: 127.0.0.1, port: ${w.receiver.port}, tls: none, helo: postbote.test, timeouts: { command: 5s } }
delivery: { ${c.delivery} }
mailboxes:
${infoMailbox(w, 'timeouts: { command: 3s, idle: 3s }', c.mailbox)}
`;
  const c: Clocked = {
    w,
    now: T0,
    stateDir,
    mailbox: o.mailbox ?? 'deliverTo: [info@corp.local]',
    delivery: o.delivery ?? 'retry: { initial: 1m, max: 10m }',
    async withRuntime(use) {
      const config = parseConfig(yaml(), { file: 'test.yaml', baseDir: w.tmp.path });
      const rt = await createRuntime(config, silentLogger());
      rt.ctx.now = () => c.now;
      try {
        return await use(rt);
      } finally {
        await rt.close();
      }
    },
    pass(options = {}) {
      return c.withRuntime(async (rt) => {
        const summary = await runMailboxPass(rt.ctx, rt.plans[0]!, options);
        const { messages: records } = await rt.store.searchMessages({ limit: 1000 });
        return { summary, records: records.sort((a, b) => a.id - b.id) };
      });
    },
  };
  return c;
}

const fetched = (records: MessageRecord[]) => records.filter((r) => !r.uid.startsWith('notice:'));
const notices = (records: MessageRecord[]) => records.filter((r) => r.uid.startsWith('notice:'));

describe('retry backoff', () => {
  test('nextAttemptAt follows initial, then doubles, then stays at max; no attempt before it', async () => {
    const c = await clocked([mail(1)], { delivery: 'retry: { initial: 1m, max: 5m, expireAfter: 1d }' });
    c.w.rcvHooks.onRcpt = () => ({ code: 451, message: '4.3.0 try again later' });
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { summary, records } = await c.pass();
      const rec = fetched(records)[0]!;
      assert.equal(rec.state, 'deferred', summary.error?.describe());
      assert.equal(rec.attempts, i + 1);
      waits.push((rec.nextAttemptAt! - c.now) / MINUTE);
      // Just before it is due, a pass leaves it alone (not forced, as `run` polls).
      c.now = rec.nextAttemptAt! - 1;
      const early = await c.pass();
      assert.equal(fetched(early.records)[0]!.attempts, i + 1, `attempt ${i + 2} made before its time`);
      c.now = rec.nextAttemptAt!;
    }
    assert.deepEqual(waits, [1, 2, 4, 5, 5]);
    assert.equal(c.w.receiver.refused.length, 5, 'the target was asked once per due attempt');
    assert.equal(left(c.w), 1, 'kept at the provider while deferred');
  });
});

describe('retry expiry', () => {
  test('deferred past expireAfter: quarantined with the last reply, removed at the provider, postmaster told once', async () => {
    const c = await clocked([mail(1)], {
      delivery: 'retry: { initial: 1m, max: 10m, expireAfter: 2h }, postmaster: pm@corp.local',
    });
    c.w.rcvHooks.onRcpt = (a) =>
      a === 'info@corp.local' ? { code: 451, message: '4.2.1 mailbox busy' } : undefined;
    const first = await c.pass();
    assert.equal(fetched(first.records)[0]!.state, 'deferred');
    assert.equal(left(c.w), 1);

    c.now = T0 + 2 * HOUR - 1;
    const before = await c.pass();
    const last = fetched(before.records)[0]!;
    assert.equal(last.state, 'deferred', 'not yet expired');
    assert.equal(c.w.receiver.byRecipient('pm@corp.local').length, 0);

    // Expiry is decided when an attempt is due (as Postfix's queue lifetime): the first one past 2 h.
    c.now = last.nextAttemptAt!;
    const { summary, records } = await c.pass();
    const rec = fetched(records)[0]!;
    assert.equal(rec.state, 'quarantined');
    assert.match(
      rec.reason ?? '',
      /still failing temporarily after 2 h: info@corp\.local: 451 4\.2\.1 mailbox busy/,
    );
    assert.ok(rec.spoolKey, 'quarantined with its bytes');
    assert.equal(summary.quarantined, 1);
    assert.equal(left(c.w), 0, 'durably quarantined, so removed at the provider');
    const told = c.w.receiver.byRecipient('pm@corp.local');
    assert.equal(told.length, 1);
    assert.match(told[0]!.toString(), /quarantined[\s\S]*Subject: +message 1[\s\S]*mailbox busy/);
    assert.equal(c.w.receiver.byRecipient('info@corp.local').length, 0);

    c.now += DAY;
    await c.pass();
    assert.equal(c.w.receiver.byRecipient('pm@corp.local').length, 1, 'told once');
    assert.equal(notices((await c.pass()).records).length, 1);
  });
});

describe('552 at the target', () => {
  for (const [stage, reply] of [
    ['after DATA, 552 5.3.4', { code: 552, message: '5.3.4 Message size exceeds fixed limit' }],
    ['at RCPT, plain 552', { code: 552, message: 'Message too big for this server' }],
  ] as const) {
    test(`${stage}: quarantined with its bytes, never retried, removed at the provider, postmaster told`, async () => {
      const c = await clocked([mail(1)], {
        mailbox: 'deliverTo: [info@corp.local]\n    fallback: fb@corp.local',
        delivery: 'retry: { initial: 1m, max: 10m }, postmaster: pm@corp.local',
      });
      if (stage.startsWith('after DATA'))
        c.w.rcvHooks.onData = (e) => (e.to.includes('info@corp.local') ? reply : undefined);
      else c.w.rcvHooks.onRcpt = (a) => (a === 'info@corp.local' ? reply : undefined);
      const { summary, records } = await c.pass();
      const rec = fetched(records)[0]!;
      assert.equal(rec.state, 'quarantined', summary.error?.describe());
      assert.match(rec.reason ?? '', /too large for the target: 552/);
      assert.equal(rec.nextAttemptAt, null);
      assert.ok(rec.spoolKey);
      assert.equal(
        (await readFile(join(c.stateDir, 'spool/msg', rec.spoolKey!))).length,
        rec.size,
        'the bytes stay in the spool',
      );
      assert.equal(c.w.receiver.byRecipient('fb@corp.local').length, 0, 'too large is not a fallback case');
      assert.equal(c.w.receiver.byRecipient('pm@corp.local').length, 1);
      assert.equal(left(c.w), 0);
      c.now += HOUR;
      const again = await c.pass({ force: true });
      assert.equal(again.summary.delivered + again.summary.quarantined, 0, 'not tried again');
      assert.equal(c.w.receiver.refused.length, 1);
    });
  }
});

describe('keep mode with deleteAfterDays', () => {
  test('kept for deleteAfterDays from the fetch, then removed without delivering again', async () => {
    const c = await clocked([mail(1), mail(2)], {
      mailbox: 'deliverTo: [info@corp.local]\n    keep: true\n    deleteAfterDays: 3',
    });
    const first = await c.pass();
    assert.equal(first.summary.delivered, 2);
    assert.equal(left(c.w), 2);
    c.now = T0 + DAY;
    c.w.pop3.maildrop('info@example.com').add(mail(3), 'late');
    assert.equal((await c.pass()).summary.delivered, 1);

    c.now = T0 + 3 * DAY - 1;
    const early = await c.pass();
    assert.equal(early.summary.removed, 0, 'a millisecond too early');
    assert.equal(left(c.w), 3);

    c.now = T0 + 3 * DAY;
    const due = await c.pass();
    assert.equal(due.summary.removed, 2, 'the two fetched at T0');
    assert.equal(left(c.w), 1);
    assert.ok(
      fetched(due.records)
        .slice(0, 2)
        .every((r) => r.sourceRemovedAt === T0 + 3 * DAY),
    );

    c.now = T0 + 4 * DAY;
    const last = await c.pass();
    assert.equal(last.summary.removed, 1);
    assert.equal(left(c.w), 0);
    assert.equal(c.w.receiver.received.length, 3, 'each delivered once');
  });
});

describe('a damaged spool file', () => {
  for (const [how, damage] of [
    ['truncated', (file: string) => truncate(file, 40)],
    [
      'same size, wrong bytes',
      async (file: string) => {
        const bytes = await readFile(file);
        bytes.write('XXXX', bytes.length - 10, 'latin1');
        await writeFile(file, bytes);
      },
    ],
  ] as const) {
    test(`${how}: the message is fetched again from the provider and delivered once, intact`, async () => {
      const c = await clocked([mail(1)]);
      c.w.rcvHooks.onData = () => ({ code: 451, message: '4.3.0 try again later' });
      const first = await c.pass();
      const rec = fetched(first.records)[0]!;
      assert.equal(rec.state, 'deferred');
      await damage(join(c.stateDir, 'spool/msg', rec.spoolKey!));

      c.w.rcvHooks.onData = undefined;
      c.now += HOUR;
      const { summary, records } = await c.pass();
      assert.equal(summary.ok, true, summary.error?.describe());
      assert.equal(summary.fetched, 1, 'fetched again');
      assert.equal(c.w.receiver.received.length, 1, 'delivered once');
      const got = c.w.receiver.received[0]!.raw.toString('latin1');
      assert.ok(
        got.endsWith(mail(1).toString('latin1')),
        `delivered damaged: ${JSON.stringify(got.slice(-60))}`,
      );
      assert.equal(left(c.w), 0);
      assert.deepEqual(
        fetched(records).map((r) => r.state),
        ['delivered'],
        'the damaged record is gone, not left pending',
      );
    });
  }
});

/** The admin's release (web admin or API): the pass it asks for runs at once; its summary is returned. */
function releaseTo(c: Clocked, id: number, recipient: string) {
  return c.withRuntime(async (rt) => {
    const scheduler = new Scheduler(rt.ctx, rt.plans, rt.config.scheduler, silentLogger());
    try {
      const deps = { store: rt.store, spool: rt.spool, scheduler, now: () => c.now, logger: silentLogger() };
      const released = await release(deps, id, recipient, 'admin');
      const summary = await scheduler.runNow('info'); // the pass release() requested
      return { released, summary, record: (await rt.store.get(id))! };
    } finally {
      await scheduler.stop();
    }
  });
}

const big = Buffer.concat([mail(9), Buffer.from('a long attachment line\r\n'.repeat(120))]);

describe('quarantined without its bytes, then released', () => {
  test('too large: left on the server; released, the next pass fetches it whatever its size and delivers it once', async () => {
    const c = await clocked([mail(1), big], {
      mailbox: 'deliverTo: [info@corp.local]\n    maxMessageSize: 1000',
    });
    const retrs: string[] = [];
    c.w.pop3Hooks.onCommand = (cmd) => {
      if (cmd.command === 'RETR') retrs.push(cmd.args);
      return undefined;
    };
    const first = await c.pass();
    assert.deepEqual([first.summary.delivered, first.summary.quarantined], [1, 1]);
    const held = fetched(first.records)[1]!;
    assert.equal(held.state, 'quarantined');
    assert.equal(held.spoolKey, null);
    assert.match(held.reason ?? '', /too large to fetch: \d+ bytes on the server, limit 1000/);
    assert.equal(left(c.w), 1, 'the provider keeps the only copy');
    assert.deepEqual(retrs, ['1'], 'never downloaded');

    c.now += HOUR;
    await c.pass({ force: true });
    assert.equal(left(c.w), 1);
    assert.deepEqual(retrs, ['1']);

    c.now += HOUR;
    const { released, summary, record } = await releaseTo(c, held.id, 'boss@corp.local');
    assert.equal(released.state, 'spooled');
    assert.equal(summary.ok, true, summary.error?.describe());
    assert.equal(record.state, 'delivered');
    assert.equal(record.size, big.length);
    const got = c.w.receiver.byRecipient('boss@corp.local');
    assert.equal(got.length, 1);
    assert.ok(got[0]!.toString('latin1').endsWith(big.toString('latin1')), 'delivered whole');
    assert.equal(left(c.w), 0, 'removed at the provider once delivered');
    assert.equal(c.w.receiver.byRecipient('info@corp.local').length, 1, 'only the small one went there');

    c.now += HOUR;
    const after = await c.pass({ force: true });
    assert.equal(after.summary.delivered + after.summary.fetched, 0);
    assert.equal(fetched(after.records).length, 2, 'one record per message, no second one');
  });

  test('unreadable: released, the next pass reads it again and delivers it', async () => {
    // The unreadable one first: it keeps number 1 while the other is delivered and removed.
    const c = await clocked([mail(2), mail(1)], {
      delivery: 'retry: { initial: 1m, max: 10m }, postmaster: pm@corp.local',
    });
    c.w.pop3Hooks.onCommand = (cmd) =>
      cmd.command === 'RETR' && cmd.args === '1' ? { reply: '-ERR cannot read' } : undefined;
    for (let i = 0; i < MAX_READ_FAILURES; i++) {
      c.now += HOUR;
      await c.pass();
    }
    const held = fetched((await c.pass()).records).find((r) => r.state === 'quarantined')!;
    assert.match(held.reason ?? '', /unreadable: reading it failed in 3 passes/);
    assert.equal(held.spoolKey, null);
    assert.equal(left(c.w), 1);
    assert.equal(c.w.receiver.byRecipient('pm@corp.local').length, 1, 'the postmaster was told');

    // The provider repaired the mailbox; the admin releases it to its recipient.
    c.w.pop3Hooks.onCommand = undefined;
    c.now += HOUR;
    const { summary, record } = await releaseTo(c, held.id, 'info@corp.local');
    assert.equal(summary.ok, true, summary.error?.describe());
    assert.equal(record.state, 'delivered');
    const got = c.w.receiver
      .byRecipient('info@corp.local')
      .map((m) => /Subject: (.*)\r\n/.exec(m.toString())?.[1]);
    assert.deepEqual(got.sort(), ['message 1', 'message 2']);
    assert.equal(left(c.w), 0);
  });

  test('a released message the provider no longer lists is refused: nothing to fetch', async () => {
    const c = await clocked([big], { mailbox: 'deliverTo: [info@corp.local]\n    maxMessageSize: 1000' });
    const held = fetched((await c.pass()).records)[0]!;
    const drop = c.w.pop3.maildrop('info@example.com');
    drop.commitDeletes(new Set([drop.current()[0]!.uid])); // deleted in the provider's webmail
    await c.pass();
    await assert.rejects(releaseTo(c, held.id, 'boss@corp.local'), (err: unknown) => {
      assert.ok(err instanceof ActionError);
      assert.equal(err.status, 409);
      assert.match(err.message, /no longer on the provider/);
      return true;
    });
  });
});

describe('bytes of a message the provider no longer has', () => {
  test('quarantined (DELE done), released, its spool file gone: the record is kept and marked, never discarded', async () => {
    const c = await clocked([mail(1)]);
    c.w.rcvHooks.onRcpt = () => ({ code: 550, message: '5.1.1 no such user' });
    const first = await c.pass();
    const held = fetched(first.records)[0]!;
    assert.equal(held.state, 'quarantined');
    assert.equal(left(c.w), 0, 'quarantined with its bytes: removed at the provider');
    await rm(join(c.stateDir, 'spool/msg', held.spoolKey!));

    c.w.rcvHooks.onRcpt = undefined;
    c.now += HOUR;
    const { summary, record } = await releaseTo(c, held.id, 'info@corp.local');
    assert.ok(record, 'the record of a message the provider no longer has was discarded');
    assert.equal(record.state, 'quarantined', 'kept, set aside for a person');
    assert.match(record.reason ?? '', /bytes are missing.*needs action/);
    assert.equal(record.spoolKey, held.spoolKey, 'still names its bytes: restoring the file is enough');
    assert.equal(summary.ok, false);
    assert.match(summary.error?.describe() ?? '', /bytes are missing/);
    assert.equal(c.w.receiver.received.length, 0);
  });
});
