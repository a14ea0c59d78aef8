// The web admin against a hostile client, through fastify's inject: the login never redirects to another
// site, and no field, body, name or log line grows with what the client sends.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { pino } from 'pino';
import {
  FORM_BODY_LIMIT,
  JSON_BODY_LIMIT,
  MAX_LOGGED_CHARS,
  MAX_PASSWORD_LENGTH,
  MAX_USER_LENGTH,
} from '../../src/web/limits.js';
import { type LoginGuard, MAX_TRACKED_NAMES } from '../../src/web/login-guard.js';
import {
  ADMIN,
  API_TOKEN,
  buildFor,
  login,
  session,
  startFor,
  type WebWorld,
  webWorld,
} from './web-world.js';

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

/** A logger that keeps its lines, to measure what a client can make it write. */
function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'info', base: undefined }, { write: (line: string) => lines.push(line) });
  return { logger, lines };
}

/** The login form's token and cookie, fetched once: the double-submit check takes any matching pair. */
async function loginForm(app: FastifyInstance) {
  const form = await app.inject({ method: 'GET', url: '/login' });
  return {
    token: /name="_csrf" value="([^"]+)"/.exec(form.body)?.[1] ?? '',
    cookie: String(form.headers['set-cookie']).split(';')[0]!,
  };
}

