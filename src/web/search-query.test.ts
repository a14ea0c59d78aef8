import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { toQuery } from './search-query.js';

describe('toQuery', () => {
  test('an empty search asks for the first 50 messages with no filter', () => {
    assert.deepEqual(toQuery({}), {
      text: undefined,
      mailbox: undefined,
      states: undefined,
      sender: undefined,
      recipient: undefined,
      subject: undefined,
      messageId: undefined,
      since: undefined,
      until: undefined,
      limit: 50,
      offset: 0,
    });
  });

  test('empty form fields filter nothing (the page sends every field)', () => {
    const q = toQuery({
      q: '',
      mailbox: '',
      state: '',
      sender: '',
      recipient: '',
      subject: '',
      messageId: '',
    });
    assert.equal(q.text, undefined);
    assert.equal(q.mailbox, undefined);
    assert.equal(q.states, undefined);
    assert.equal(q.sender, undefined);
    assert.equal(q.messageId, undefined);
  });

  test('a state becomes a one-state list; text fields pass as given', () => {
    const q = toQuery({ q: 'invoice', state: 'deferred', mailbox: 'info', limit: 10, offset: 20 });
    assert.deepEqual(q.states, ['deferred']);
    assert.equal(q.text, 'invoice');
    assert.equal(q.mailbox, 'info');
    assert.equal(q.limit, 10);
    assert.equal(q.offset, 20);
  });

  test('from is the day’s UTC midnight, to includes the whole day', () => {
    const q = toQuery({ from: '2026-03-01', to: '2026-03-01' });
    assert.equal(q.since, Date.UTC(2026, 2, 1));
    assert.equal(q.until, Date.UTC(2026, 2, 2));
  });

  for (const bad of ['2026-3-1', '01.03.2026', '2026-13-45', 'yesterday', '2026-03-01T00:00']) {
    test(`a malformed day (${bad}) sets no bound`, () => {
      const q = toQuery({ from: bad, to: bad });
      assert.equal(q.since, undefined);
      assert.equal(q.until, undefined);
    });
  }
});
