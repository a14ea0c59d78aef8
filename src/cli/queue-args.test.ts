// queueArgs as a table: the requests commander and the control socket pass, and what each becomes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { queueArgs } from './queue-args.js';

test('a queue request is checked the same from commander and from a control client', () => {
  const cases: [Record<string, unknown>, ReturnType<typeof queueArgs>][] = [
    [{ action: 'list' }, { action: 'list', json: false }],
    [
      { action: 'list', state: 'quarantined', json: true },
      { action: 'list', json: true, state: 'quarantined' },
    ],
    [
      { action: 'show', id: '42' },
      { action: 'show', json: false, id: 42 },
    ],
    [
      { action: 'retry', all: true, id: 'x' },
      { action: 'retry', json: false, all: true },
    ],
    [
      { action: 'release', id: 7, to: 'alice@corp.local' },
      { action: 'release', json: false, to: 'alice@corp.local', id: 7 },
    ],
    [{ action: 'purge' }, 'unknown queue action purge'],
    [{ action: 'list', state: 'delivered' }, '--state: expected deferred or quarantined, got "delivered"'],
    [{ action: 'delete', id: '0' }, 'delete: expected a message ID (a number from `postbote queue`)'],
    [{ action: 'show', id: '1.5' }, 'show: expected a message ID (a number from `postbote queue`)'],
    [{ action: 'retry' }, 'retry: expected a message ID (a number from `postbote queue`) or --all'],
  ];
  for (const [raw, expected] of cases) assert.deepEqual(queueArgs(raw), expected, JSON.stringify(raw));
});

test('what a control client sends is bounded before it is echoed or stored', () => {
  assert.equal(queueArgs({ action: 'x'.repeat(100) }), `unknown queue action ${'x'.repeat(40)}`);
  const args = queueArgs({ action: 'release', id: 1, to: 'a'.repeat(1000) });
  assert.ok(typeof args !== 'string');
  assert.equal(args.to?.length, 320);
});
