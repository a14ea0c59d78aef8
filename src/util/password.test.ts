import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, isPasswordHash, verifyPassword } from './password.js';

test('a hash verifies its password and nothing else, and a broken hash verifies nothing', async () => {
  const h = await hashPassword('correct horse');
  assert.ok(isPasswordHash(h));
  assert.equal(await verifyPassword(h, 'correct horse'), true);
  assert.equal(await verifyPassword(h, 'wrong'), false);
  assert.equal(await verifyPassword('not-a-hash', 'correct horse'), false);
});
