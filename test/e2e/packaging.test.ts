// The files shipped for production: the systemd unit passes systemd-analyze (which prints most mistakes
// on stderr yet exits 0, so any stderr output fails), has the hardening the README promises, and the
// container files refer to what exists. The image itself is not built here (no registry reachable).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { makeTempDir } from '../support/ports.js';
import { ROOT } from './helpers.js';

const run = promisify(execFile);
const UNIT = join(ROOT, 'packaging', 'postbote.service');
const ANALYZE = '/usr/bin/systemd-analyze';

async function verify(unit: string): Promise<{ code: number; stderr: string }> {
  try {
    const r = await run(ANALYZE, ['verify', '--man=no', unit]);
    return { code: 0, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

test('systemd-analyze verify accepts the unit without a word on stderr', async () => {
  const r = await verify(UNIT);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0);
});

test('the check can fail: a unit with a misspelt key is reported on stderr', async () => {
  const tmp = await makeTempDir('postbote-unit-');
  try {
    const bad = join(tmp.path, 'postbote.service');
    await writeFile(bad, readFileSync(UNIT, 'utf8').replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
    const r = await verify(bad);
    assert.match(r.stderr, /NoNewPrivilege/);
  } finally {
    await tmp.remove();
  }
});

test('the unit runs as a dedicated user in a hardened sandbox and reloads on SIGHUP', () => {
  const lines = readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((l) => /^\w+=/.test(l));
  const has = (l: string) => assert.ok(lines.includes(l), `missing ${l}`);
  for (const l of [
    'User=postbote',
    'StateDirectory=postbote',
    'ProtectSystem=strict',
    'NoNewPrivileges=yes',
    'Restart=on-failure',
    'ExecReload=/bin/kill -HUP $MAINPID',
    'EnvironmentFile=-/etc/postbote/secrets.env',
    'RestartPreventExitStatus=2 3',
  ])
    has(l);
  assert.ok(!lines.some((l) => l.startsWith('MemoryDenyWriteExecute=yes')), 'the V8 JIT needs W+X memory');
});

test('the container image: multi-stage, non-root, state volume, health check on /healthz; compose refers to it', () => {
  const file = readFileSync(join(ROOT, 'packaging', 'Containerfile'), 'utf8');
  const from = file.match(/^FROM .*/gm) ?? [];
  assert.ok(from.length >= 2, 'multi-stage');
  assert.match(file, /^USER node$/m);
  assert.match(file, /^VOLUME \/var\/lib\/postbote$/m);
  assert.match(file, /^HEALTHCHECK [\s\S]*\/healthz/m);
  // What the build stage copies from the repository exists.
  for (const m of file.matchAll(/^COPY (?!--from)(.+) \S+$/gm))
    for (const src of m[1]!.split(' ')) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}`);
  // /healthz is an open route of the web admin.
  assert.match(readFileSync(join(ROOT, 'src', 'web', 'public-routes.ts'), 'utf8'), /'\/healthz'/);
  const compose = parse(readFileSync(join(ROOT, 'packaging', 'compose.yaml'), 'utf8')) as {
    services: { postbote: { build: { context: string; dockerfile: string }; volumes: string[] } };
  };
  const svc = compose.services.postbote;
  assert.ok(existsSync(join(ROOT, 'packaging', svc.build.context, svc.build.dockerfile)));
  assert.ok(svc.volumes.some((v) => v.endsWith(':/var/lib/postbote')));
});

const TEMPLATE = join(ROOT, 'packaging', 'postbote@.service');

test('the template unit postbote@.service passes systemd-analyze as an instance, hardened like the single unit', async () => {
  const tmp = await makeTempDir('postbote-unit-');
  try {
    // An instance of the template, as `systemctl start postbote@mx1` would load it (%i = mx1).
    const unit = join(tmp.path, 'postbote@mx1.service');
    const text = readFileSync(TEMPLATE, 'utf8');
    await writeFile(unit, text);
    const r = await verify(unit);
    assert.equal(r.stderr, '');
    assert.equal(r.code, 0);
    const broken = join(tmp.path, 'postbote@mx2.service');
    await writeFile(broken, text.replace('ProtectSystem=strict', 'ProtectSystems=strict'));
    assert.match((await verify(broken)).stderr, /ProtectSystems/, 'the check can fail');
  } finally {
    await tmp.remove();
  }
  const settings = (file: string) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => /^\w+=/.test(l));
  const template = settings(TEMPLATE);
  for (const l of [
    'ExecStart=/usr/bin/node /opt/postbote/dist/cli/main.js run -c /etc/postbote/%i.yaml',
    'StateDirectory=postbote/%i',
    'WorkingDirectory=/var/lib/postbote/%i',
    'EnvironmentFile=-/etc/postbote/%i.env',
  ])
    assert.ok(template.includes(l), `missing ${l}`);
  // Every setting of the single unit but what names its one configuration and folder.
  const perInstance = /^(Description|ExecStart|StateDirectory|WorkingDirectory|After)=/;
  for (const l of settings(UNIT).filter((x) => !perInstance.test(x)))
    assert.ok(template.includes(l), `the template lacks ${l}`);
});

test('compose-postgres.yaml: PostgreSQL and three instances, each its own spool, health checks, configs the schema accepts', async () => {
  const { parseConfig } = await import('../../src/config/index.js');
  const { hashPassword } = await import('../../src/util/password.js');
  const dir = join(ROOT, 'packaging');
  const compose = parse(readFileSync(join(dir, 'compose-postgres.yaml'), 'utf8'), { merge: true }) as {
    services: Record<
      string,
      {
        image: string;
        build?: { context: string; dockerfile: string };
        environment?: Record<string, string>;
        volumes: string[];
        healthcheck?: { test: string[] };
        depends_on?: Record<string, { condition: string }>;
      }
    >;
    volumes: Record<string, unknown>;
  };
  const db = compose.services.db!;
  assert.match(db.image, /postgres/);
  assert.ok(db.healthcheck?.test.includes('pg_isready'));
  const instances = Object.entries(compose.services).filter(([name]) => name !== 'db');
  assert.equal(instances.length, 3);
  const spools = new Set<string>();
  const env = {
    POSTGRES_PASSWORD: 'db-secret',
    INFO_PASSWORD: 'info-secret',
    ADMIN_PASSWORD_HASH: await hashPassword('admin-secret'),
  };
  for (const [name, svc] of instances) {
    assert.ok(existsSync(join(dir, svc.build!.context, svc.build!.dockerfile)), name);
    assert.equal(svc.depends_on?.db?.condition, 'service_healthy', `${name} waits for the database`);
    assert.match(svc.healthcheck?.test.join(' ') ?? '', /\/healthz/, `${name} health check`);
    const spool = svc.volumes.find((v) => v.endsWith(':/var/lib/postbote'))!;
    assert.ok(spool, `${name} has a spool volume`);
    spools.add(spool.split(':')[0]!);
    assert.ok(spool.split(':')[0]! in compose.volumes, `${name}: its volume is declared`);
    const mount = svc.volumes.find((v) => v.endsWith(':/etc/postbote/postbote.yaml:ro'))!;
    const file = join(dir, mount.split(':')[0]!);
    const config = parseConfig(readFileSync(file, 'utf8'), {
      file,
      baseDir: dir,
      env: { ...env, ...svc.environment },
    });
    assert.equal(config.stateKind, 'postgres', name);
    assert.equal(config.instance, name, `${name} is named by POSTBOTE_INSTANCE`);
    assert.equal(config.spool, '/var/lib/postbote/spool');
    assert.equal(config.web?.listen, '0.0.0.0:8025', 'the health check reaches the web admin');
  }
  assert.equal(spools.size, 3, 'each instance its own spool volume');
});
