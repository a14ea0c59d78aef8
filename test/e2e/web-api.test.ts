// The web server's security and API through fastify's inject: every route (enumerated from fastify, so
// a new one cannot be forgotten) refuses an anonymous request and a session request without the CSRF
// token; login lockout; API tokens; metrics; secrets never reach the browser; the admin actions.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { FastifyInstance } from 'fastify';
import { MAX_LOGIN_FAILURES } from '../../src/web/login-guard.js';
import type { WebContext } from '../../src/web/server.js';
import { acceptXoauth2 } from './imap-fake-server.js';
import { oauthImapWorld } from './oauth-imap-world.js';
import {
  API_TOKEN,
  buildFor,
  login,
  MAILBOX_PASSWORD,
  mail,
  session,
  type WebWorld,
  webWorld,
} from './web-world.js';

function concrete(url: string): string {
  return url.replace(':name', 'info').replace(':id', '1');
}

describe('web server security and API', () => {
  let w: WebWorld;
  let app: FastifyInstance;
  let ctx: WebContext;
  before(async () => {
    w = await webWorld([mail(1), mail(2, 'info@example.com', 'refuse me')]);
    ({ app, ctx } = await buildFor(w));
    await app.ready();
  });
  after(async () => {
    await app.close();
    await w.close();
  });

  test('every non-public route refuses an anonymous request', async () => {
    const guarded = ctx.routes.filter((r) => !r.public);
    assert.ok(guarded.length >= 15, `only ${guarded.length} routes found`);
    for (const r of guarded) {
      const res = await app.inject({ method: r.method as 'GET', url: concrete(r.url) });
      const expected = r.page && r.method === 'GET' ? 303 : 401;
      assert.equal(res.statusCode, expected, `${r.method} ${r.url}: ${res.statusCode} ${res.body}`);
      if (expected === 303) assert.match(String(res.headers.location), /^\/login\?next=/);
    }
    const bad = await app.inject({
      method: 'GET',
      url: '/api/status',
      headers: { authorization: 'Bearer wrong' },
    });
    assert.equal(bad.statusCode, 401);
  });

  test('every state-changing route refuses a session without the CSRF token', async () => {
    const s = await session(app);
    const changing = ctx.routes.filter((r) => !r.public && !['GET', 'HEAD'].includes(r.method));
    assert.ok(changing.length >= 7, `only ${changing.length} state-changing routes`);
    for (const r of changing) {
      for (const headers of [{}, { 'x-csrf-token': 'forged' }]) {
        const res = await app.inject({
          method: r.method as 'POST',
          url: concrete(r.url),
          headers: { cookie: s.cookie, ...headers, 'content-type': 'application/json' },
          payload: '{}',
        });
        assert.equal(res.statusCode, 403, `${r.method} ${r.url}: ${res.statusCode} ${res.body}`);
      }
    }
    // A form post (logout) without the token is refused too, and the session stays valid.
    const form = await app.inject({
      method: 'POST',
      url: '/logout',
      headers: { cookie: s.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: '_csrf=wrong',
    });
    assert.equal(form.statusCode, 403);
    const paused = await app.inject({
      method: 'POST',
      url: '/api/mailboxes/info/pause',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    assert.equal(paused.statusCode, 202, paused.body);
    assert.equal(w.scheduler.statuses()[0]?.state, 'paused');
    const resumed = await app.inject({
      method: 'POST',
      url: '/api/mailboxes/info/resume',
      headers: { cookie: s.cookie, 'x-csrf-token': s.csrf },
    });
    assert.equal(resumed.statusCode, 202);
  });

  test('the session cookie is HttpOnly and SameSite=Strict; pages carry a CSP without inline script', async () => {
    const res = await login(app);
    const cookie = [res.headers['set-cookie']].flat().find((c) => String(c).startsWith('postbote_session='));
    assert.match(String(cookie), /HttpOnly/);
    assert.match(String(cookie), /SameSite=Strict/);
    assert.doesNotMatch(String(cookie), /Secure/, 'no TLS here, so no Secure flag');
    const page = await app.inject({ method: 'GET', url: '/login' });
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    assert.doesNotMatch(
      page.body,
      /<script>|<script [^>]*>[^<]|\sstyle="|\son[a-z]+="/,
      'no inline script or style',
    );
  });

  test('login: a wrong password is refused, and the user is locked after repeated failures', async () => {
    const { app: fresh } = await buildFor(w);
    try {
      assert.equal((await login(fresh, 'wrong')).statusCode, 401);
      for (let i = 1; i < MAX_LOGIN_FAILURES; i++) await login(fresh, 'wrong');
      const locked = await login(fresh);
      assert.equal(locked.statusCode, 429, 'even the right password waits out the lockout');
      assert.match(locked.body, /Too many failed logins/);
      const noToken = await fresh.inject({
        method: 'POST',
        url: '/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ user: 'x', password: 'y' }).toString(),
      });
      assert.equal(noToken.statusCode, 403, 'a login without the form token is refused');
    } finally {
      await fresh.close();
    }
  });

  test('an API token reads the API and metrics; a pass shows up in the counters', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    await w.scheduler.runNow('info');
    const status = await app.inject({ method: 'GET', url: '/api/status', headers: auth });
    assert.equal(status.statusCode, 200);
    const body = status.json();
    assert.equal(body.mailboxes[0].name, 'info');
    assert.equal(body.counts.delivered, 1);
    assert.equal(body.counts.quarantined, 1);
    assert.equal(body.hourly.length, 24);
    assert.equal(body.daily.length, 7);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: auth });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /^postbote_messages_fetched_total\{mailbox="info"\} 2$/m);
    assert.match(metrics.body, /^postbote_messages_quarantined_total\{mailbox="info"\} 1$/m);
    // resume (above) may have started a pass of its own: count the sessions the store recorded
    const sessions = (await w.runtime.store.sessionsOf('info', 100)).length;
    assert.ok(sessions >= 1);
    assert.match(
      metrics.body,
      new RegExp(`^postbote_session_duration_seconds_count\\{mailbox="info"\\} ${sessions}$`, 'm'),
    );
    assert.match(metrics.body, /^postbote_target_transaction_seconds_count\{result="ok"\} 2$/m);
    assert.match(metrics.body, /^postbote_messages_in_state\{state="quarantined"\} 1$/m);
    assert.match(metrics.body, /^postbote_source_tls_handshakes_total\{resumed="true"\} \d+$/m);
    // Token requests are not cookies: no CSRF token needed.
    const fetchNow = await app.inject({ method: 'POST', url: '/api/mailboxes/info/fetch', headers: auth });
    assert.equal(fetchNow.statusCode, 202);
  });

  test('the configuration is shown without secrets, and the OpenAPI document lists every API route', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const config = await app.inject({ method: 'GET', url: '/api/config', headers: auth });
    assert.doesNotMatch(config.body, new RegExp(MAILBOX_PASSWORD));
    assert.doesNotMatch(config.body, /67e95073/, 'token hashes stay in the file');
    const s = await session(app);
    const page = await app.inject({ method: 'GET', url: '/config', headers: { cookie: s.cookie } });
    assert.doesNotMatch(page.body, new RegExp(MAILBOX_PASSWORD));
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json', headers: auth })).json();
    for (const r of ctx.routes.filter((x) => x.url.startsWith('/api/'))) {
      const path = r.url.replace(/:([a-z]+)/gi, '{$1}');
      assert.ok(doc.paths[path]?.[r.method.toLowerCase()], `${r.method} ${r.url} missing from OpenAPI`);
    }
  });

  test('every /api route is documented with its response schemas, and its answers validate', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    await w.scheduler.runNow('info');
    const doc = (await app.inject({ method: 'GET', url: '/api/openapi.json', headers: auth })).json();
    const id = (await app.inject({ method: 'GET', url: '/api/messages', headers: auth })).json().messages[0]
      .id;
    const ajv = new Ajv2020({ strict: false });
    const documentedRoutes = ctx.routes.filter((r) => r.url.startsWith('/api/') || r.url === '/metrics');
    for (const r of documentedRoutes) {
      const op = doc.paths[r.url.replace(/:([a-z]+)/gi, '{$1}')]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.url} missing`);
      const ok = op.responses['200'] ?? op.responses['202'];
      const schema = Object.values<{ schema?: unknown }>(ok?.content ?? {})[0]?.schema;
      assert.ok(schema, `${r.method} ${r.url} has no response schema`);
      assert.ok(op.responses['401'], `${r.method} ${r.url} documents the refusal without a login`);
      if (r.method !== 'GET' || r.url === '/api/events' || r.url === '/metrics') continue;
      const res = await app.inject({
        method: 'GET',
        url: r.url.replace(':name', 'info').replace(':id', id),
        headers: auth,
      });
      assert.equal(res.statusCode, 200, `${r.url}: ${res.body}`);
      const validate = ajv.compile(schema);
      assert.ok(validate(res.json()), `${r.url}: ${JSON.stringify(validate.errors)}`);
    }
    const search = doc.paths['/api/messages'].get.parameters.find(
      (p: { name: string }) => p.name === 'state',
    );
    assert.deepEqual(
      search.schema.enum.slice(0, 2),
      ['', 'spooled'],
      'query parameters come from the schema',
    );
    const release = doc.paths['/api/messages/{id}/release'].post;
    assert.deepEqual(release.requestBody.content['application/json'].schema.required, ['recipient']);
    assert.ok(release.responses['409'], 'the action documents its refusal');
    assert.deepEqual(doc.paths['/healthz'].get.security, [], 'health needs no login');
    assert.equal(doc.paths['/login'], undefined, 'pages are not part of the API');
  });

  test('responses are serialized by their schema: unknown fields never leave, a wrong shape is a 500', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    const answers: unknown[] = [
      { subject: 'mailbox test', ok: true, detail: 'logged in', password: 'leaked?' },
      { subject: 'mailbox test', ok: 'yes' },
    ];
    const { app: fresh } = await buildFor(w, { checkMailbox: async () => answers.shift() as never });
    try {
      const payload = { host: 'pop.example.com', user: 'u', password: 'p' };
      const first = await fresh.inject({ method: 'POST', url: '/api/check-mailbox', headers: auth, payload });
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json(), { subject: 'mailbox test', ok: true, detail: 'logged in' });
      const second = await fresh.inject({
        method: 'POST',
        url: '/api/check-mailbox',
        headers: auth,
        payload,
      });
      assert.equal(second.statusCode, 500, second.body);
      const bad = await fresh.inject({
        method: 'POST',
        url: '/api/check-mailbox',
        headers: auth,
        payload: { ...payload, port: 0 },
      });
      assert.equal(bad.statusCode, 400, 'the body is validated by the same schema');
    } finally {
      await fresh.close();
    }
  });

  test('a configured auth: oauth2 mailbox is tested with its stored sign-in: no password asked, none used', async () => {
    const o = await oauthImapWorld();
    const tokens = acceptXoauth2(o.imap);
    const { app: fresh } = await buildFor(w, { config: () => o.config });
    try {
      const s = await session(fresh);
      const page = await fresh.inject({ method: 'GET', url: '/config', headers: { cookie: s.cookie } });
      assert.equal(page.statusCode, 200);
      const form =
        /<form[^>]*data-api="\/api\/check-mailbox"[^>]*data-configured[^>]*>([\s\S]*?)<\/form>/.exec(
          page.body,
        )?.[1];
      assert.ok(form, 'a form to test a configured mailbox');
      assert.match(form, /<option value="cloud">cloud<\/option>/);
      assert.doesNotMatch(form, /type="password"/);

      const auth = { authorization: `Bearer ${API_TOKEN}` };
      // What a browser sends (a password typed into another form is ignored).
      const res = await fresh.inject({
        method: 'POST',
        url: '/api/check-mailbox',
        headers: auth,
        payload: { mailbox: 'cloud', password: 'ignored' },
      });
      assert.equal(res.statusCode, 200, res.body);
      const result = res.json() as { subject: string; ok: boolean; detail: string };
      assert.equal(result.ok, true, result.detail);
      assert.match(result.subject, /^mailbox cloud \(imap 127\.0\.0\.1:/);
      assert.equal(tokens.length, 1);
      assert.ok(await o.live(tokens[0]!), 'logged in with the access token from the stored sign-in');
      assert.ok(!o.imap.commands.includes('LOGIN'), 'no password login');

      const unknown = await fresh.inject({
        method: 'POST',
        url: '/api/check-mailbox',
        headers: auth,
        payload: { mailbox: 'nope' },
      });
      assert.equal(unknown.statusCode, 404, unknown.body);
      assert.match(unknown.json().error, /no mailbox named nope/);
    } finally {
      await fresh.close();
      await o.close();
    }
  });

  test('release, retry and delete are refused for messages in the wrong state and logged when done', async () => {
    const auth = { authorization: `Bearer ${API_TOKEN}` };
    await w.scheduler.runNow('info');
    const found = await app.inject({ method: 'GET', url: '/api/messages?state=quarantined', headers: auth });
    const q = found.json().messages[0];
    assert.match(q.reason, /5\.7\.0 content rejected/);
    const delivered = (
      await app.inject({ method: 'GET', url: '/api/messages?state=delivered', headers: auth })
    ).json().messages[0];
    const wrong = await app.inject({
      method: 'POST',
      url: `/api/messages/${delivered.id}/release`,
      headers: auth,
      payload: { recipient: 'postmaster@corp.local' },
    });
    assert.equal(wrong.statusCode, 409);
    const badAddress = await app.inject({
      method: 'POST',
      url: `/api/messages/${q.id}/release`,
      headers: auth,
      payload: { recipient: 'not an address' },
    });
    assert.equal(badAddress.statusCode, 400);
    const del = await app.inject({ method: 'DELETE', url: `/api/messages/${q.id}`, headers: auth });
    assert.equal(del.statusCode, 200, del.body);
    const detail = (await app.inject({ method: 'GET', url: `/api/messages/${q.id}`, headers: auth })).json();
    assert.equal(detail.message.state, 'deleted');
    assert.equal(detail.message.spoolKey, null);
    assert.equal(detail.headers, null);
    assert.deepEqual(
      detail.attempts.map((a: { outcome: string }) => a.outcome),
      ['quarantined', 'deleted'],
    );
    assert.match(detail.attempts[1].detail, /deleted by token ci/);
  });
});
