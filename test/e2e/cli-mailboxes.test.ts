// `route` and `fetch --mailbox` name the mailboxes there are when none or an unknown one is given,
// before touching the state or any server (exit 2, a usage error).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { runCli, writeConfig } from './helpers.js';

let tmp: TempDir;
let file: string;

const box = (name: string, extra = '') => `
  - name: ${name}
    host: 127.0.0.1
    port: 1
    user: ${name}
    password: x
    deliverTo: [${name}@corp.local]${extra}`;

before(async () => {
  tmp = await makeTempDir('postbote-cli-mailboxes-');
  file = await writeConfig(
    tmp.path,
    `state: ${tmp.path}/state
target: { host: 127.0.0.1, port: 1, tls: none }
mailboxes:${box('info')}${box('sales')}${box('old', '\n    enabled: false')}
`,
  );
});
after(() => tmp?.remove());

test('route without --mailbox lists the mailboxes', async () => {
  const r = await runCli(['route', '-c', file]);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /--mailbox/);
  assert.match(r.stderr, /info, sales, old/);
});

test('route with an unknown mailbox lists the valid ones', async () => {
  const r = await runCli(['route', '-c', file, '--mailbox', 'infos']);
  assert.equal(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /no mailbox named infos/);
  assert.match(r.stderr, /did you mean info\?/);
  assert.match(r.stderr, /info, sales, old/);
});

test('fetch with an unknown mailbox lists the enabled ones and says which is disabled', async () => {
  const unknown = await runCli(['fetch', '-c', file, '--mailbox', 'info', 'support']);
  assert.equal(unknown.code, 2, unknown.stdout + unknown.stderr);
  assert.match(unknown.stderr, /no mailbox named support/);
  assert.match(unknown.stderr, /info, sales/);
  const disabled = await runCli(['fetch', '-c', file, '--mailbox', 'old']);
  assert.equal(disabled.code, 2, disabled.stdout + disabled.stderr);
  assert.match(disabled.stderr, /mailbox old is disabled \(enabled: false\)/);
});
