import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PostboteError } from '../errors.js';
import { assertTransition, canMove } from './lifecycle.js';
import type { MessageState } from './types.js';

describe('the message life cycle', () => {
  const cases: Array<[MessageState, MessageState, boolean]> = [
    ['spooled', 'delivered', true],
    ['spooled', 'deferred', true],
    ['spooled', 'quarantined', true],
    ['spooled', 'duplicate', true],
    ['deferred', 'deferred', true],
    ['deferred', 'delivered', true],
    ['deferred', 'spooled', true],
    ['deferred', 'deleted', true],
    ['quarantined', 'spooled', true],
    ['quarantined', 'deleted', true],
    ['quarantined', 'delivered', false],
    ['quarantined', 'deferred', false],
    ['delivered', 'spooled', false],
    ['delivered', 'delivered', false],
    ['delivered', 'quarantined', false],
    ['duplicate', 'spooled', false],
    ['deleted', 'spooled', false],
    ['deleted', 'deleted', false],
  ];
  for (const [from, to, allowed] of cases) {
    test(`${from} → ${to} is ${allowed ? 'allowed' : 'refused'}`, () => {
      assert.equal(canMove(from, to), allowed);
      if (allowed) assertTransition(1, from, to);
      else
        assert.throws(
          () => assertTransition(1, from, to),
          (e: unknown) => e instanceof PostboteError && e.code === 'STORE' && !e.temporary,
        );
    });
  }
});
