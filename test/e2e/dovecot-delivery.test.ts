// End to end against real servers: Dovecot POP3 with STLS and POP3S as the provider, an smtp-server
// receiver as the company server, and the real `postbote fetch` between them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { standardCorpus } from '../support/corpus.js';
import { type Dovecot, startDovecot } from '../support/dovecot.js';
import { makeTempDir, type TempDir } from '../support/ports.js';
import { type Receiver, startReceiver } from '../support/smtp-receiver.js';
import { runCli, stripOwnReceived, toCrlf, writeConfig } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('fetching from Dovecot and delivering by SMTP', () => {
  let dovecot: Dovecot;
  let receiver: Receiver;
  let tmp: TempDir;
  let config: string;
  const corpus = standardCorpus();

  before(async () => {
    dovecot = await startDovecot({ users: ['stls', 'pop3s'] });
    receiver = await startReceiver();
    tmp = await makeTempDir('postbote-e2e-');
    const half = Math.ceil(corpus.length / 2);
    await dovecot.seed(
      'stls',
      corpus.slice(0, half).map((c) => c.data),
    );
    await dovecot.seed(
      'pop3s',
      corpus.slice(half).map((c) => c.data),
    );
    config = await writeConfig(
      tmp.path,
      `
state: ${tmp.path}/state
target: { host: 127.0.0.1, port: ${receiver.port}, tls: none, helo: postbote.test }
mailboxes:
  - name: stls
    host: localhost
    port: ${dovecot.ports.pop3}
    tls: starttls
    ca: ${dovecot.caFile}
    user: stls
    password: ${dovecot.password('stls')}
    deliverTo: [stls@corp.local]
  - name: pop3s
    host: localhost
    port: ${dovecot.ports.pop3s}
    tls: tls
    ca: ${dovecot.caFile}
    user: pop3s
    password: ${dovecot.password('pop3s')}
    deliverTo: [pop3s@corp.local, copy@corp.local]
`,
    );
  });
  after(async () => {
    await dovecot?.stop();
    await receiver?.stop();
    await tmp?.remove();
  });

  test('every message arrives byte-exact, the mailboxes are emptied, a second pass delivers nothing', async () => {
    const first = await runCli(['fetch', '-c', config, '--json']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const summary = JSON.parse(first.stdout);
    assert.equal(summary.ok, true);

    const half = Math.ceil(corpus.length / 2);
    const expected = new Map<string, Buffer[]>([
      ['stls@corp.local', corpus.slice(0, half).map((c) => c.data)],
      ['pop3s@corp.local', corpus.slice(half).map((c) => c.data)],
      ['copy@corp.local', corpus.slice(half).map((c) => c.data)],
    ]);
    for (const [rcpt, messages] of expected) {
      const got = receiver.byRecipient(rcpt).map(stripOwnReceived);
      assert.equal(got.length, messages.length, `${rcpt}: count`);
      // Compare as multisets of content hashes: order of arrival is not part of the contract.
      const gotHashes = got.map(sha).sort();
      const want = messages.map((m) => sha(toCrlf(m))).sort();
      const missing = want.filter((h) => !gotHashes.includes(h));
      assert.deepEqual(missing, [], `${rcpt}: ${missing.length} messages not byte-exact`);
      assert.deepEqual(gotHashes, want);
    }
    assert.equal(dovecot.count('stls'), 0);
    assert.equal(dovecot.count('pop3s'), 0);

    const before = receiver.received.length;
    const second = await runCli(['fetch', '-c', config, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const s2 = JSON.parse(second.stdout);
    assert.deepEqual(
      s2.mailboxes.map((m: { fetched: number; delivered: number }) => [m.fetched, m.delivered]),
      [
        [0, 0],
        [0, 0],
      ],
    );
    assert.equal(receiver.received.length, before);
  });

  test('delivers over LMTP into Dovecot itself (target protocol lmtp), readable there byte for byte', async () => {
    const lmtpConfig = await writeConfig(
      tmp.path,
      `
state: ${tmp.path}/state-lmtp
target: { host: 127.0.0.1, port: ${dovecot.ports.lmtp}, protocol: lmtp, tls: none, helo: postbote.test }
mailboxes:
  - name: stls
    host: localhost
    port: ${dovecot.ports.pop3}
    tls: starttls
    ca: ${dovecot.caFile}
    user: stls
    password: ${dovecot.password('stls')}
    deliverTo: [pop3s@corp.local]
`,
    );
    const sample = corpus.slice(0, 6).map((c) => c.data);
    await dovecot.seed('stls', sample);
    const r = await runCli(['fetch', '-c', lmtpConfig, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(dovecot.count('stls'), 0);
    // Dovecot stores LMTP mail with LF line ends and its own trace headers on top: compare the tails.
    const stored = dovecot.messages('pop3s').map((m) => toCrlf(m).toString('latin1'));
    for (const m of sample) {
      const want = toCrlf(m).toString('latin1');
      assert.ok(
        stored.some((s) => s.endsWith(want) && s.includes('(Postbote)')),
        `message of ${m.length} bytes not found byte-exact in the LMTP mailbox`,
      );
    }
  });
});
