import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_NEXT_LENGTH, safeNext } from './safe-next.js';

// Payloads from open-redirect cheat sheets: each, followed by a browser, would leave the site.
const refused: Array<[string, unknown]> = [
  ['protocol-relative', '//evil.example'],
  ['protocol-relative with path', '//evil.example/login'],
  ['three slashes', '///evil.example'],
  ['backslash', '/\\evil.example'],
  ['backslash first', '\\\\evil.example'],
  ['slash backslash slash', '/\\/evil.example'],
  ['tab between the slashes (browsers drop it)', '/\t/evil.example'],
  ['newline between the slashes', '/\n/evil.example'],
  ['carriage return between the slashes', '/\r/evil.example'],
  ['NUL after the slash', '/\0/evil.example'],
  ['DEL', '/\x7f/evil.example'],
  ['encoded tab', '/%09/evil.example'],
  ['encoded newline', '/%0a/evil.example'],
  ['encoded CR LF (header injection)', '/%0d%0aSet-Cookie:%20x=1'],
  ['raw CR LF (header injection)', '/\r\nSet-Cookie: x=1'],
  ['encoded slashes', '/%2F%2Fevil.example'],
  ['encoded slashes, lower case', '/%2f%2fevil.example'],
  ['encoded backslash', '/%5Cevil.example'],
  ['encoded slash and backslash', '/%2F%5Cevil.example'],
  ['dot segments up to //', '/a/../..//evil.example'],
  ['absolute https', 'https://evil.example'],
  ['absolute http to this host name', 'http://127.0.0.1:8025/'],
  ['scheme-relative without slash', 'evil.example'],
  ['javascript:', 'javascript:alert(1)'],
  ['javascript: after a slash-less space', ' javascript:alert(1)'],
  ['data:', 'data:text/html,<script>alert(1)</script>'],
  ['leading space before //', ' //evil.example'],
  ['leading tab before //', '\t//evil.example'],
  ['userinfo look-alike', '//admin@evil.example'],
  ['malformed percent escape', '/%zz'],
  ['empty', ''],
  ['not a string', ['/a', '/b']],
  ['undefined', undefined],
  ['too long', `/${'a'.repeat(MAX_NEXT_LENGTH)}`],
];

const kept: Array<[string, string]> = [
  ['the dashboard', '/'],
  ['a page', '/queue'],
  ['a page with a query', '/messages?q=refuse&state=quarantined'],
  ['an encoded slash inside the query', '/messages?q=a%2Fb'],
  ['a fragment', '/messages/12#attempts'],
  ['an encoded name', '/mailboxes/info%40example'],
  ['dot segments that stay on the site', '/a/../queue'],
  ['non-ASCII', '/messages?q=Grüße'],
  ['at the length limit', `/${'a'.repeat(MAX_NEXT_LENGTH - 1)}`],
];

describe('safeNext: where the login may send the browser', () => {
  for (const [name, next] of refused) {
    test(`refuses ${name}`, () => assert.equal(safeNext(next), '/', JSON.stringify(next)));
  }
  for (const [name, next] of kept) {
    test(`keeps ${name}`, () => assert.equal(safeNext(next), next));
  }
});
