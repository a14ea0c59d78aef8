// The Maildir tmp/ sweep: only files past the 36-hour rule go; fresh ones (a delivery in progress)
// and everything in new/ stay; missing folders are no error. New folders are durable before the 250.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { deliverToMaildir, type MaildirFs, sweepMaildirTmp, TMP_MAX_AGE_MS } from './maildir.js';

const root = mkdtempSync(join(tmpdir(), 'postbote-maildir-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('sweepMaildirTmp removes only tmp/ files older than 36 hours', async () => {
  const now = Date.now();
  for (const box of ['alice@corp.local', 'bob@corp.local']) {
    for (const sub of ['tmp', 'new', 'cur']) mkdirSync(join(root, box, sub), { recursive: true });
  }
  const file = (path: string, ageMs: number) => {
    writeFileSync(path, 'x');
    const t = (now - ageMs) / 1000;
    utimesSync(path, t, t);
  };
  file(join(root, 'alice@corp.local', 'tmp', 'left-by-a-crash'), TMP_MAX_AGE_MS + 60_000);
  file(join(root, 'alice@corp.local', 'tmp', 'being-written'), 5_000);
  file(join(root, 'alice@corp.local', 'new', 'old-but-delivered'), 10 * TMP_MAX_AGE_MS);
  file(join(root, 'bob@corp.local', 'tmp', 'also-stale'), 2 * TMP_MAX_AGE_MS);
  mkdirSync(join(root, 'no-subfolders@corp.local'));

  assert.equal(await sweepMaildirTmp(root, now), 2);
  assert.deepEqual(readdirSync(join(root, 'alice@corp.local', 'tmp')), ['being-written']);
  assert.deepEqual(readdirSync(join(root, 'alice@corp.local', 'new')), ['old-but-delivered']);
  assert.deepEqual(readdirSync(join(root, 'bob@corp.local', 'tmp')), []);
  assert.equal(await sweepMaildirTmp(join(root, 'does-not-exist'), now), 0);
});

test('a new Maildir is durable in its parents before the delivery resolves; an existing one costs no extra fsync', async () => {
  const base = mkdtempSync(join(tmpdir(), 'postbote-maildir-sync-'));
  const mail = join(base, 'mail'); // missing too: its creation must be made durable in `base`
  const events: string[] = [];
  const rel = (p: string) => relative(base, p) || '.';
  // The real file system, with every mkdir and every fsync of a directory handle recorded in order.
  const spy: MaildirFs = {
    mkdir: async (path, options) => {
      const made = await mkdir(path, options);
      events.push(`mkdir ${rel(path)}`);
      return made;
    },
    open: async (path, flags, mode) => {
      const handle = await open(path, flags, mode);
      if ((await handle.stat()).isDirectory()) {
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          await sync();
          events.push(`fsync ${rel(String(path))}`);
        };
      }
      return handle;
    },
  };
  try {
    await deliverToMaildir(
      mail,
      ['alice@corp.local'],
      Readable.from([Buffer.from('Subject: x\r\n\r\nx\r\n')]),
      spy,
    );
    const box = join('mail', 'alice@corp.local');
    // Every directory created has its parent fsynced after it was made.
    for (const [dir, parent] of [
      ['mail', '.'],
      [box, 'mail'],
      [join(box, 'tmp'), box],
      [join(box, 'new'), box],
      [join(box, 'cur'), box],
    ] as const) {
      const made = events.indexOf(`mkdir ${dir}`);
      assert.ok(made >= 0, `${dir} created: ${events.join(', ')}`);
      assert.ok(
        events.indexOf(`fsync ${parent}`, made) > made,
        `${parent} fsynced after ${dir}: ${events.join(', ')}`,
      );
    }
    assert.ok(events.includes(`fsync ${join(box, 'new')}`), 'the new/ entry itself is fsynced');

    events.length = 0;
    await deliverToMaildir(
      mail,
      ['alice@corp.local'],
      Readable.from([Buffer.from('Subject: y\r\n\r\ny\r\n')]),
      spy,
    );
    assert.deepEqual(
      events.filter((e) => e.startsWith('fsync')),
      [`fsync ${join(box, 'new')}`],
    );
    assert.equal(readdirSync(join(mail, 'alice@corp.local', 'new')).length, 2);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});
