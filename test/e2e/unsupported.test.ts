// A configured feature that does not exist yet is refused by every command alike, at once, with the
// same message and exit 2: never accepted by `check` and then failing in `run`.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { runCli } from './helpers.js';

let tmp: TempDir;
before(async () => {
  tmp = await makeTempDir('postbote-unsupported-');
});
after(async () => {
  await tmp?.remove();
});

const base = (state: string, protocol: string) => `state: ${state}
target: { host: 127.0.0.1, port: 1, tls: none, helo: postbote.test }
mailboxes:
  - { name: info, protocol: ${protocol}, host: 127.0.0.1, port: 1, tls: none, user: u, password: p, deliverTo: [a@corp.local] }
`;

test('backup refuses a postgres:// state with what to do instead (route reads it: route-postgres.test.ts)', async () => {
  const file = join(tmp.path, 'postgres.yaml');
  await writeFile(
    file,
    `spool: ${join(tmp.path, 'spool')}\n${base('postgres://postbote:pw@db.corp.local/postbote', 'pop3')}`,
  );
  const backup = await runCli(['backup', '-c', file, join(tmp.path, 'copy')]);
  assert.equal(backup.code, 2, backup.stderr);
  assert.match(backup.stderr, /pg_dump/);
  assert.doesNotMatch(backup.stderr, /:pw@/, 'the password is never shown');
});
