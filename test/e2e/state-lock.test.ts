// One process at a time on a state: real `postbote` processes started together on one state folder,
// against the in-process POP3 server and a deliberately slow SMTP target, so their passes overlap.
// Each message must reach the target exactly once, the loser must name the holder, and a holder
// killed with SIGKILL must not leave a lock behind.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { type Pop3Server, startPop3Server } from '../../src/pop3/server/index.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { runCli, startCli } from './helpers.js';

const PASSWORD = 'lock-test-pw';
const mail = (tag: string, n: number) =>
  Buffer.from(
    `From: sender@example.net\r\nTo: info@example.com\r\nSubject: ${tag} ${n}\r\n` +
      `Message-ID: <${tag}-${n}@example.net>\r\n\r\nbody ${n}\r\n`,
  );

/** The company server, slowed down per message so that a pass lasts long enough to be overlapped. */
interface SlowTarget {
  port: number;
  /** Message-IDs in the order accepted. */
  ids: string[];
  /** When set, every RCPT gets 451: the mail is deferred and stays spooled. */
  refuse: boolean;
  delayMs: number;
  /** Messages whose DATA arrived (answered or not). */
  arrived: number;
  /** While set, DATA is not answered: the pass in progress holds still. */
  gate: Promise<void> | undefined;
  stop(): Promise<void>;
}

