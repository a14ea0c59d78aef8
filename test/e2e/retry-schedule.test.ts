// Deferred mail is retried on its own time, not the mailbox's: at nextAttemptAt although the mailbox is
// polled hourly, and at once when the target's health check finds it back. A retry opens no provider
// session. Fault world: a scriptable POP3 provider and smtp-server as the company server.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { startPop3Server } from '../../src/pop3/server/index.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { makeTempDir } from '../support/ports.js';
import { type ReceiverHooks, startReceiver } from '../support/smtp-receiver.js';
import { mail, PASSWORD } from './fault-world.js';

const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A provider with one message, a company server, and `postbote run`'s scheduler polling hourly. */
async function service(retry: string, hooks: ReceiverHooks = {}) {
  const commands: string[] = [];
  const pop3 = await startPop3Server({
    users: { 'info@example.com': { password: PASSWORD, messages: [mail(1)] } },
    hooks: { onCommand: (ctx) => void commands.push(ctx.command) },
  });
  cleanup.push(() => pop3.close());
  const receiver = await startReceiver(hooks);
  const tmp = await makeTempDir('postbote-retry-');
  cleanup.push(() => tmp.remove());
  const config = parseConfig(
    `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test, timeouts: { connect: 2s, command: 5s } }
delivery: { retry: ${retry} }
scheduler: { interval: 1h }
mailboxes:
  - name: info
    host: 127.0.0.1
    port: ${pop3.port}
    tls: none
    user: info@example.com
    password: ${PASSWORD}
    deliverTo: [info@corp.local]
`,
    { file: 'test.yaml', baseDir: tmp.path },
  );
  const runtime = await createRuntime(config, silentLogger());
  const scheduler = new Scheduler(
    runtime.ctx,
    runtime.plans,
    { ...config.scheduler, targetCheck: 300 },
    silentLogger(),
  );
  const state = { receiver };
  cleanup.push(async () => {
    await scheduler.stop();
    await runtime.close();
    await state.receiver.stop();
  });
  return { commands, runtime, scheduler, state };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

test('a deferred message is retried at its nextAttemptAt although the mailbox is polled hourly', async () => {
  let refusals = 1;
  const s = await service('{ initial: 2s, max: 2s }', {
    onData: () => (refusals-- > 0 ? { code: 451, message: '4.3.0 try again later' } : undefined),
  });
  s.scheduler.start();
  let deferredAt = 0;
  await until(
    'deferred by the first poll',
    async () => (await s.runtime.store.pending('info')).some((r) => r.state === 'deferred'),
    15_000,
  );
  const [rec] = await s.runtime.store.pending('info');
  deferredAt = Date.now();
  const shown = rec!.nextAttemptAt!;
  assert.ok(shown > deferredAt, 'the next attempt lies ahead');
  // Armed asynchronously right after the pass: what the status says is what the page shows.
  await until('retry armed', () => s.scheduler.statuses()[0]?.nextRetryAt === shown, 2000);
  await until('delivered by the retry', () => s.state.receiver.received.length === 1, 10_000);
  const deliveredAt = Date.now();
  assert.ok(deliveredAt >= shown, `delivered ${shown - deliveredAt} ms before the time shown`);
  assert.ok(deliveredAt - shown < 1500, `delivered ${deliveredAt - shown} ms after the time shown`);
  assert.equal(s.commands.filter((c) => c === 'UIDL').length, 1, 'the retry opened no provider session');
  const [final] = (await s.runtime.store.messagesOf('info')).filter((r) => r.uid === rec!.uid);
  assert.equal(final?.state, 'delivered');
  assert.equal(s.scheduler.statuses()[0]?.nextRetryAt, null);
});

test('deferred mail is retried at once when the target’s health check finds it back', async () => {
  const s = await service('{ initial: 1h, max: 4h }');
  const port = s.state.receiver.port;
  await s.state.receiver.stop(); // the company server is down
  s.scheduler.start();
  await until(
    'deferred while the target is down',
    async () => (await s.runtime.store.pending('info')).some((r) => r.state === 'deferred'),
    15_000,
  );
  assert.equal(s.runtime.target.health.state, 'down');
  const [rec] = await s.runtime.store.pending('info');
  assert.ok(rec!.nextAttemptAt! - Date.now() > 3_000_000, 'next attempt in an hour');
  await sleep(500);
  s.state.receiver = await startReceiver({ port });
  const back = Date.now();
  await until('delivered once the target is back', () => s.state.receiver.received.length === 1, 5000);
  assert.ok(Date.now() - back < 3000, `delivered ${Date.now() - back} ms after the target came back`);
  assert.equal(s.runtime.target.health.state, 'ok');
  assert.equal(s.commands.filter((c) => c === 'UIDL').length, 1, 'the retry opened no provider session');
});
