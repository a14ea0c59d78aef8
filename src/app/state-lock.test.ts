import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { describeOwner, type LockOwner, OWNER_FILE, readOwner, StateLock } from './state-lock.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'postbote-lock-'));
  dirs.push(d);
  return d;
}

/** A PID that belonged to a process and no longer does. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

const NAMED = (command: string) =>
  new RegExp(`in use by ${command}, PID ${process.pid}, started \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d$`);

describe('StateLock', () => {
  test('a second holder is refused at once, with the holder named', async () => {
    const dir = await stateDir();
    const first = await StateLock.acquire(dir, { command: 'postbote run', waitMs: 0 });
    const started = Date.now();
    await assert.rejects(StateLock.acquire(dir, { command: 'postbote fetch', waitMs: 0 }), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'STATE_IN_USE');
      assert.match(err.message, NAMED('postbote run'));
      return true;
    });
    assert.ok(Date.now() - started < 2000, 'refused without waiting');
    first.release();
  });

  test('a waiting holder gets the lock as soon as it is released, and is told once whom it waits for', async () => {
    const dir = await stateDir();
    const first = await StateLock.acquire(dir, { command: 'postbote run', waitMs: 0 });
    setTimeout(() => first.release(), 300);
    const waits: string[] = [];
    const second = await StateLock.acquire(dir, {
      command: 'postbote fetch',
      waitMs: 10_000,
      onWait: (h) => waits.push(h),
    });
    assert.equal(waits.length, 1);
    assert.match(`in use by ${waits[0]}`, NAMED('postbote run'));
    assert.equal(readOwner(dir)?.command, 'postbote fetch');
    second.release();
  });

  test('the wait is bounded', async () => {
    const dir = await stateDir();
    const first = await StateLock.acquire(dir, { command: 'postbote run', waitMs: 0 });
    const started = Date.now();
    await assert.rejects(StateLock.acquire(dir, { command: 'postbote fetch', waitMs: 400 }), {
      code: 'STATE_IN_USE',
    });
    const waited = Date.now() - started;
    assert.ok(waited >= 400 && waited < 3000, `waited ${waited} ms`);
    first.release();
  });

  test('a side file left by a dead process is ignored when the lock is free, and overwritten', async () => {
    const dir = await stateDir();
    const stale: LockOwner = {
      pid: deadPid(),
      command: 'postbote run',
      startedAt: '2026-01-01T00:00:00Z',
      host: hostname(),
    };
    await writeFile(join(dir, OWNER_FILE), JSON.stringify(stale));
    assert.equal(readOwner(dir), undefined, 'a dead PID names no one');
    const lock = await StateLock.acquire(dir, { command: 'postbote fetch', waitMs: 0 });
    const owner = JSON.parse(await readFile(join(dir, OWNER_FILE), 'utf8')) as LockOwner;
    assert.equal(owner.pid, process.pid);
    assert.equal(owner.command, 'postbote fetch');
    lock.release();
  });

  test('a holder whose side file names a dead process is not named after it', async () => {
    const dir = await stateDir();
    const lock = await StateLock.acquire(dir, { command: 'postbote run', waitMs: 0 });
    await writeFile(
      join(dir, OWNER_FILE),
      JSON.stringify({
        pid: deadPid(),
        command: 'postbote run',
        startedAt: new Date().toISOString(),
        host: hostname(),
      }),
    );
    await assert.rejects(StateLock.acquire(dir, { command: 'postbote fetch', waitMs: 0 }), {
      message: /in use by another process \(it has not written its name to postbote\.pid\)/,
    });
    lock.release();
  });

  test('release removes the side file and leaves only the lock file; twice is harmless', async () => {
    const dir = await stateDir();
    const lock = await StateLock.acquire(dir, { command: 'postbote fetch', waitMs: 0 });
    assert.deepEqual((await readdir(dir)).sort(), ['postbote.lock', 'postbote.pid']);
    lock.release();
    lock.release();
    assert.equal(lock.held, false);
    assert.deepEqual(await readdir(dir), ['postbote.lock']);
    const again = await StateLock.acquire(dir, { command: 'postbote fetch', waitMs: 0 });
    again.release();
  });

  test('a lock file that cannot be opened is a STORE error with a hint, not a crash', async () => {
    const dir = await stateDir();
    await mkdir(join(dir, 'postbote.lock'));
    await assert.rejects(StateLock.acquire(dir, { command: 'test', waitMs: 0 }), (err: Error) => {
      assert.equal((err as { code?: string }).code, 'STORE');
      assert.match(err.message, /postbote\.lock/);
      return true;
    });
  });

  test('a side file that cannot be written is a STORE error and leaves the lock free', async () => {
    const dir = await stateDir();
    await mkdir(join(dir, `${OWNER_FILE}.tmp`));
    await assert.rejects(StateLock.acquire(dir, { command: 'test', waitMs: 0 }), { code: 'STORE' });
    await rm(join(dir, `${OWNER_FILE}.tmp`), { recursive: true });
    const lock = await StateLock.acquire(dir, { command: 'test', waitMs: 0 });
    lock.release();
  });

  test('assertHolds accepts only paths inside the locked folder, and only while held', async () => {
    const dir = await stateDir();
    const lock = await StateLock.acquire(dir, { command: 'test', waitMs: 0 });
    for (const [path, ok] of [
      [dir, true],
      [join(dir, 'spool'), true],
      [join(dir, 'spool', '..', 'spool'), true],
      [`${dir}-sibling/spool`, false],
      [join(dir, '..'), false],
      ['/', false],
    ] as const) {
      if (ok) lock.assertHolds(path);
      else assert.throws(() => lock.assertHolds(path), { code: 'STATE_IN_USE' }, path);
    }
    lock.release();
    assert.throws(() => lock.assertHolds(dir), { code: 'STATE_IN_USE' });
  });
});

describe('describeOwner', () => {
  const owner: LockOwner = { pid: 1234, command: 'postbote run', startedAt: '', host: 'here' };
  const at = new Date(2026, 10, 29, 23, 10, 3).toISOString(); // local time, as the reader sees it
  for (const [name, o, expected] of [
    [
      'names command, PID and local start time',
      { ...owner, startedAt: at },
      'postbote run, PID 1234, started 2026-11-29 23:10:03',
    ],
    [
      'names the host when it is another one',
      { ...owner, startedAt: at, host: 'nas' },
      'postbote run, PID 1234 on nas, started 2026-11-29 23:10:03',
    ],
    [
      'keeps an unreadable start time as written',
      { ...owner, startedAt: 'soon' },
      'postbote run, PID 1234, started soon',
    ],
    [
      'says so when no one is named',
      undefined,
      'another process (it has not written its name to postbote.pid)',
    ],
  ] as const) {
    test(name, () => assert.equal(describeOwner(o, 'here'), expected));
  }
});

test('a torn or foreign side file names no one', async () => {
  const dir = await stateDir();
  for (const text of [
    '{"pid":12',
    'not json',
    '{"pid":"1","command":"x","startedAt":"y"}',
    'x'.repeat(5000),
  ]) {
    await writeFile(join(dir, OWNER_FILE), text);
    assert.equal(readOwner(dir), undefined, text.slice(0, 20));
  }
});
