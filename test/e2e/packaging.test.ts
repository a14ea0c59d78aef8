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
