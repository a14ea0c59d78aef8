// Scale out (issue 15): three `postbote run` processes share 31 mailboxes through one PostgreSQL state
// and mailbox leases. Every message is delivered exactly once; kill -9 of an instance mid-pass loses
// nothing and its mailboxes continue elsewhere within the lease time plus a poll; an instance paused
// (SIGSTOP) past its lease and then continued commits, deletes and quits nothing.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { type Pop3Server, startPop3Server } from '../../src/pop3/server/index.js';
import { Maildrop } from '../../src/pop3/server/maildrop.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type PostgresCluster, postgresUnavailable, startPostgres } from '../support/postgres.js';
import { CLI, ROOT, runCli, writeConfig } from './helpers.js';

const skip = postgresUnavailable();

const MAILBOXES = Array.from({ length: 30 }, (_, i) => `mb${String(i + 1).padStart(2, '0')}`);
const INSTANCES = 3;
// Short, so takeovers happen within the test's time (a real deployment keeps the 30 s default), but
// not 3 s: on a loaded 2-core machine an instance's timers stall for seconds, and its leases lapse.
const LEASE_TTL_MS = 5_000;
const INTERVAL_MS = 1_000;
// Liveness is read by a heartbeat every third of the lease time: at most that on top of ttl + a poll,
// plus time for the poll's turn and a loaded machine.
// (Measured 5-8 s on a quiet machine; up to 13.4 s with a load average of 22 on its 2 cores.)
const TAKEOVER_LIMIT_MS = 2 * LEASE_TTL_MS + INTERVAL_MS + 6_000;
const KILLS = 3;
// The first message to the slow recipient is held this long before the 250: the pass is mid-message.
const SLOW_MS = 4_000;
const PASSWORD = 'pw';

let serial = 0;
function message(box: string): { id: string; data: Buffer } {
  const id = `${box}-${++serial}`;
  return {
    id,
    data: Buffer.from(
      `From: s${serial}@example.net\r\nTo: ${box}@example.com\r\nSubject: scale ${id}\r\n` +
        `Message-ID: <${id}@example.net>\r\nX-Scale-Id: ${id}\r\n\r\n${'body line\r\n'.repeat(20)}`,
    ),
  };
}

