// `postbote migrate` and the store line of `postbote check`, on both backends: a new store is created
// (0 → latest), a store behind is upgraded and `check` said so first, a store newer than the program is
// refused with the hint to upgrade, and check reports the PostgreSQL connection with its TLS.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PG_MIGRATIONS } from '../../src/store/postgres-migrations.js';
import { MIGRATIONS } from '../../src/store/sqlite-migrations.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { postgresUnavailable } from '../support/postgres.js';
import { sharedCluster } from '../support/store-backends.js';
import { runCli, writeConfig } from './helpers.js';

const PG_LATEST = PG_MIGRATIONS.at(-1)!.version;
const SQLITE_LATEST = MIGRATIONS.at(-1)!.version;

let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('postbote-migrate-');
});
after(() => tmp.remove());

/** A configuration whose target and mailbox fail fast (port 1): only the state line matters here. */
function yaml(state: string, spool?: string): string {
  return `state: ${state}
${spool ? `spool: ${spool}\n` : ''}target: { host: 127.0.0.1, port: 1, tls: none, helo: postbote.test }
mailboxes:
  - { name: info, host: 127.0.0.1, port: 1, tls: none, user: u, password: p, deliverTo: [info@corp.local] }
`;
}

async function stateLine(file: string) {
  const r = await runCli(['check', '-c', file, '--json']);
  const report = JSON.parse(r.stdout) as {
    results: Array<{ subject: string; ok: boolean; detail: string; hint?: string }>;
  };
  const line = report.results.find((x) => x.subject.startsWith('state '));
  assert.ok(line, r.stdout);
  return line;
}

describe('postbote migrate and check on a folder state', () => {
  test('creates the store, says from which version to which; a newer store is refused', async () => {
    const dir = `${tmp.path}/sqlite`;
    const file = await writeConfig(tmp.path, yaml(dir));
    const fresh = await stateLine(file);
    assert.equal(fresh.ok, true);
    assert.match(fresh.detail, /no schema yet: postbote migrate creates it/);

    const first = await runCli(['migrate', '-c', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`postbote\\.sqlite: schema version 0 → ${SQLITE_LATEST}`));
    const again = await runCli(['migrate', '-c', file, '--json']);
    assert.deepEqual(JSON.parse(again.stdout), {
      where: `${dir}/postbote.sqlite`,
      from: SQLITE_LATEST,
      to: SQLITE_LATEST,
      latest: SQLITE_LATEST,
    });
    const ok = await stateLine(file);
    assert.equal(ok.ok, true, ok.detail);
    assert.match(
      ok.detail,
      new RegExp(`schema version ${SQLITE_LATEST}, this Postbote's is ${SQLITE_LATEST}`),
    );

    const db = new Database(`${dir}/postbote.sqlite`);
    db.prepare('INSERT INTO schema_migrations VALUES (999, 0)').run();
    db.close();
    const newer = await runCli(['migrate', '-c', file]);
    assert.equal(newer.code, 1);
    assert.match(newer.stderr, /schema version 999, newer than this Postbote/);
    assert.match(newer.stderr, /upgrade Postbote/);
    const line = await stateLine(file);
    assert.equal(line.ok, false);
    assert.match(line.hint ?? '', /upgrade Postbote/);
  });
});

describe('postbote migrate and check on a PostgreSQL state', { skip: postgresUnavailable() }, () => {
  test('check reports the connection (TLS) and a schema behind; migrate upgrades it, safe to repeat', async () => {
    const cluster = await sharedCluster();
    const url = await cluster.createDatabase('mig');
    // An older Postbote's schema: every migration but the last.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT)');
    const older = PG_MIGRATIONS.slice(0, -1);
    for (const m of older) {
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations VALUES ($1, 0)', [m.version]);
    }
    const behind = older.at(-1)!.version;
    const file = await writeConfig(
      tmp.path,
      yaml(`${url}?sslmode=verify-full&sslrootcert=${cluster.caFile}`, `${tmp.path}/spool`),
    );
    const line = await stateLine(file);
    assert.equal(line.ok, false);
    assert.match(line.subject, /^state postgres:\/\/postgres:\*\*\*\*@127\.0\.0\.1/);
    assert.match(
      line.detail,
      new RegExp(`connected \\(TLS\\); schema version ${behind}, this Postbote's is ${PG_LATEST}`),
    );
    assert.match(line.hint ?? '', /run postbote migrate/);
    assert.doesNotMatch(JSON.stringify(line), new RegExp(cluster.password));

    const [one, two] = await Promise.all([runCli(['migrate', '-c', file]), runCli(['migrate', '-c', file])]);
    for (const r of [one, two]) assert.equal(r.code, 0, r.stderr);
    assert.match(
      one.stdout + two.stdout,
      new RegExp(`schema version (${behind} → ${PG_LATEST}|${PG_LATEST}, this Postbote's)`),
    );
    const versions = (await client.query('SELECT version FROM schema_migrations ORDER BY version')).rows;
    assert.deepEqual(
      versions.map((r) => r.version),
      PG_MIGRATIONS.map((m) => m.version),
      'each migration once',
    );
    assert.equal((await stateLine(file)).ok, true);

    await client.query('INSERT INTO schema_migrations VALUES (999, 0)');
    await client.end();
    const newer = await runCli(['migrate', '-c', file]);
    assert.equal(newer.code, 1);
    assert.match(newer.stderr, /schema version 999, newer than this Postbote/);
  });

  test('check names a database it cannot reach, password masked', async () => {
    const cluster = await sharedCluster();
    const file = await writeConfig(
      tmp.path,
      yaml(cluster.url('postgres').replace(`:${cluster.password}@`, ':not-the-pw-42@'), `${tmp.path}/spool`),
    );
    const line = await stateLine(file);
    assert.equal(line.ok, false);
    assert.match(line.detail, /password authentication failed/);
    assert.doesNotMatch(JSON.stringify(line), /not-the-pw-42/);
  });
});
