// Several instances on one PostgreSQL state serve one web admin: a login made on one is valid on the
// other, a logout on one ends it on both, failed logins on both add up to one lockout, the dashboard
// says which instance holds each mailbox, and "fetch now" on an instance that does not hold the
// mailbox reaches the holder by NOTIFY postbote_run instead of running a pass where it was clicked.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { mailboxPlan, targetOptions } from '../../src/app/runtime.js';
import { parseConfig } from '../../src/config/index.js';
import { Target } from '../../src/delivery/target.js';
import { silentLogger } from '../../src/log.js';
import { Scheduler } from '../../src/scheduler/scheduler.js';
import { connectSmtp } from '../../src/smtp/client.js';
import { Spool } from '../../src/spool/spool.js';
import { PostgresStore } from '../../src/store/postgres.js';
import { RUN_CHANNEL } from '../../src/store/postgres-notify.js';
import { hashPassword } from '../../src/util/password.js';
import { buildWebServer, sharedWebDeps } from '../../src/web/index.js';
import { MAX_LOGIN_FAILURES } from '../../src/web/login-guard.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { postgresUnavailable } from '../support/postgres.js';
import { sharedCluster } from '../support/store-backends.js';
import { ADMIN, login } from './web-world.js';

const skip = postgresUnavailable();

interface Instance {
  app: FastifyInstance;
  store: PostgresStore;
  runs: string[];
}

