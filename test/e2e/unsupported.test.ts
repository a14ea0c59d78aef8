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

for (const [name, yaml, message] of [
  [
    'a postgres:// state',
    (dir: string) => base('postgres://postbote:pw@db.corp.local/postbote', 'pop3').replace('{dir}', dir),
    /^postbote: a PostgreSQL state is not supported yet - set state: to a folder\n$/,
  ],
  [
    'protocol: imap',
    (dir: string) => base(join(dir, 'state'), 'imap'),
    /^postbote: mailbox info: protocol imap is not supported yet - use protocol: pop3\n$/,
  ],
] as const) {
  test(`${name} is refused by check, fetch, route and run with the same message`, async () => {
    const file = join(tmp.path, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, yaml(tmp.path));
    for (const args of [['check'], ['fetch'], ['route', '-m', 'info'], ['run'], ['queue']]) {
      const r = await runCli([...args, '-c', file]);
      assert.equal(r.code, 2, `${args[0]}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, args[0]);
      assert.equal(r.stdout, '', args[0]);
    }
  });
}
