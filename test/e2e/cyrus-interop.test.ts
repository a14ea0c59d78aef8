// End to end against Cyrus's POP3 server (STLS and POP3S, delete and keep mode) with the mixed
// interop corpus: every message arrives once and byte-exact. Cyrus sends UTF-8 mail as stored and
// announces EXPIRE NEVER and LOGIN-DELAY 0, which change nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { openPop3 } from '../../src/pop3/index.js';
import { type Cyrus, cyrusUnavailable, startCyrus } from '../support/cyrus.js';
import { interopCorpus } from '../support/interop-corpus.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli } from './helpers.js';
import { assertDeliveredOnce, assertSecondPassIdle, interopConfig } from './interop-world.js';

describe('fetching from Cyrus POP3 and delivering by SMTP', { skip: cyrusUnavailable() }, () => {
  let cyrus: Cyrus;
  let receiver: Receiver;
  let tmp: TempDir;
  let config: string;
  // Cyrus stores CRLF; APPEND needs it (a bare LF is refused as an invalid message).
  const corpus = interopCorpus().map((c) => ({
    ...c,
    data: Buffer.from(c.data.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'),
  }));

  before(async () => {
    cyrus = await startCyrus({ users: ['stls', 'pop3s'], name: 'e2e' });
    receiver = await startReceiver();
    tmp = await makeTempDir('postbote-cyrus-e2e-');
    for (const user of ['stls', 'pop3s']) {
      await cyrus.seed(
        user,
        corpus.map((c) => c.data),
      );
    }
    config = await interopConfig(tmp.path, cyrus, receiver.port);
  });
  after(async () => {
    await cyrus?.stop();
    await receiver?.stop();
    await tmp?.remove();
  });

  test('every message arrives once and byte-exact, keep mode keeps, a second pass delivers nothing', async () => {
    const first = await runCli(['fetch', '-c', config, '--json']);
    assert.equal(first.code, 0, `${first.stderr}${first.stdout}\n--- cyrus ---\n${cyrus.log()}`);
    assertDeliveredOnce(receiver, corpus);
    assert.equal(await cyrus.count('stls'), 0, 'delete mode empties the mailbox');
    assert.equal(await cyrus.count('pop3s'), corpus.length, 'keep mode leaves every message');
    await assertSecondPassIdle(config, receiver);
  });

  test('the session reads what the server announces beyond login (RFC 2449, RFC 6856)', async () => {
    const s = await openPop3({
      host: 'localhost',
      port: cyrus.ports.pop3s,
      tls: 'tls',
      ca: readFileSync(cyrus.caFile),
      user: 'pop3s',
      password: cyrus.password('pop3s'),
    });
    try {
      assert.deepEqual(s.policy, { utf8: false, loginDelay: 0, expire: 'never' });
    } finally {
      await s.close();
    }
  });
});
