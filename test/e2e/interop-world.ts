// What the interoperability suites share: one config with a STLS mailbox that deletes and a POP3S
// mailbox that keeps, and the check that every corpus message arrived once and byte-exact.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { CorpusEntry } from '../support/corpus.js';
import type { Receiver } from '../support/smtp-receiver.js';
import { runCli, stripOwnReceived, toCrlf, writeConfig } from './helpers.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export interface InteropServer {
  ports: { pop3: number; pop3s: number };
  caFile: string;
  password(user: string): string;
}

/** Users 'stls' (tls: starttls, deleted after delivery) and 'pop3s' (tls: tls, keep: true). */
export function interopConfig(dir: string, server: InteropServer, receiverPort: number): Promise<string> {
  return writeConfig(
    dir,
    `
state: ${dir}/state
target: { host: 127.0.0.1, port: ${receiverPort}, tls: none, helo: postbote.test }
mailboxes:
  - name: stls
    host: localhost
    port: ${server.ports.pop3}
    tls: starttls
    ca: ${server.caFile}
    user: stls
    password: ${server.password('stls')}
    deliverTo: [stls@corp.local]
  - name: pop3s
    host: localhost
    port: ${server.ports.pop3s}
    tls: tls
    ca: ${server.caFile}
    user: pop3s
    password: ${server.password('pop3s')}
    keep: true
    deliverTo: [pop3s@corp.local]
`,
  );
}

/** Each recipient got each corpus message exactly once, byte-exact (CRLF as the server sends it). */
export function assertDeliveredOnce(receiver: Receiver, corpus: CorpusEntry[]): void {
  const want = corpus.map((c) => sha(toCrlf(c.data))).sort();
  for (const rcpt of ['stls@corp.local', 'pop3s@corp.local']) {
    const got = receiver.byRecipient(rcpt).map(stripOwnReceived);
    const notices = got.filter((m) => m.includes('Cannot display Unicode content'));
    assert.equal(notices.length, 0, `${rcpt}: the server substituted ${notices.length} messages`);
    const gotHashes = got.map(sha).sort();
    const missing = corpus.filter((c) => !gotHashes.includes(sha(toCrlf(c.data)))).map((c) => c.name);
    assert.deepEqual(missing, [], `${rcpt}: not byte-exact`);
    assert.deepEqual(gotHashes, want, `${rcpt}: each message once`);
  }
}

/** A second `postbote fetch` fetches and delivers nothing. */
export async function assertSecondPassIdle(config: string, receiver: Receiver): Promise<void> {
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
}
