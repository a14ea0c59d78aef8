// Every command's --help shows at least one example and what its exit codes mean.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './helpers.js';

const COMMANDS = [
  ['run'],
  ['fetch'],
  ['route'],
  ['check'],
  ['queue'],
  ['queue', 'show'],
  ['queue', 'retry'],
  ['queue', 'release'],
  ['queue', 'delete'],
  ['queue', 'export'],
  ['backup'],
  ['demo'],
  ['exchange-connector'],
  ['hash-password'],
  ['migrate'],
];

test('every command’s --help has an example and its exit codes', async () => {
  const results = await Promise.all(COMMANDS.map((c) => runCli([...c, '--help'])));
  for (const [i, r] of results.entries()) {
    const name = COMMANDS[i]!.join(' ');
    assert.equal(r.code, 0, name);
    assert.match(r.stdout, new RegExp(`Examples:\\n {2}\\$ postbote ${COMMANDS[i]![0]}`), name);
    assert.match(r.stdout, /Exit codes: 0 /, name);
  }
  const top = await runCli(['--help']);
  assert.match(top.stdout, /queue/);
  assert.match(top.stdout, /backup/);
  assert.doesNotMatch(top.stdout, /IMAP/);
});
