import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ownerOf, spread } from './rendezvous.js';

const mailboxes = Array.from({ length: 30 }, (_, i) => `mailbox-${i + 1}`);

const cases: Array<{ name: string; ids: string[] }> = [
  { name: 'three hosts', ids: ['mx1#0a1b2c3d', 'mx2#4e5f6071', 'mx3#8293a4b5'] },
  { name: 'one host, three spool folders', ids: ['host:a#00000001', 'host:b#00000002', 'host:c#00000003'] },
  { name: 'random-looking ids', ids: ['x#9f8e7d6c', 'y#5b4a3928', 'z#17060504'] },
];

for (const { name, ids } of cases) {
  test(`spreads 30 mailboxes evenly over 3 instances (${name})`, () => {
    const shares = spread(mailboxes, ids);
    const counts = ids.map((id) => shares.get(id)!.length);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      30,
    );
    // 10 each on average; hashing is not a round robin, but none may be starved or swamped.
    for (const c of counts) assert.ok(c >= 5 && c <= 15, `uneven: ${counts.join('/')}`);
  });

  test(`when one of 3 instances leaves, only its mailboxes move (${name})`, () => {
    const before = spread(mailboxes, ids);
    const [gone, ...rest] = ids;
    const after = spread(mailboxes, rest);
    for (const id of rest) {
      for (const m of before.get(id)!) assert.ok(after.get(id)!.includes(m), `${m} moved away from ${id}`);
    }
    for (const m of before.get(gone!)!) assert.ok(rest.includes(ownerOf(m, rest)!));
    // And back: the returning instance gets exactly its old mailboxes again.
    assert.deepEqual(spread(mailboxes, ids), before);
  });
}

test('the same answer whatever the order of the ids; none without instances', () => {
  const ids = ['b#2', 'a#1', 'c#3'];
  for (const m of mailboxes) assert.equal(ownerOf(m, ids), ownerOf(m, [...ids].reverse()));
  assert.equal(ownerOf('info', []), undefined);
  assert.deepEqual(spread(['info'], ['only#1']).get('only#1'), ['info']);
});
