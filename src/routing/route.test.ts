import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseHeaders } from '../message/headers.js';
import { route } from './route.js';

const catchAll = { domains: ['example.com'], rewriteDomain: 'corp.local', fallback: 'postmaster@corp.local' };
const h = (s: string) => parseHeaders(s.replace(/\n/g, '\r\n'));

describe('route', () => {
  test('a plain mailbox goes to its fixed recipients', () => {
    const r = route({ deliverTo: ['info@corp.local', 'b@corp.local'] }, h('To: x@y.z\n\n'));
    assert.deepEqual(
      r.map((x) => x.address),
      ['info@corp.local', 'b@corp.local'],
    );
  });
  test('catch-all prefers Delivered-To over To and rewrites the domain', () => {
    const r = route({ catchAll }, h('Delivered-To: bob@example.com\nTo: list@lists.example.net\n\n'));
    assert.deepEqual(
      r.map((x) => x.address),
      ['bob@corp.local'],
    );
    assert.match(r[0]!.reason, /Delivered-To: bob@example.com → bob@corp.local via rewriteDomain/);
  });
  test('catch-all never routes to an address outside the accepted domains', () => {
    const r = route({ catchAll }, h('To: stranger@evil.example, alice@EXAMPLE.com\n\n'));
    assert.deepEqual(
      r.map((x) => x.address),
      ['alice@corp.local'],
    );
  });
  test('only the topmost Received header is trusted for its for clause', () => {
    const r = route(
      { catchAll },
      h(
        'Received: from a by b for <carol@example.com>; x\nReceived: from c by d for <dave@example.com>; y\n\n',
      ),
    );
    assert.deepEqual(
      r.map((x) => x.address),
      ['carol@corp.local'],
    );
  });
  test('no usable header goes to the fallback, with the reason', () => {
    const r = route({ catchAll }, h('To: someone@elsewhere.example\n\n'));
    assert.equal(r[0]!.address, 'postmaster@corp.local');
    assert.match(r[0]!.reason, /fallback/);
  });
});
