// End to end against Courier's POP3 server (STLS and POP3S, delete and keep mode) with the mixed
// interop corpus: every message arrives once and byte-exact. Courier replaces mail with UTF-8
// headers by a "Cannot display Unicode content" notice unless the client says UTF8 (RFC 6856).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { openPop3 } from '../../src/pop3/index.js';
import { type Courier, courierUnavailable, startCourier } from '../support/courier.js';
import { interopCorpus } from '../support/interop-corpus.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli } from './helpers.js';
import { assertDeliveredOnce, assertSecondPassIdle, interopConfig } from './interop-world.js';

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
    for (const user of ['stls', 'pop3s']) {
      await courier.seed(
        user,
        corpus.map((c) => c.data),
      );
    }
    config = await interopConfig(tmp.path, courier, receiver.port);
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
    assertDeliveredOnce(receiver, corpus);
    assert.equal(courier.count('stls'), 0, 'delete mode empties the mailbox');
    assert.equal(courier.count('pop3s'), corpus.length, 'keep mode leaves every message');
    await assertSecondPassIdle(config, receiver);
  });

  test('the session reads what the server announces beyond login (RFC 2449, RFC 6856)', async () => {
    const s = await openPop3({
      host: 'localhost',
      port: courier.ports.pop3s,
      tls: 'tls',
      ca: readFileSync(courier.caFile),
      user: 'pop3s',
      password: courier.password('pop3s'),
    });
    try {
      assert.deepEqual(s.policy, { utf8: true, loginDelay: 10 });
    } finally {
      await s.close();
    }
  });
});