describe('the web admin on a shared PostgreSQL state', { skip }, () => {
  let url = '';
  let tmp: TempDir;
  const instances: Instance[] = [];
  let a: Instance;
  let b: Instance;

  /** One instance as `postbote run` wires its web admin (startWeb), without the instance lock. */
  async function instance(name: string): Promise<Instance> {
    const config = parseConfig(
      `
state: ${url}
spool: ${join(tmp.path, name)}
instance: ${name}
target: { host: 127.0.0.1, port: 1, tls: none, helo: postbote.test }
scheduler: { interval: 1h }
mailboxes:
  - { name: info, host: 127.0.0.1, port: 1, tls: none, user: info@example.com, password: x, deliverTo: [info@corp.local] }
web: {}
`,
      { file: 'postbote.yaml', baseDir: tmp.path, env: {} },
    );
    const logger = silentLogger();
    const store = new PostgresStore(url);
    await store.migrate();
    const spool = new Spool(join(tmp.path, name, 'spool'));
    const target = new Target(targetOptions(config, logger), connectSmtp, logger);
    const ctx = { target, spool, store, logger, retry: config.delivery.retry, hostname: 'h', now: Date.now };
    const scheduler = new Scheduler(
      ctx,
      config.mailboxes.map((m) => mailboxPlan(config, m, logger)),
      config.scheduler,
      logger,
    );
    // A pass would need a provider: the test only records that one was asked for here.
    const runs: string[] = [];
    scheduler.requestRun = (mailbox: string) => {
      runs.push(mailbox);
    };
    const { app } = await buildWebServer({
      config: () => config,
      web: config.web!,
      store,
      spool,
      target,
      scheduler,
      logger,
      instance: name,
      extraUsers: [{ user: ADMIN.user, passwordHash: await hashPassword(ADMIN.password) }],
      ...(await sharedWebDeps(store, scheduler, name)),
    });
    const made = { app, store, runs };
    instances.push(made);
    return made;
  }

  before(async () => {
    tmp = await makeTempDir('postbote-web-shared-');
    url = await (await sharedCluster()).createDatabase('web');
    a = await instance('mx1');
    b = await instance('mx2');
  });
  after(async () => {
    for (const i of instances) {
      await i.app.close();
      await i.store.close();
    }
    await tmp.remove();
  });

  const cookieOf = (res: { headers: Record<string, unknown> }) =>
    String([res.headers['set-cookie']].flat().find((c) => String(c).startsWith('postbote_session='))).split(
      ';',
    )[0]!;
  const page = (app: FastifyInstance, cookie: string) =>
    app.inject({ method: 'GET', url: '/', headers: { cookie } });

  test('a login on one instance is valid on the other; a logout on one ends it on both', async () => {
    const res = await login(a.app);
    assert.equal(res.statusCode, 303, res.body);
    const cookie = cookieOf(res);
    const onB = await page(b.app, cookie);
    assert.equal(onB.statusCode, 200, 'the session made on mx1 is accepted by mx2');
    assert.match(onB.body, /class="instance">mx2</, 'the page says which instance answered');
    assert.match((await page(a.app, cookie)).body, /class="instance">mx1</);

    // The table keeps only the SHA-256 of the cookie's value.
    const id = cookie.slice('postbote_session='.length);
    const rows = (await a.store.pool.query('SELECT id_hash FROM web_sessions')).rows as Array<{
      id_hash: string;
    }>;
    assert.ok(rows.some((r) => r.id_hash === createHash('sha256').update(id).digest('hex')));
    assert.ok(rows.every((r) => r.id_hash !== id));

    const csrf = /name="csrf-token" content="([^"]+)"/.exec(onB.body)?.[1] ?? '';
    const out = await b.app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: `_csrf=${encodeURIComponent(csrf)}`,
    });
    assert.equal(out.statusCode, 303);
    assert.equal((await page(a.app, cookie)).statusCode, 303, 'logged out on mx1 too: sent to the login');
    assert.equal((await page(b.app, cookie)).statusCode, 303);
  });

  test('failed logins on both instances add up to one lockout', async () => {
    const user = 'ops';
    for (let i = 0; i < MAX_LOGIN_FAILURES; i++) {
      const res = await login(i % 2 === 0 ? a.app : b.app, 'wrong', user);
      assert.equal(res.statusCode, 401, `failure ${i + 1}`);
    }
    for (const app of [a.app, b.app]) {
      const res = await login(app, 'wrong', user);
      assert.equal(res.statusCode, 429, 'locked on both');
    }
    // The admin's own name was not touched by it.
    assert.equal((await login(b.app)).statusCode, 303);
  });

  test('the dashboard shows which instance holds each mailbox, or that it is free', async () => {
    const cookie = cookieOf(await login(a.app));
    const api = async (app: FastifyInstance) =>
      (await app.inject({ method: 'GET', url: '/api/status', headers: { cookie } })).json() as {
        instance: string;
        mailboxes: Array<{ name: string; holder?: { owner: string; until: number } | null }>;
      };
    assert.equal((await api(b.app)).mailboxes[0]?.holder, null, 'no lease: free');
    assert.match((await page(b.app, cookie)).body, /title="[^"]*no instance holds it[^"]*">free</);
    await a.store.pool.query(
      `INSERT INTO leases (mailbox, owner, token, expires_at) VALUES ('info', 'mx1#ab12cd34', 1, now() + interval '1 minute')
       ON CONFLICT (mailbox) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
    );
    const seen = await api(b.app);
    assert.equal(seen.instance, 'mx2');
    assert.equal(seen.mailboxes[0]?.holder?.owner, 'mx1#ab12cd34');
    assert.ok((seen.mailboxes[0]?.holder?.until ?? 0) > Date.now());
    assert.match((await page(b.app, cookie)).body, /held by <code class="holder">mx1#ab12cd34<\/code>/);
    const de = await b.app.inject({
      method: 'GET',
      url: '/',
      headers: { cookie, 'accept-language': 'de' },
    });
    assert.match(de.body, /gehalten von <code class="holder">mx1#ab12cd34<\/code>/);
    await a.store.pool.query(`UPDATE leases SET expires_at = now() - interval '1 second'`);
    assert.equal((await api(b.app)).mailboxes[0]?.holder, null, 'a lapsed lease holds nothing');
  });

  test('"fetch now", retry and release run here on the holder, and reach the holder by NOTIFY from any other instance', async () => {
    const cookie = cookieOf(await login(a.app));
    const csrfOf = async (app: FastifyInstance) =>
      /name="csrf-token" content="([^"]+)"/.exec((await page(app, cookie)).body)?.[1] ?? '';
    const heard: string[] = [];
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    client.on('notification', (m) => heard.push(`${m.channel}:${m.payload}`));
    await client.query(`LISTEN ${RUN_CHANNEL}`);
    try {
      await a.store.pool.query(
        `INSERT INTO leases (mailbox, owner, token, expires_at) VALUES ('info', 'mx1#ab12cd34', 1, now() + interval '1 minute')
         ON CONFLICT (mailbox) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
      );
      a.runs.length = 0;
      b.runs.length = 0;
      const fetch = async (app: FastifyInstance) =>
        app.inject({
          method: 'POST',
          url: '/api/mailboxes/info/fetch',
          headers: { cookie, 'x-csrf-token': await csrfOf(app) },
        });
      const until = async (cond: () => boolean) => {
        const deadline = Date.now() + 5_000;
        while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      };
      assert.equal((await fetch(b.app)).statusCode, 202);
      await until(() => heard.length > 0);
      assert.deepEqual(heard, [`${RUN_CHANNEL}:info`], 'mx2 does not hold info: it notifies');
      assert.deepEqual(b.runs, [], 'and runs no pass itself');
      assert.equal((await fetch(a.app)).statusCode, 202);
      assert.deepEqual(a.runs, ['info'], 'the holder runs the pass at once');
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(heard.length, 1, 'without a notification');

      // Retry and release only change the record, then wake the holder the same way.
      const rec = await a.store.addSpooled({
        mailbox: 'info',
        uid: 'u1',
        spoolKey: 'k1',
        size: 10,
        sha256: 'x',
        messageId: null,
        sender: 's@example.net',
        subject: 'deferred one',
        recipients: [{ address: 'info@corp.local', status: 'pending', reason: 'deliverTo' }],
        fetchedAt: Date.now(),
      });
      await a.store.recordAttempt(
        rec.id,
        {
          state: 'deferred',
          recipients: rec.recipients,
          nextAttemptAt: Date.now() + 3_600_000,
          reason: '451 later',
          spoolKey: 'k1',
          countsAsAttempt: true,
        },
        { at: Date.now(), outcome: 'deferred', detail: '451 later', recipients: [] },
      );
      const post = async (app: FastifyInstance, path: string, payload?: object) =>
        app.inject({
          method: 'POST',
          url: `/api/messages/${rec.id}/${path}`,
          headers: { cookie, 'x-csrf-token': await csrfOf(app) },
          ...(payload ? { payload } : {}),
        });
      assert.equal((await post(b.app, 'retry')).statusCode, 200);
      await until(() => heard.length === 2);
      assert.equal((await post(b.app, 'release', { recipient: 'other@corp.local' })).statusCode, 200);
      await until(() => heard.length === 3);
      assert.deepEqual(heard.slice(1), [`${RUN_CHANNEL}:info`, `${RUN_CHANNEL}:info`]);
      assert.deepEqual(b.runs, [], 'mx2 never ran the pass itself');
    } finally {
      await client.end();
    }
  });
});
