import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expungeWay } from './after-delivery.js';

test('expunges only what is ours: UID EXPUNGE, or a plain EXPUNGE when nothing else is flagged', () => {
  const cases: Array<[string, boolean, number[], number[], string]> = [
    ['UIDPLUS: always UID EXPUNGE', true, [1, 2, 9], [1, 2], 'uid-expunge'],
    ['no UIDPLUS, only ours flagged', false, [1, 2], [1, 2], 'expunge'],
    ['no UIDPLUS, nothing flagged any more', false, [], [1, 2], 'expunge'],
    ['no UIDPLUS, someone else flagged 9', false, [1, 2, 9], [1, 2], 'leave-flagged'],
  ];
  for (const [name, uidPlus, flagged, ours, want] of cases)
    assert.equal(expungeWay(uidPlus, flagged, ours), want, name);
});
