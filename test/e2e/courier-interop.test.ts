// End to end against Courier's POP3 server (STLS and POP3S, delete and keep mode) with the mixed
// interop corpus: every message arrives once and byte-exact. Courier replaces mail with UTF-8
// headers by a "Cannot display Unicode content" notice unless the client says UTF8 (RFC 6856).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type Courier, courierUnavailable, startCourier } from '../support/courier.js';
import { interopCorpus } from '../support/interop-corpus.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, stripOwnReceived, toCrlf, writeConfig } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('fetching from Courier POP3 and delivering by SMTP', { skip: courierUnavailable() }, () => {
  let courier: Courier;
  let receiver: Receiver;
  let tmp: TempDir;
  let config: string;
  const corpus = interopCorpus();

  before(async () => {
    courier = await startCourier({ users: ['stls', 'pop3s'], name: 'e2e' });
    receiver = await startReceiver();
    tmp = await makeTempDir('postbote-courier-e2e-');
    await courier.seed(
      'stls',
      corpus.map((c) => c.data),
    );
    await courier.seed(
      'pop3s',
      corpus.map((c) => c.data),
    );
    config = await writeConfig(
      tmp.path,
      `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: stls
    host: localhost
    port: ${courier.ports.pop3}
    tls: starttls
    ca: ${courier.caFile}
    user: stls
    password: ${courier.password('stls')}
    deliverTo: [stls@corp.local]
  - name: pop3s
    host: localhost
    port: ${courier.ports.pop3s}
    tls: tls
    ca: ${courier.caFile}
    user: pop3s
    password: ${courier.password('pop3s')}
    keep: true
    deliverTo: [pop3s@corp.local]
`,
    );
  });
  after(async () => {
    await courier?.stop();
    await receiver?.stop();
    await tmp?.remove();
  });

  test('every message arrives once and byte-exact (UTF-8 headers too), keep mode keeps, a second pass delivers nothing', async () => {
    const first = await runCli(['fetch', '-c', config, '--json'], { POSTBOTE_LOG_LEVEL: 'info' });
    assert.equal(first.code, 0, `${first.stderr}${first.stdout}\n--- courier ---\n${courier.log()}`);
    assert.match(first.stderr, /UTF-8 mode/, 'the sessions say they are in UTF-8 mode');
    const want = corpus.map((c) => sha(toCrlf(c.data))).sort();
    for (const rcpt of ['stls@corp.local', 'pop3s@corp.local']) {
      const got = receiver.byRecipient(rcpt).map(stripOwnReceived);
      const notices = got.filter((m) => m.includes('Cannot display Unicode content'));
      assert.equal(notices.length, 0, `${rcpt}: Courier substituted ${notices.length} messages`);
      const gotHashes = got.map(sha).sort();
      const names = corpus.filter((c) => !gotHashes.includes(sha(toCrlf(c.data)))).map((c) => c.name);
      assert.deepEqual(names, [], `${rcpt}: not byte-exact`);
      assert.deepEqual(gotHashes, want, `${rcpt}: each message once`);
    }
    assert.equal(courier.count('stls'), 0, 'delete mode empties the mailbox');
    assert.equal(courier.count('pop3s'), corpus.length, 'keep mode leaves every message');

    const before = receiver.received.length;
    const second = await runCli(['fetch', '-c', config, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const s2 = JSON.parse(second.stdout) as { mailboxes: Array<{ fetched: number; delivered: number }> };
    assert.deepEqual(
      s2.mailboxes.map((m) => [m.fetched, m.delivered]),
      [
        [0, 0],
        [0, 0],
      ],
    );
    assert.equal(receiver.received.length, before);
  });
});
