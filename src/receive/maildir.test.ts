// The Maildir tmp/ sweep: only files past the 36-hour rule go; fresh ones (a delivery in progress)
// and everything in new/ stay; missing folders are no error.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { sweepMaildirTmp, TMP_MAX_AGE_MS } from './maildir.js';

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
