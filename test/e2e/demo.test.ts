// `postbote demo`, the README's first command: the whole flow on this machine with nothing configured.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { makeTempDir } from '../support/ports.js';
import { runCli } from './helpers.js';

const tmp = await makeTempDir('postbote-demo-');
after(() => tmp.remove());

test('the demo delivers every sample message once, explains the catch-all routing and exits 0', async () => {
  const dir = join(tmp.path, 'demo');
  const r = await runCli(['demo', '--dir', dir]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /info: 4 listed, 4 fetched, 4 delivered/);
  assert.match(r.stdout, /alice@corp\.local \(Delivered-To \(added by pop\.provider\.example\)/);
  assert.match(r.stdout, /No envelope header at all: postmaster@corp\.local/);
  assert.match(r.stdout, /Second pass[\s\S]*info: 0 listed, 0 fetched, 0 delivered/);
  assert.deepEqual((await readdir(join(dir, 'mail', 'alice@corp.local'))).length, 1);
});