/** The company server: counts accepted messages by X-Scale-Id; holds the first one to `slow@` a while. */
function startSink(): Promise<{
  port: number;
  accepted: Map<string, number>;
  slowStarted: () => boolean;
  close(): Promise<void>;
}> {
  const accepted = new Map<string, number>();
  let slowUsed = false;
  let slowBegan = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.once('end', () => {
        const id = /^X-Scale-Id: (\S+)/m.exec(Buffer.concat(chunks).toString('latin1'))?.[1] ?? '?';
        const accept = () => {
          accepted.set(id, (accepted.get(id) ?? 0) + 1);
          callback(null, 'Ok');
        };
        const slow = session.envelope.rcptTo.some((r) => r.address === 'slow@corp.local');
        if (slow && !slowUsed) {
          slowUsed = true;
          slowBegan = true;
          setTimeout(accept, SLOW_MS);
        } else accept();
      });
    },
  });
  // A killed instance's connection ends in a reset: not an error of the test.
  server.on('error', () => undefined);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.server.address() as { port: number }).port;
      resolve({
        port,
        accepted,
        slowStarted: () => slowBegan,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

interface Instance {
  label: string;
  config: string;
  child?: ChildProcess;
  /** JSON log lines of every process that ran under this label. */
  log: Array<Record<string, unknown>>;
}

describe('three instances on one PostgreSQL state', { skip }, () => {
  let cluster: PostgresCluster;
  let url: string;
  let pop3: Pop3Server;
  let sink: Awaited<ReturnType<typeof startSink>>;
  let tmp: TempDir;
  const drops = new Map<string, Maildrop>();
  const seeded = new Set<string>();
  /** POP3 commands by session id, with the time each arrived (the user `slow` only). */
  const slowSessions = new Map<number, Array<{ command: string; at: number }>>();
  const instances: Instance[] = [];
  /** A configuration for a `postbote fetch` beside the instances. */
  let fetchConfig = '';

  const seed = (box: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const m = message(box);
      seeded.add(m.id);
      drops.get(box)!.add(m.data);
    }
  };
  const leftAtProvider = () => [...drops.values()].reduce((n, d) => n + d.current().length, 0);
  const delivered = () => [...seeded].filter((id) => sink.accepted.has(id)).length;
  const duplicates = () => [...sink.accepted.values()].reduce((n, c) => n + c - 1, 0);
  /**
   * Duplicates the 250→commit window does not explain: per mailbox, more than one per pass cut short
   * there, by a kill of the instance that held it (`killedIn`) or by a lost lease (an instance starved
   * past its lease time on a loaded machine: its pass line says so).
   */
  const unexplained = (killedIn: Map<string, number>): string[] => {
    const lostIn = new Map<string, number>();
    for (const line of instances.flatMap((i) => i.log)) {
      const m = /^mailbox (\S+): \d+ listed.* is lost/.exec(String(line.msg));
      if (m) lostIn.set(m[1]!, (lostIn.get(m[1]!) ?? 0) + 1);
    }
    const twice = new Map<string, number>();
    for (const [id, n] of sink.accepted) {
      const box = id.slice(0, id.lastIndexOf('-'));
      if (n > 1) twice.set(box, (twice.get(box) ?? 0) + n - 1);
    }
    return [...twice]
      .filter(([box, n]) => n > (killedIn.get(box) ?? 0) + (lostIn.get(box) ?? 0))
      .map(
        ([box, n]) =>
          `${box}: ${n} duplicates, ${killedIn.get(box) ?? 0} kills, ${lostIn.get(box) ?? 0} leases lost`,
      );
  };

  async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<R>(text, values)).rows;
    } finally {
      await c.end();
    }
  }
  /** Live leases: mailbox → owner. */
  async function holders(): Promise<Map<string, string>> {
    const rows = await sql<{ mailbox: string; owner: string }>(
      'SELECT mailbox, owner FROM leases WHERE expires_at > now()',
    );
    return new Map(rows.map((r) => [r.mailbox, r.owner]));
  }

  function start(inst: Instance): void {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', '-c', inst.config], {
      cwd: ROOT,
      env: { ...process.env, POSTBOTE_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let rest = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        try {
          inst.log.push(JSON.parse(line));
        } catch {
          inst.log.push({ msg: line });
        }
      }
    });
    inst.child = child;
  }
  async function stop(inst: Instance, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = inst.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
  async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<number> {
    const t0 = Date.now();
    while (!(await ok())) {
      if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
      await sleep(50);
    }
    return Date.now() - t0;
  }

  before(async () => {
    cluster = await startPostgres('scale');
    url = await cluster.createDatabase('scale');
    sink = await startSink();
    tmp = await makeTempDir('postbote-scale-');
    const users: Record<string, { password: string; messages: Maildrop }> = {};
    for (const box of [...MAILBOXES, 'slow']) {
      const drop = new Maildrop();
      drops.set(box, drop);
      users[box] = { password: PASSWORD, messages: drop };
    }
    pop3 = await startPop3Server({
      users,
      hooks: {
        onCommand: (ctx) => {
          if (ctx.user !== 'slow') return undefined;
          const list = slowSessions.get(ctx.sessionId) ?? [];
          list.push({ command: ctx.command, at: Date.now() });
          slowSessions.set(ctx.sessionId, list);
          return undefined;
        },
      },
    });
    const mailboxes = [...MAILBOXES, 'slow']
      .map(
        (box) => `
  - name: ${box}
    host: 127.0.0.1
    port: ${pop3.port}
    tls: none
    user: ${box}
    password: ${PASSWORD}
    deliverTo: [${box}@corp.local]`,
      )
      .join('');
    for (let i = 1; i <= INSTANCES; i++) {
      const label = `i${i}`;
      await mkdir(join(tmp.path, label));
      const config = await writeConfig(
        join(tmp.path, label),
        `
state: ${url}
spool: ${tmp.path}/${label}/spool
instance: ${label}
target: { host: 127.0.0.1, port: ${sink.port}, tls: none, helo: postbote.test }
scheduler: { interval: ${INTERVAL_MS / 1000}s, leaseTtl: ${LEASE_TTL_MS / 1000}s, concurrency: 16, perHostConnections: 16 }
mailboxes:${mailboxes}
`,
      );
      instances.push({ label, config, log: [] });
    }
    await mkdir(join(tmp.path, 'f4'));
    fetchConfig = await writeConfig(
      join(tmp.path, 'f4'),
      `state: ${url}\nspool: ${tmp.path}/f4/spool\ninstance: f4\n` +
        `target: { host: 127.0.0.1, port: ${sink.port}, tls: none }\nmailboxes:${mailboxes}\n`,
    );
  });
  after(async () => {
    if (process.env.SCALE_LOGS)
      for (const inst of instances)
        (await import('node:fs')).writeFileSync(
          `${process.env.SCALE_LOGS}-${inst.label}`,
          inst.log.map((l) => JSON.stringify(l)).join('\n'),
        );
    for (const inst of instances) await stop(inst, 'SIGKILL');
    await pop3?.close();
    await sink?.close();
    await cluster?.stop();
    await tmp?.remove();
  });

  test('every message is delivered exactly once and the provider emptied, the mailboxes spread over all three', async () => {
    for (const box of MAILBOXES) seed(box, 8);
    for (const inst of instances) start(inst);
    await until(
      'all 240 delivered and removed',
      () => delivered() === seeded.size && leftAtProvider() === 0,
      40_000,
    );
    assert.deepEqual(unexplained(new Map()), [], 'exactly once, but for passes whose lease was lost');
    // Each instance ranks first for some of the 30 mailboxes and holds their leases.
    await until(
      'leases held by all three instances',
      async () => new Set((await holders()).values()).size === INSTANCES,
      5_000,
    );
    const owners = new Set((await holders()).values());
    for (const inst of instances)
      assert.ok(
        [...owners].some((o) => o.startsWith(`${inst.label}#`)),
        inst.label,
      );
    // A `postbote fetch` beside them (its own spool folder) skips a mailbox an instance holds, naming it.
    const held = (await holders()).get('mb01')!;
    const fetch = await runCli(['fetch', '-c', fetchConfig, '-m', 'mb01']);
    assert.equal(fetch.code, 3, fetch.stdout + fetch.stderr);
    assert.ok(fetch.stdout.startsWith(`mb01: skipped - held by instance ${held}`), fetch.stdout);
  });

  test(`kill -9 of an instance mid-pass, ${KILLS} times: nothing lost, its mailboxes taken over in time`, async (t) => {
    const takeovers: number[] = [];
    /** Per mailbox: in how many kills it was the victim's (each may cost one message in the window). */
    const killedIn = new Map<string, number>();
    for (let k = 0; k < KILLS; k++) {
      const before = delivered();
      for (const box of MAILBOXES) seed(box, 6);
      // Mid-flow: some of this round's mail is through, most is not.
      await until('the round under way', () => delivered() >= before + 20, 20_000);
      const held = await holders();
      const counts = new Map<string, number>();
      for (const owner of held.values()) counts.set(owner, (counts.get(owner) ?? 0) + 1);
      const [owner] = [...counts].sort((a, b) => b[1] - a[1])[0]!;
      const victim = instances.find((i) => owner.startsWith(`${i.label}#`))!;
      const its = [...held].filter(([, o]) => o === owner).map(([m]) => m);
      for (const m of its) killedIn.set(m, (killedIn.get(m) ?? 0) + 1);
      await stop(victim, 'SIGKILL');
      const took = await until(
        `mailboxes of ${owner} held by another instance`,
        async () => {
          const now = await holders();
          return its.every((m) => now.has(m) && now.get(m) !== owner);
        },
        TAKEOVER_LIMIT_MS + 5_000,
      );
      takeovers.push(took);
      start(victim); // a new process: a new tenure under the same label
    }
    await until(
      'everything delivered and removed',
      () => delivered() === seeded.size && leftAtProvider() === 0,
      40_000,
    );
    t.diagnostic(
      `takeovers (ms): ${takeovers.join(', ')}; duplicates: ${duplicates()} for ${KILLS} kills; ` +
        `mailboxes per kill: ${[...killedIn.values()].reduce((a, b) => a + b, 0)}`,
    );
    for (const ms of takeovers) assert.ok(ms <= TAKEOVER_LIMIT_MS, `takeover took ${ms} ms`);
    assert.equal(seeded.size - delivered(), 0, 'nothing lost');
    // Only the message between the target's 250 and the store's commit of a killed pass comes twice:
    // at most one per pass in flight, so per mailbox at most one per kill of the instance that held it.
    assert.deepEqual(unexplained(killedIn), []);
  });

  test('an instance paused (SIGSTOP) mid-message past its lease and continued commits, deletes and quits nothing', async () => {
    const dupsBefore = duplicates();
    const seededAt = Date.now();
    seed('slow', 3);
    await until('the first slow message at the target', () => sink.slowStarted(), 15_000);
    const owner = (await holders()).get('slow');
    assert.ok(owner, 'slow is held');
    const fence = (
      await sql<{ token: number }>("SELECT token::int AS token FROM leases WHERE mailbox = 'slow'")
    )[0]?.token;
    assert.ok(fence !== undefined);
    const paused = instances.find((i) => owner.startsWith(`${i.label}#`))!;
    // The session that holds the maildrop now is the paused pass's.
    const sessionId = Math.max(...slowSessions.keys());
    paused.child!.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await until(
      'slow taken over by another instance',
      async () => {
        const now = (await holders()).get('slow');
        return now !== undefined && now !== owner;
      },
      TAKEOVER_LIMIT_MS + 5_000,
    );
    await sleep(Math.max(0, stoppedAt + SLOW_MS + 500 - Date.now())); // the held 250 has been sent
    const continuedAt = Date.now();
    paused.child!.kill('SIGCONT');
    await until(
      'the slow mailbox delivered and emptied',
      () =>
        drops.get('slow')!.current().length === 0 &&
        [...seeded].filter((id) => id.startsWith('slow-')).every((id) => sink.accepted.has(id)),
      30_000,
    );
    // Deletes nothing, quits nothing: its POP3 session says not a word after it continues.
    const after = (slowSessions.get(sessionId) ?? [])
      .filter((c) => c.at >= continuedAt)
      .map((c) => c.command);
    assert.deepEqual(after, [], `the paused session sent ${after.join(' ')}`);
    // Commits nothing under its old tenure: no message outcome logged with that fencing token (each is
    // logged only once committed; continued, it may win the mailbox back later under a new token).
    const late = paused.log.filter((l) => Date.parse(String(l.time)) >= continuedAt);
    assert.deepEqual(
      late
        .filter((l) => l.mailbox === 'slow' && l.outcome !== undefined && l.fence === fence)
        .map((l) => l.msg),
      [],
    );
    assert.ok(
      late.some((l) => l.mailbox === 'slow' && /lease on mailbox slow .* is lost/.test(String(l.msg))),
      'the paused instance says it lost the lease',
    );
    // Nor its session record: no pass of slow that began after the seeding and before the pause.
    const sessions = await sql<{ n: number }>(
      'SELECT count(*)::int AS n FROM sessions WHERE mailbox = $1 AND started_at >= $2 AND started_at < $3',
      ['slow', seededAt, stoppedAt],
    );
    assert.equal(sessions[0]!.n, 0);
    // The message held at the target got its 250 after the takeover: the one duplicate allowed.
    assert.ok(duplicates() - dupsBefore <= 1);
    const records = await sql<{ state: string; n: number }>(
      "SELECT state, count(*)::int AS n FROM messages WHERE mailbox = 'slow' GROUP BY state",
    );
    assert.deepEqual(records, [{ state: 'delivered', n: 3 }]);
  });
});
