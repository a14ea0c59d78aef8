// The scheduler honours what a POP3 server announces (RFC 2449): LOGIN-DELAY bounds how often it logs
// in, EXPIRE 0 in keep mode is warned about, since the server deletes whatever Postbote keeps.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import type { MailboxPlan } from '../connector/mailbox-pass.js';
import { type Logger, silentLogger } from '../log.js';
import type { SourcePolicy } from '../source/types.js';
import { Scheduler } from './scheduler.js';
import { emptySession, plainPlan, schedulerContext } from './test-context.js';

const context = schedulerContext;

/** One empty mailbox whose server announces `policy`; records when each session logged in. */
function plan(policy: SourcePolicy, keep: boolean, interval: number) {
  const logins: number[] = [];
  const p: MailboxPlan & { interval: number } = {
    ...plainPlan('mb', 'pop.example', async () => {
      logins.push(Date.now());
      return emptySession('pop.example', { policy });
    }),
    keep,
    interval,
  };
  return { plan: p, logins };
}

function capture(): { logger: Logger; warnings: () => string[] } {
  let text = '';
  const sink = new Writable({
    write(chunk, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return {
    logger: pino({ level: 'debug' }, sink),
    warnings: () =>
      text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { level: number; msg: string })
        .filter((l) => l.level === 40)
        .map((l) => l.msg),
  };
}

test('LOGIN-DELAY: a pass asked for at once waits, and the next poll is not sooner than the delay', async () => {
  const ctx = await context();
  const m = plan({ loginDelay: 1 }, false, 10);
  const s = new Scheduler(ctx, [m.plan], { concurrency: 1, perHostConnections: 1 }, silentLogger());
  await s.runNow('mb');
  const next = s.statuses()[0]!.nextRunAt!;
  assert.ok(
    next - m.logins[0]! >= 990,
    `next poll ${next - m.logins[0]!} ms after the login, interval 10 ms`,
  );
  await s.runNow('mb', true);
  await s.stop();
  assert.equal(m.logins.length, 2);
  assert.ok(m.logins[1]! - m.logins[0]! >= 990, `logged in again after ${m.logins[1]! - m.logins[0]!} ms`);
  await ctx.store.close();
});

test('no LOGIN-DELAY: the interval alone decides', async () => {
  const ctx = await context();
  const m = plan({}, false, 10);
  const s = new Scheduler(ctx, [m.plan], { concurrency: 1, perHostConnections: 1 }, silentLogger());
  await s.runNow('mb');
  await s.runNow('mb', true);
  await s.stop();
  assert.ok(m.logins[1]! - m.logins[0]! < 500);
  await ctx.store.close();
});

test('EXPIRE 0 in keep mode is warned about once: the server deletes what Postbote keeps', async () => {
  const ctx = await context();
  const log = capture();
  const m = plan({ expire: 0 }, true, 60_000);
  const s = new Scheduler(ctx, [m.plan], { concurrency: 1, perHostConnections: 1 }, log.logger);
  await s.runNow('mb');
  await s.runNow('mb');
  await s.stop();
  const warnings = log.warnings().filter((w) => /EXPIRE 0/.test(w));
  assert.equal(warnings.length, 1, JSON.stringify(log.warnings()));
  assert.match(warnings[0]!, /keep cannot be honoured/);
  await ctx.store.close();
});

test('EXPIRE NEVER, or EXPIRE 0 without keep, is no warning', async () => {
  for (const [policy, keep] of [
    [{ expire: 'never' }, true],
    [{ expire: 'never' }, false],
    [{ expire: 0 }, false],
  ] as const) {
    const ctx = await context();
    const log = capture();
    const s = new Scheduler(
      ctx,
      [plan(policy, keep, 60_000).plan],
      { concurrency: 1, perHostConnections: 1 },
      log.logger,
    );
    await s.runNow('mb');
    await s.stop();
    assert.deepEqual(log.warnings(), [], JSON.stringify(policy));
    await ctx.store.close();
  }
});