async function slowTarget(): Promise<SlowTarget> {
  const t = { ids: [] as string[], refuse: false, delayMs: 0, arrived: 0 } as SlowTarget;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disableReverseLookup: true,
    disabledCommands: ['STARTTLS'],
    onRcptTo(_address, _session, callback) {
      if (!t.refuse) return callback();
      callback(Object.assign(new Error('4.3.0 try again later'), { responseCode: 451 }));
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const id = /^Message-ID: (<[^>]+>)/im.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? '?';
        t.arrived++;
        await t.gate;
        setTimeout(() => {
          t.ids.push(id);
          callback();
        }, t.delayMs);
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.port = (server.server.address() as { port: number }).port;
  t.stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return t;
}

let pop3: Pop3Server;
let target: SlowTarget;
let tmp: TempDir;
const users: Record<string, { password: string; messages: Buffer[] }> = {};

before(async () => {
  tmp = await makeTempDir('postbote-lock-');
  target = await slowTarget();
  // One provider mailbox per test, so the tests share one server and cannot see each other's mail.
  for (const [user, count] of [
    ['deferred', 60],
    ['pair', 40],
    ['killed', 0],
  ] as const) {
    users[`${user}@example.com`] = {
      password: PASSWORD,
      messages: Array.from({ length: count }, (_, i) => mail(user, i)),
    };
  }
  pop3 = await startPop3Server({ users });
});
after(async () => {
  await pop3?.close();
  await target?.stop();
  await tmp?.remove();
});

async function config(name: string): Promise<{ file: string; state: string }> {
  const state = join(tmp.path, `state-${name}`);
  const file = join(tmp.path, `${name}.yaml`);
  await writeFile(
    file,
    `state: ${state}
target: { host: 127.0.0.1, port: ${target.port}, tls: none, helo: postbote.test }
delivery: { retry: { initial: 1s, max: 2s } }
scheduler: { interval: 1h }
mailboxes:
  - name: ${name}
    host: 127.0.0.1
    port: ${pop3.port}
    tls: none
    user: ${name}@example.com
    password: ${PASSWORD}
    deliverTo: [${name}@corp.local]
`,
  );
  return { file, state };
}

function countIds(tag: string): Map<string, number> {
  const seen = new Map<string, number>();
  for (const id of target.ids) if (id.startsWith(`<${tag}-`)) seen.set(id, (seen.get(id) ?? 0) + 1);
  return seen;
}

/** Resolves once `<state>/postbote.pid` names `pid`, i.e. that process holds the lock. */
async function holding(state: string, pid: number, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(join(state, 'postbote.pid'), 'utf8').catch(() => '');
    if (text.includes(`"pid":${pid},`)) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} never took the lock (${text})`);
    await sleep(50);
  }
}

const STARTED = /started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;

test('three fetch at once on a state with deferred mail deliver each message exactly once', async () => {
  const { file } = await config('deferred');
  target.refuse = true;
  const first = await runCli(['fetch', '-c', file]);
  assert.equal(first.code, 1, first.stdout + first.stderr);
  assert.match(first.stdout, /60 deferred/);
  target.refuse = false;
  target.delayMs = 15;
  try {
    const runs = await Promise.all([0, 1, 2].map(() => runCli(['fetch', '-c', file, '--wait', '60s'])));
    for (const r of runs) {
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout + r.stderr, /ENOENT/);
    }
  } finally {
    target.delayMs = 0;
  }
  const seen = countIds('deferred');
  assert.equal(seen.size, 60);
  assert.deepEqual(
    [...seen].filter(([, n]) => n > 1),
    [],
    'no message delivered twice',
  );
  assert.equal(pop3.mailbox('deferred@example.com').length, 0);
});

test('a second fetch refuses with the holder’s PID, a third waits and then works', async () => {
  const { file } = await config('pair');
  // The first fetch's first message is held at the target: its pass stays in progress until released.
  let release = () => {};
  target.gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const arrived = target.arrived;
  try {
    const a = startCli(['fetch', '-c', file]);
    while (target.arrived === arrived) await sleep(10);
    const b = await runCli(['fetch', '-c', file, '--wait', '0']);
    assert.equal(b.code, 3, b.stdout + b.stderr);
    assert.match(b.stderr, new RegExp(`is in use by postbote fetch, PID ${a.pid}, `));
    assert.match(b.stderr, STARTED);
    const json = await runCli(['fetch', '-c', file, '--json', '--wait', '0']);
    assert.equal(json.code, 3, json.stdout + json.stderr);
    const report = JSON.parse(json.stdout) as { ok: boolean; error: { code: string; message: string } };
    assert.equal(report.ok, false);
    assert.equal(report.error.code, 'STATE_IN_USE');
    assert.match(report.error.message, new RegExp(`postbote fetch, PID ${a.pid}, `));
    const c = startCli(['fetch', '-c', file, '--wait', '60s']);
    await sleep(1500); // c starts and finds the state in use
    target.gate = undefined;
    release();
    const [ra, rc] = await Promise.all([a.result, c.result]);
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    assert.equal(rc.code, 0, rc.stdout + rc.stderr);
    assert.match(ra.stdout, /40 delivered/);
    assert.match(rc.stdout, / 0 delivered/);
  } finally {
    target.gate = undefined;
    release();
  }
  const seen = countIds('pair');
  assert.equal(seen.size, 40);
  assert.ok(
    [...seen.values()].every((n) => n === 1),
    'no message delivered twice',
  );
});

test('a second run refuses at once beside a running service, fetch and route go through it; after kill -9 the next process gets the lock at once', async () => {
  const { file, state } = await config('killed');
  const service = startCli(['run', '-c', file]);
  try {
    await holding(state, service.pid);
    const second = await runCli(['run', '-c', file]);
    assert.equal(second.code, 3, second.stdout + second.stderr);
    assert.match(second.stderr, new RegExp(`is in use by postbote run, PID ${service.pid}, `));
    assert.match(second.stderr, STARTED);
    // fetch and route do not wait for the lock beside a service: the service does the work through its
    // control socket (test/e2e/service-control.test.ts), so even --wait 0 succeeds.
    const json = await runCli(['fetch', '-c', file, '--json', '--wait', '0']);
    assert.equal(json.code, 0, json.stdout + json.stderr);
    assert.equal((JSON.parse(json.stdout) as { ok: boolean }).ok, true);
    const route = await runCli(['route', '-c', file, '-m', 'killed', '--wait', '1s']);
    assert.equal(route.code, 0, route.stdout + route.stderr);
    assert.match(route.stdout, /^killed: 0 messages on the server/);
    assert.match(await readFile(join(state, 'postbote.pid'), 'utf8'), new RegExp(`"pid":${service.pid},`));
  } finally {
    service.child.kill('SIGKILL');
  }
  assert.equal((await service.result).signal, 'SIGKILL');
  // The side file still names the dead process; the lock itself died with it.
  assert.match(await readFile(join(state, 'postbote.pid'), 'utf8'), new RegExp(`"pid":${service.pid},`));
  const next = await runCli(['fetch', '-c', file, '--wait', '0']);
  assert.equal(next.code, 0, next.stdout + next.stderr);
  await assert.rejects(readFile(join(state, 'postbote.pid')), { code: 'ENOENT' }, 'removed on a clean exit');
});
