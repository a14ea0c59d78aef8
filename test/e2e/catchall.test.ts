// Catch-all routing end to end: a realistic catch-all corpus in a private Dovecot, the real
// `postbote fetch`, an smtp-server receiver as the company server. Every recipient right, no outside
// address ever given to the target, every duplicate and loop accounted for in the store.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SqliteStore } from '../../src/store/sqlite.js';
import type { MessageRecord } from '../../src/store/types.js';
import { type CatchAllCase, catchAllCorpus, corpusId } from '../fixtures/catchall/corpus.js';
import { type CatchAllWorld, startCatchAllWorld } from '../fixtures/catchall/world.js';
import { type Dovecot, dovecotUnavailable } from '../support/dovecot.js';
import type { TempDir } from '../support/ports.js';
import type { Receiver } from '../support/smtp-receiver.js';
import { runCli } from './helpers.js';

describe('catch-all routing from Dovecot to SMTP', { skip: dovecotUnavailable() }, () => {
  let world: CatchAllWorld;
  let dovecot: Dovecot;
  let receiver: Receiver;
  let tmp: TempDir;
  let config: string;
  const corpus = catchAllCorpus();

  before(async () => {
    world = await startCatchAllWorld('catchall', 'tls', corpus);
    ({ dovecot, receiver, tmp, config } = world);
  });
  after(async () => {
    await world?.stop();
  });

  test(`the corpus (${corpus.length} messages) reaches exactly the expected recipients`, async () => {
    assert.ok(corpus.length >= 40);
    const run = await runCli(['fetch', '-c', config, '--json']);
    assert.equal(run.code, 0, run.stderr + run.stdout);

    // Every RCPT the company server saw, per corpus message.
    const got = new Map<string, string[]>();
    for (const m of receiver.received) {
      const id = corpusId(m.raw);
      assert.ok(id, 'a delivered message without X-Corpus-Id');
      got.set(id, [...(got.get(id) ?? []), ...m.to]);
    }
    const wrong: string[] = [];
    for (const c of corpus) {
      const want = [...c.expected].sort();
      const have = [...(got.get(c.id) ?? [])].sort();
      if (JSON.stringify(want) !== JSON.stringify(have))
        wrong.push(`${c.id} ${c.what}: got ${have}, want ${want}`);
    }
    assert.deepEqual(wrong, [], `${wrong.length} of ${corpus.length} messages routed wrongly`);

    // No outside address, ever: every RCPT is a company address the corpus expects.
    const allowed = new Set(corpus.flatMap((c) => c.expected));
    const rcpts = receiver.received.flatMap((m) => m.to);
    assert.deepEqual(
      rcpts.filter((r) => !allowed.has(r) || !r.endsWith('@corp.local')),
      [],
    );
    assert.equal(
      rcpts.length,
      corpus.reduce((n, c) => n + c.expected.length, 0),
    );
    assert.equal(dovecot.count('catchall'), 0, 'every message is final and removed at the provider');
  });

  test('every duplicate and loop is accounted for in the store, with its reason', async () => {
    const store = new SqliteStore(join(tmp.path, 'state', 'postbote.sqlite'));
    try {
      const records = [...(await store.messagesOf('catchall')).values()];
      assert.equal(records.length, corpus.length, 'one record per provider copy');
      const byCase = matchRecords(corpus, records);
      for (const c of corpus) {
        const rec = byCase.get(c.id)!;
        assert.ok(rec.explanation && rec.explanation.length > 0, `${c.id}: explanation stored`);
        for (const r of rec.recipients) assert.ok(r.reason, `${c.id}: ${r.address} has a reason`);
        const dups = rec.recipients.filter((r) => r.status === 'duplicate').map((r) => r.address);
        assert.deepEqual(dups.sort(), [...(c.duplicates ?? [])].sort(), `${c.id}: duplicate recipients`);
        if (c.quarantined) {
          assert.equal(rec.state, 'quarantined', `${c.id} ${c.what}`);
          assert.match(rec.reason ?? '', c.quarantined === 'loop' ? /mail loop/ : /rule 2 "executables"/);
        } else if (c.expected.length === 0) {
          assert.equal(rec.state, 'duplicate', `${c.id} ${c.what}`);
          assert.match(rec.reason ?? '', /^duplicate for every recipient: duplicate: \S+ already got/);
          assert.equal(rec.spoolKey, null);
        } else {
          assert.equal(rec.state, 'delivered', `${c.id} ${c.what}`);
        }
      }
      const counts = await store.counts();
      assert.equal(counts.duplicate, corpus.filter((c) => !c.quarantined && c.expected.length === 0).length);
      assert.equal(counts.quarantined, corpus.filter((c) => c.quarantined).length);
    } finally {
      await store.close();
    }
  });

  test('a second pass delivers nothing', async () => {
    const before = receiver.received.length;
    const run = await runCli(['fetch', '-c', config, '--json']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).mailboxes[0].fetched, 0);
    assert.equal(receiver.received.length, before);
  });
});

/** Store records to corpus cases, by the order the provider listed them (UIDL order = seed order). */
function matchRecords(corpus: CatchAllCase[], records: MessageRecord[]): Map<string, MessageRecord> {
  const ordered = [...records].sort((a, b) => a.id - b.id);
  return new Map(corpus.map((c, i) => [c.id, ordered[i]!]));
}
