// The web admin against a hostile client, through fastify's inject: the login never redirects to another
// site, and no field, body, name or log line grows with what the client sends.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ADMIN, buildFor, login, type WebWorld, webWorld } from './web-world.js';

// Each a way to leave the site that a `^/(?!/)` check lets through (or a header to inject).
const OFF_SITE = [
  '/\t/evil.example',
  '/\n/evil.example',
  '/%09/evil.example',
  '/%2F%2Fevil.example',
  '/%5Cevil.example',
  '/%0d%0aSet-Cookie:%20x=1',
  '/a/../..//evil.example',
  '//evil.example',
  '/\\evil.example',
  'https://evil.example',
  'javascript:alert(1)',
];

/** Each login from its own address: the per-client rate limit is not what is tested here. */
let nextIp = 1;
const ip = () => `10.0.${Math.floor(nextIp / 250)}.${(nextIp++ % 250) + 1}`;

describe('web admin against a hostile client', () => {
  let w: WebWorld;
  let app: FastifyInstance;
  before(async () => {
    w = await webWorld();
    ({ app } = await buildFor(w));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await w.close();
  });

  test('a successful login goes to a page of this site, never to another one', async () => {
    for (const next of OFF_SITE) {
      const res = await login(app, ADMIN.password, ADMIN.user, { next, ip: ip() });
      assert.equal(res.statusCode, 303, res.body);
      assert.equal(res.headers.location, '/', JSON.stringify(next));
    }
    const kept = await login(app, ADMIN.password, ADMIN.user, { next: '/messages?q=a%2Fb', ip: ip() });
    assert.equal(kept.headers.location, '/messages?q=a%2Fb');
  });

  test('the login form does not carry an off-site next into its hidden field', async () => {
    for (const next of OFF_SITE) {
      const res = await app.inject({ method: 'GET', url: `/login?next=${encodeURIComponent(next)}` });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /name="next" value="\/"/, JSON.stringify(next));
    }
  });
});