function formPost(f: { token: string; cookie: string }, fields: Record<string, string>): InjectOptions {
  return {
    method: 'POST',
    url: '/login',
    headers: { cookie: f.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ _csrf: f.token, next: '/', ...fields }).toString(),
    remoteAddress: ip(),
  };
}

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

  test('a 60 KB user name is refused with 413 before it is parsed, checked, counted or logged', async () => {
    const { logger, lines } = capture();
    const { app: fresh, ctx } = await buildFor(w, { logger });
    try {
      const f = await loginForm(fresh);
      const res = await fresh.inject(formPost(f, { user: 'u'.repeat(60_000), password: 'x' }));
      assert.equal(res.statusCode, 413, res.body);
      assert.equal((ctx.guard as LoginGuard).size, 0);
      assert.deepEqual(lines, []);
    } finally {
      await fresh.close();
    }
  });

  test('a login field over its limit gets the form back with 400 and a reason, never counted', async () => {
    const { logger, lines } = capture();
    const { app: fresh, ctx } = await buildFor(w, { logger });
    try {
      const f = await loginForm(fresh);
      const oversized: Array<Record<string, string>> = [
        { user: 'u'.repeat(MAX_USER_LENGTH + 1), password: 'x' },
        { user: ADMIN.user, password: 'p'.repeat(MAX_PASSWORD_LENGTH + 1) },
        { user: ADMIN.user, password: ADMIN.password, next: `/${'n'.repeat(5000)}` },
      ];
      for (const fields of oversized) {
        const res = await fresh.inject(formPost(f, fields));
        assert.equal(res.statusCode, 400, res.body.slice(0, 200));
        assert.match(res.body, /too long/);
        assert.match(res.body, /name="next" value="\/"/);
      }
      const forged = await fresh.inject({
        ...formPost(f, { user: 'x', password: 'y' }),
        payload: `_csrf=${'t'.repeat(5000)}`,
      });
      assert.equal(forged.statusCode, 400);
      assert.equal((ctx.guard as LoginGuard).size, 0);
      assert.deepEqual(lines, []);
      const page = await fresh.inject({ method: 'GET', url: '/login' });
      assert.match(page.body, new RegExp(`name="user"[^>]* maxlength="${MAX_USER_LENGTH}"`));
      assert.match(page.body, new RegExp(`name="password"[^>]* maxlength="${MAX_PASSWORD_LENGTH}"`));
      const ok = await fresh.inject(formPost(f, { user: ADMIN.user, password: ADMIN.password }));
      assert.equal(ok.statusCode, 303, 'the right login at the limits still works');
    } finally {
      await fresh.close();
    }
  });

  test(`2,000 failed logins with distinct names keep the lockout table at ${MAX_TRACKED_NAMES} and each log line short`, async () => {
    const { logger, lines } = capture();
    const { app: fresh, ctx } = await buildFor(w, { logger });
    try {
      const f = await loginForm(fresh);
      const TOTAL = 2_000;
      const PARALLEL = 20;
      let peak = 0;
      for (let i = 0; i < TOTAL; i += PARALLEL) {
        const batch = Array.from({ length: PARALLEL }, (_, j) => {
          const user = `${i + j}-`.padEnd(MAX_USER_LENGTH, 'u');
          return fresh.inject(formPost(f, { user, password: 'wrong' }));
        });
        for (const res of await Promise.all(batch)) assert.equal(res.statusCode, 401, res.body.slice(0, 200));
        peak = Math.max(peak, (ctx.guard as LoginGuard).size);
      }
      assert.equal(peak, MAX_TRACKED_NAMES);
      assert.equal(lines.length, TOTAL);
      for (const line of lines) {
        const { user } = JSON.parse(line) as { user: string };
        assert.ok(user.length <= MAX_LOGGED_CHARS + 32, `a user name of ${user.length} characters logged`);
        assert.ok(line.length < 512, `a log line of ${line.length} characters`);
      }
    } finally {
      await fresh.close();
    }
  });

  test('every body and query is bounded: an oversized one gets 400 or 413, never 500 or the handler', async () => {
    const s = await session(app);
    const json = (url: string, body: string): InjectOptions => ({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      payload: body,
    });
    const cases: Array<[string, InjectOptions, number]> = [
      [
        'a JSON body over the limit',
        json('/api/messages/1/release', JSON.stringify({ recipient: 'a'.repeat(JSON_BODY_LIMIT) })),
        413,
      ],
      [
        'a release recipient over 320 characters',
        json('/api/messages/1/release', JSON.stringify({ recipient: `${'a'.repeat(320)}@x.example` })),
        400,
      ],
      [
        'a mailbox test password over the limit',
        json(
          '/api/check-mailbox',
          JSON.stringify({ host: 'h', user: 'u', password: 'p'.repeat(MAX_PASSWORD_LENGTH + 1) }),
        ),
        400,
      ],
      [
        'a mailbox test user over the limit',
        json(
          '/api/check-mailbox',
          JSON.stringify({ host: 'h', user: 'u'.repeat(MAX_USER_LENGTH + 1), password: 'p' }),
        ),
        400,
      ],
      [
        'a form body over the limit (logout)',
        {
          method: 'POST',
          url: '/logout',
          headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
          payload: `_csrf=${s.csrf}&pad=${'p'.repeat(FORM_BODY_LIMIT)}`,
        },
        413,
      ],
      [
        'a search date far over its format',
        {
          method: 'GET',
          url: `/api/messages?from=${'1'.repeat(5000)}`,
          headers: { authorization: `Bearer ${API_TOKEN}` },
        },
        400,
      ],
      [
        'a search page date far over its format',
        { method: 'GET', url: `/messages?to=${'1'.repeat(5000)}`, headers: { cookie: s.cookie } },
        400,
      ],
    ];
    for (const [name, req, status] of cases) {
      const res = await app.inject(req);
      assert.equal(res.statusCode, status, `${name}: ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    const next = await app.inject({ method: 'GET', url: `/login?next=/${'n'.repeat(5000)}` });
    assert.equal(next.statusCode, 200);
    assert.match(next.body, /name="next" value="\/"/);
  });

  test('a failing request logs its address cut short, not all of it', async () => {
    const { logger, lines } = capture();
    const { app: fresh } = await buildFor(w, {
      logger,
      checkMailbox: async () => {
        throw new Error('boom');
      },
    });
    try {
      const res = await fresh.inject({
        method: 'POST',
        url: `/api/check-mailbox?pad=${'p'.repeat(10_000)}`,
        headers: { authorization: `Bearer ${API_TOKEN}` },
        payload: { host: 'h', user: 'u', password: 'p' },
      });
      assert.equal(res.statusCode, 500);
      assert.equal(lines.length, 1);
      const { url } = JSON.parse(lines[0]!) as { url: string };
      assert.ok(url.length <= MAX_LOGGED_CHARS + 32, `a URL of ${url.length} characters logged`);
    } finally {
      await fresh.close();
    }
  });

  test('a client that trickles its request is cut off with 408, not waited for', async () => {
    const web = await startFor(w, '127.0.0.1:0', { requestTimeoutMs: 500 });
    const socket = connect(Number(new URL(web.url).port), '127.0.0.1');
    try {
      await once(socket, 'connect');
      const started = Date.now();
      socket.write(
        'POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
          'Content-Length: 1000\r\n\r\nuser=a',
      );
      let answer = '';
      socket.on('data', (d: Buffer) => {
        answer += d.toString('latin1');
      });
      await once(socket, 'close');
      assert.match(answer, /^HTTP\/1\.1 408/);
      assert.ok(Date.now() - started < 10_000, `closed after ${Date.now() - started} ms`);
    } finally {
      socket.destroy();
      await web.close();
    }
  });
});
