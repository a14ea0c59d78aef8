// `postbote check` against Postbote's own receive connector: the probe runs from localAddress and
// gives each configured recipient its own verdict and fix (unknown user, domain not accepted, refused IP).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { checkTarget } from '../../src/app/check.js';
import { parseConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log.js';
import { type Receivers, startReceivers } from '../../src/receive/index.js';
import { freePort, makeTempDir, type TempDir } from '../support/ports.js';

let tmp: TempDir;
let receivers: Receivers;
let port: number;

before(async () => {
  tmp = await makeTempDir('postbote-receive-check-');
  port = await freePort();
  const listener = parseConfig(
    `target: { host: 127.0.0.1 }
mailboxes: []
receive:
  - name: check
    bindings: ["127.0.0.1:${port}"]
    remoteIpRanges: [127.0.0.2]
    acceptedDomains: [{ domain: corp.local, recipients: [info, postmaster] }]
    deliver: { maildir: mail }
`,
    { file: 'listener.yaml', baseDir: tmp.path },
  );
  receivers = await startReceivers(listener.receive!, silentLogger());
});
after(async () => {
  await receivers?.close();
  await tmp?.remove();
});

function connectorConfig(localAddress: string) {
  return parseConfig(
    `target: { host: 127.0.0.1, port: ${port}, tls: none, localAddress: ${localAddress}, helo: postbote.test }
mailboxes:
  - name: info
    host: pop.example.com
    user: info@example.com
    password: x
    deliverTo: [info@corp.local, nobody@corp.local, sales@other.example]
    fallback: postmaster@corp.local
`,
    { file: 'postbote.yaml', baseDir: tmp.path },
  );
}

test('each recipient gets its own verdict and fix', async () => {
  const results = await checkTarget(connectorConfig('127.0.0.2'), silentLogger());
  const by = new Map(results.map((r) => [r.subject, r]));
  assert.equal(results[0]!.ok, true, results[0]!.detail);
  assert.equal(by.get('recipient info@corp.local')?.ok, true);
  assert.equal(by.get('recipient postmaster@corp.local')?.ok, true);
  const nobody = by.get('recipient nobody@corp.local')!;
  assert.equal(nobody.ok, false);
  assert.match(nobody.detail, /^RCPT 550 5\.1\.1 /);
  assert.match(nobody.hint!, /does not exist on the mail server/);
  const other = by.get('recipient sales@other.example')!;
  assert.match(other.detail, /^RCPT 550 5\.7\.54 /);
  assert.match(other.hint!, /other\.example is not an accepted domain/);
});

test('from an address outside remoteIpRanges the target itself fails, with the server’s 5.7.1', async () => {
  const results = await checkTarget(connectorConfig('127.0.0.3'), silentLogger());
  assert.equal(results.length, 1);
  assert.equal(results[0]!.ok, false);
  assert.match(results[0]!.detail, /554 5\.7\.1 Client host \[127\.0\.0\.3\]/);
});
