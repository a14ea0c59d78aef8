// The verdicts and fixes `postbote check` prints (and the web's "test a mailbox" form shows).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RecipientReply } from '../smtp/types.js';
import { recipientHint } from './check.js';

const nonAccepted = (address: string): RecipientReply => ({
  address,
  stage: 'RCPT',
  reply: { code: 550, enhanced: '5.7.54', text: 'SMTP; Unable to relay recipient in non-accepted domain' },
});

describe('recipientHint', () => {
  test('5.7.54 for every recipient names the domain to accept, not RemoteIPRanges', () => {
    const hint = recipientHint(nonAccepted('info@corp.example'), true, '192.168.1.11');
    assert.match(hint, /corp\.example is not an accepted domain/);
    assert.doesNotMatch(hint, /RemoteIPRanges/);
  });

  test('a relay refusal for every recipient names the source address', () => {
    const r: RecipientReply = {
      address: 'info@corp.example',
      stage: 'RCPT',
      reply: { code: 550, enhanced: '5.7.1', text: 'Unable to relay' },
    };
    assert.match(recipientHint(r, true, '192.168.1.11'), /add 192\.168\.1\.11 to RemoteIPRanges/);
  });
});
