// The fenced writer (PostgresStore.fenced): every write of a pass checks the mailbox's lease in its own
// transaction, so after another instance took the mailbox over, each write raises LeaseLostError and
// changes nothing, while the new owner's writes go on.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { postgresUnavailable } from '../../test/support/postgres.js';
import { sharedCluster } from '../../test/support/store-backends.js';
import { emptySummary } from '../connector/plan.js';
import type { FilterVerdict } from '../filters/types.js';
import { PostgresStore } from './postgres.js';
import { LeaseLostError } from './postgres-leases.js';
import type { NewMessage } from './types.js';

const skip = postgresUnavailable();

const message = (uid: string, spoolKey: string | null): NewMessage => ({
  mailbox: 'info',
  uid,
  spoolKey,
  size: 100,
  sha256: 'ab'.repeat(32),
  messageId: `<${uid}@example.net>`,
  sender: 'a@example.net',
  subject: uid,
  recipients: [{ address: 'info@corp.local', status: 'pending', reason: 'deliverTo' }],
  fetchedAt: 1_000,
  fingerprint: `fp-${uid}`,
});

const verdict: FilterVerdict = {
  verdict: 'ham',
  action: 'deliver',
  results: [],
  edits: { add: [], remove: [] },
  summary: 'ham',
  notify: false,
  at: 2_000,
} as unknown as FilterVerdict;

/** Every table a pass writes, as text: to show that a refused write changed nothing. */
async function dump(url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const out: unknown[] = [];
    for (const t of ['messages', 'attempts', 'sessions', 'read_failures', 'routed'])
      out.push((await c.query(`SELECT * FROM ${t} ORDER BY 1, 2`)).rows);
    return JSON.stringify(out);
  } finally {
    await c.end();
  }
}

describe('the fenced writer of a pass', { skip }, () => {
  const stores: PostgresStore[] = [];
  after(() => Promise.all(stores.map((s) => s.close())));

  test('after a takeover every write raises LeaseLostError and changes nothing; the new owner writes on', async () => {
    const url = await (await sharedCluster()).createDatabase('fence');
    const a = new PostgresStore(url);
    const b = new PostgresStore(url);
    stores.push(a, b);
    await a.migrate();
    const mine = (await a.leases.acquire('info', 'A#1', 60_000))!;
    const fenced = a.fenced('info', mine.token);
    // While the lease holds, the fenced writer writes like the store.
    const spooled = await fenced.addSpooled(message('1', 'k1'));
    const unread = await fenced.addSpooled(message('2', null));
    await fenced.noteReadFailure({ mailbox: 'info', uid: '3', size: 10, error: 'cut', at: 1 });

    // A takes too long (paused): its lease lapses and B takes the mailbox with a larger token.
    await a.leases.release('info', 'A#1', mine.token);
    const theirs = (await b.leases.acquire('info', 'B#2', 60_000))!;
    assert.ok(theirs.token > mine.token);
    const before = await dump(url);

    const writes: Array<[string, () => Promise<unknown>]> = [
      ['addSpooled', () => fenced.addSpooled(message('4', 'k4'))],
      [
        'recordAttempt',
        () =>
          fenced.recordAttempt(
            spooled.id,
            {
              state: 'delivered',
              recipients: [{ address: 'info@corp.local', status: 'delivered', reason: 'deliverTo' }],
              nextAttemptAt: null,
              reason: null,
              spoolKey: null,
              countsAsAttempt: true,
              expect: 'spooled',
            },
            { at: 3, outcome: 'delivered', detail: 'ok', recipients: [] },
          ),
      ],
      ['markSourceRemoved', () => fenced.markSourceRemoved([spooled.id], 4)],
      ['reassignUids', () => fenced.reassignUids([{ id: spooled.id, uid: 'x' }])],
      ['detach', () => fenced.detach([spooled.id], 5)],
      [
        'noteReadFailure',
        () => fenced.noteReadFailure({ mailbox: 'info', uid: '3', size: 10, error: 'x', at: 6 }),
      ],
      [
        'attachBytes',
        () =>
          fenced.attachBytes(unread.id, {
            spoolKey: 'k2',
            size: 100,
            sha256: 'cd'.repeat(32),
            headerDigest: 'h',
            messageId: null,
            sender: 's@example.net',
            subject: null,
            fetchedAt: 7,
          }),
      ],
      ['recordFilter', () => fenced.recordFilter(spooled.id, verdict, spooled.recipients)],
      ['discard', () => fenced.discard(spooled.id)],
      ['recordSession', () => fenced.recordSession({ ...emptySummary('info', true, 1, 2), error: null })],
    ];
    for (const [name, write] of writes) {
      await assert.rejects(write(), (e: unknown) => e instanceof LeaseLostError, name);
    }
    assert.equal(await dump(url), before, 'nothing changed');
    // Reads still work, and closing the view leaves the store's pool open.
    assert.equal((await fenced.messagesOf('info')).length, 2);
    await fenced.close();
    // The new owner's fenced writes go on.
    const next = b.fenced('info', theirs.token);
    await next.markSourceRemoved([spooled.id], 8);
    assert.equal((await a.get(spooled.id))?.sourceRemovedAt, 8);
  });

  test('a lease that lapsed without a new owner refuses the write as well', async () => {
    const url = await (await sharedCluster()).createDatabase('fence');
    const a = new PostgresStore(url);
    stores.push(a);
    await a.migrate();
    const lease = (await a.leases.acquire('info', 'A#1', 60_000))!;
    await a.leases.release('info', 'A#1', lease.token);
    await assert.rejects(
      a.fenced('info', lease.token).addSpooled(message('1', 'k1')),
      (e: unknown) => e instanceof LeaseLostError && /lapsed/.test(e.message) && e.temporary,
    );
    assert.deepEqual(await a.messagesOf('info'), []);
  });
});
