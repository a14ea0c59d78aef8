// Postmaster alerts end to end: a provider that refuses the login, a target that is stopped and a
// provider certificate about to expire each raise exactly one alert (mail to the postmaster through the
// target, a JSON POST to a local webhook) and one recovery; passes in between add nothing, and a
// restart does not raise again what was raised. The daily digest lists what was quarantined and why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, describe, test } from 'node:test';
import { AlertWatcher } from '../../src/alerts/watcher.js';
import { createRuntime } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { startPop3Server } from '../../src/pop3/server/index.js';
import type { Pop3ServerHooks } from '../../src/pop3/server/types.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { retry } from '../../src/web/actions.js';
import { makeTempDir } from '../support/ports.js';
import { type ReceiverOptions, startReceiver } from '../support/smtp-receiver.js';
import { mail, PASSWORD } from './fault-world.js';
import { runCli } from './helpers.js';

const POSTMASTER = 'postmaster@corp.test';
const cleanup: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
});

interface Posted {
  event: string;
  key: string;
  title: string;
}

async function webhookServer() {
  const posted: Posted[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      posted.push(JSON.parse(body) as Posted);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanup.push(() => new Promise((r) => server.close(r)));
  const { port } = server.address() as { port: number };
  return { posted, url: `http://127.0.0.1:${port}/hooks/T000/SECRET-TOKEN` };
}

async function world(
  o: {
    messages?: Buffer[];
    tls?: { key: string; cert: string };
    receiver?: ReceiverOptions;
    retry?: string;
  } = {},
) {
  const hooks: Pop3ServerHooks = {};
  const pop3 = await startPop3Server({
    users: { 'info@example.com': { password: PASSWORD, messages: o.messages ?? [] } },
    hooks: { onCommand: (c) => hooks.onCommand?.(c) },
    ...(o.tls ? { tls: { ...o.tls, implicitTls: true } } : {}),
  });
  const receiver = await startReceiver(o.receiver);
  const tmp = await makeTempDir('postbote-alerts-');
  const hook = await webhookServer();
  cleanup.push(
    () => pop3.close(),
    () => receiver.stop(),
    () => tmp.remove(),
  );
  const postmasterMail = () =>
    receiver.byRecipient(POSTMASTER).map((b) => /^Subject: (.*)$/m.exec(b.toString())?.[1] ?? '');
  /** A `postbote run` (runtime, scheduler, alert watcher) on the world's state folder. */
  async function service(mailboxExtra = '') {
    const text = `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test, timeouts: { command: 5s } }
delivery: { postmaster: ${POSTMASTER}, retry: ${o.retry ?? '{ initial: 1s, max: 2s }'} }
alerts:
  after: 0s
  disk: { usedPercent: 100, minFree: 0 }
  webhook: { url: "${hook.url}", timeout: 5s }
mailboxes:
  - name: info
    host: 127.0.0.1
    port: ${pop3.port}
    tls: ${o.tls ? 'tls' : 'none'}
    user: info@example.com
    password: ${PASSWORD}
    timeouts: { command: 3s, idle: 3s }
    ${mailboxExtra}
`;
    // Also on disk, for the CLI beside it.
    await writeFile(`${tmp.path}/postbote.yaml`, text);
    const config = parseConfig(text, { file: 'test.yaml', baseDir: tmp.path });
    const runtime = await createRuntime(config, silentLogger());
    const scheduler = new Scheduler(runtime.ctx, runtime.plans, config.scheduler, silentLogger());
    const watcher = new AlertWatcher({
      config,
      alerts: config.alerts!,
      ctx: runtime.ctx,
      scheduler,
      logger: silentLogger(),
    });
    await watcher.start();
    return {
      runtime,
      watcher,
      scheduler,
      /** One pass of every mailbox, then the alert tick it triggers, finished. */
      async pass() {
        const [summary] = await scheduler.runAll();
        await watcher.poke();
        return summary!;
      },
      async close() {
        await scheduler.stop();
        await watcher.stop();
        await runtime.close();
      },
    };
  }
  return { pop3, receiver, hooks, hook, tmp, service, postmasterMail };
}

describe('postmaster alerts', () => {
  test('a mailbox refusing the login raises one alert and one recovery, also across a restart', async () => {
    const w = await world({ messages: [mail(1)] });
    w.hooks.onCommand = (c) =>
      ['PASS', 'AUTH', 'APOP'].includes(c.command) ? { reply: '-ERR [AUTH] invalid password' } : undefined;
    let s = await w.service('deliverTo: [info@corp.test]');
    for (let i = 0; i < 3; i++) assert.equal((await s.pass()).ok, false);
    assert.deepEqual(
      w.hook.posted.map((p) => [p.event, p.key]),
      [['alert', 'mailbox:info']],
    );
    await w.receiver.waitFor(1);
    assert.deepEqual(w.postmasterMail(), ['[Postbote] ALERT: mailbox info is failing']);
    assert.match(w.receiver.byRecipient(POSTMASTER)[0]!.toString(), /invalid password/);

    // A restart, the mailbox still failing: nothing raised again.
    await s.close();
    s = await w.service('deliverTo: [info@corp.test]');
    assert.equal((await s.pass()).ok, false);
    assert.equal(w.hook.posted.length, 1);
    assert.equal(w.postmasterMail().length, 1);

    w.hooks.onCommand = undefined;
    assert.equal((await s.pass()).ok, true);
    await s.pass();
    assert.deepEqual(
      w.hook.posted.map((p) => [p.event, p.key]),
      [
        ['alert', 'mailbox:info'],
        ['resolved', 'mailbox:info'],
      ],
    );
    assert.deepEqual(w.postmasterMail(), [
      '[Postbote] ALERT: mailbox info is failing',
      '[Postbote] RESOLVED: mailbox info is failing',
    ]);
    assert.ok(!w.hook.posted.some((p) => JSON.stringify(p).includes('SECRET-TOKEN')));
    await s.close();
  });

  test('a stopped target raises one alert, queued until it is back, then one recovery', async () => {
    const w = await world({ messages: [mail(1), mail(2)] });
    await w.receiver.stop();
    const s = await w.service('deliverTo: [info@corp.test]');
    for (let i = 0; i < 3; i++) await s.pass();
    assert.equal(s.runtime.target.health.state, 'down');
    assert.deepEqual(
      w.hook.posted.map((p) => [p.event, p.key]),
      [['alert', 'target']],
    );
    // The alert mail waits in the store like any message.
    const queued = await s.runtime.store.pending('(alerts)');
    assert.equal(queued.length, 1);
    assert.deepEqual(
      queued[0]!.recipients.map((r) => r.address),
      [POSTMASTER],
    );

    await w.receiver.start();
    await s.pass();
    await s.pass();
    assert.deepEqual(
      w.hook.posted.map((p) => [p.event, p.key]),
      [
        ['alert', 'target'],
        ['resolved', 'target'],
      ],
    );
    assert.deepEqual(w.postmasterMail().sort(), [
      '[Postbote] ALERT: target 127.0.0.1:' + w.receiver.port + ' is down',
      '[Postbote] RESOLVED: target 127.0.0.1:' + w.receiver.port + ' is down',
    ]);
    assert.equal(w.receiver.byRecipient('info@corp.test').length, 2);
    assert.equal((await s.runtime.store.pending('(alerts)')).length, 0);
    await s.close();
  });

  test('retry now on a deferred alert mail (web action, postbote queue retry) makes it due: the watcher sends it', async () => {
    let refuse = true;
    const w = await world({
      messages: [mail(1)],
      receiver: {
        onRcpt: (to) => (refuse && to === POSTMASTER ? { code: 451, message: '4.3.0 try later' } : undefined),
      },
      retry: '{ initial: 1h, max: 2h }',
    });
    w.hooks.onCommand = (c) =>
      ['PASS', 'AUTH', 'APOP'].includes(c.command) ? { reply: '-ERR [AUTH] invalid password' } : undefined;
    let s = await w.service('deliverTo: [info@corp.test]');
    await s.pass();
    const [queued] = await s.runtime.store.pending('(alerts)');
    assert.equal(queued?.state, 'deferred');
    refuse = false;
    await s.watcher.poke();
    assert.equal(w.postmasterMail().length, 0, 'deferred for an hour: not sent before');

    // The web page's action (the same function the service runs for `queue retry` beside it).
    const logged: string[] = [];
    const rec = await retry(
      {
        store: s.runtime.store,
        spool: s.runtime.spool,
        scheduler: s.scheduler,
        now: Date.now,
        logger: { info: (_o: unknown, msg: string) => logged.push(msg) } as never,
      },
      queued!.id,
      'admin',
    );
    assert.equal(rec.state, 'deferred');
    assert.ok((rec.nextAttemptAt ?? Number.POSITIVE_INFINITY) <= Date.now());
    assert.deepEqual(logged, [`message ${queued!.id}: retry requested by admin`]);
    await s.watcher.poke();
    assert.deepEqual(w.postmasterMail(), ['[Postbote] ALERT: mailbox info is failing']);
    assert.equal((await s.runtime.store.pending('(alerts)')).length, 0);

    // The recovery is refused in turn and deferred; `postbote queue retry` without the service.
    refuse = true;
    w.hooks.onCommand = undefined;
    await s.pass();
    const [recovery] = await s.runtime.store.pending('(alerts)');
    assert.equal(recovery?.state, 'deferred');
    await s.close();
    // Alert mail waiting is no mailbox's waiting mail: fetch succeeds (exit 0) and counts none.
    const fetched = await runCli(['fetch', '-c', `${w.tmp.path}/postbote.yaml`, '--json']);
    assert.equal(fetched.code, 0, fetched.stderr + fetched.stdout);
    const summary = JSON.parse(fetched.stdout) as { ok: boolean; mailboxes: Array<{ pending: number }> };
    assert.deepEqual([summary.ok, summary.mailboxes.map((m) => m.pending)], [true, [0]]);
    refuse = false;
    const cli = await runCli(['queue', 'retry', String(recovery!.id), '-c', `${w.tmp.path}/postbote.yaml`]);
    assert.equal(cli.code, 0, cli.stderr + cli.stdout);
    assert.match(
      cli.stdout,
      new RegExp(
        `message ${recovery!.id}: retry requested; now deferred \\(sent by the alert watcher of postbote run\\)`,
      ),
    );
    s = await w.service('deliverTo: [info@corp.test]');
    await s.watcher.poke();
    assert.deepEqual(w.postmasterMail(), [
      '[Postbote] ALERT: mailbox info is failing',
      '[Postbote] RESOLVED: mailbox info is failing',
    ]);
    await s.close();
  });

  test('a provider certificate valid for 10 more days raises one alert', async () => {
    const dir = await makeTempDir('postbote-alerts-cert-');
    cleanup.push(() => dir.remove());
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '10',
        '-subj',
        '/CN=pop.test',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        `${dir.path}/key.pem`,
        '-out',
        `${dir.path}/cert.pem`,
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(`${dir.path}/cert.pem`, 'utf8');
    const key = readFileSync(`${dir.path}/key.pem`, 'utf8');
    const w = await world({ messages: [mail(1)], tls: { key, cert } });
    const s = await w.service(`deliverTo: [info@corp.test]\n    ca: ${dir.path}/cert.pem`);
    assert.equal((await s.pass()).ok, true);
    await s.pass();
    const key_ = `cert:127.0.0.1:${w.pop3.port}`;
    assert.deepEqual(
      w.hook.posted.map((p) => [p.event, p.key]),
      [['alert', key_]],
    );
    assert.match(w.hook.posted[0]!.title, /expires in (9|10) day\(s\)/);
    assert.deepEqual(
      s.watcher.active().map((a) => a.key),
      [key_],
    );
    await s.close();
  });

  test('the daily digest lists what was quarantined, per reason', async () => {
    const w = await world({ messages: [mail(1), mail(2), mail(3)] });
    const s = await w.service('deliverTo: [info@corp.test]\n    maxMessageSize: 10');
    await s.pass();
    const now = Date.now();
    await s.watcher.sendDigest(now - 86_400_000, now);
    await s.watcher.poke();
    const digest = w.receiver
      .byRecipient(POSTMASTER)
      .map((b) => b.toString())
      .find((t) => /^Subject: \[Postbote\] daily digest/m.test(t));
    assert.ok(digest, 'a digest mail reached the postmaster');
    assert.match(digest, /^Subject: \[Postbote\] daily digest: 3 message\(s\) quarantined/m);
    assert.match(digest, /3 × too large to fetch/);
    assert.match(digest, /#2 \[info\] from <>: \(no subject\)\r\n {6}too large to fetch/);
    await s.close();
  });
});
